"""`MockState`: everything one emulator instance holds, created once by `create_app`."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import random
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from mockserver.clock import VirtualClock
from mockserver.contracts import Contracts
from mockserver.errors import Envelope, openai_envelope
from mockserver.faults import Faults
from mockserver.journal import Journal
from mockserver.keyed_random import KeyedRandom
from mockserver.latency import Pace, Profiles, asks_to_think, check_scale, load_profiles, mode_from_header, realistic
from mockserver.rules import KnownOperations
from mockserver.settings import Settings
from mockserver.stubs import Stubs

if TYPE_CHECKING:
    from mockserver.stores.base import TaskStore

# Distinct (operation, body) keys remembered for call counters; older ones are forgotten first.
_MAX_COUNTERS = 100_000


def call_key(operation: str, canonical_body: bytes) -> bytes:
    """What identifies a call for its RNG, before the seed and the repeat count are added."""
    return hashlib.blake2b(operation.encode() + b"\0" + canonical_body, digest_size=16).digest()


@dataclasses.dataclass
class MockState:
    """Settings, contracts, clock, journal, rules, and the hooks families register in `setup`."""

    settings: Settings
    contracts: Contracts
    clock: VirtualClock
    journal: Journal
    faults: Faults
    stubs: Stubs
    # The store the tasks live in (opened with the clock by `stores.open_store`).
    store: TaskStore
    # Tables from the registry: error envelopes and task renderers, by vendor name.
    envelopes: Mapping[str, Envelope] = dataclasses.field(default_factory=dict)
    task_vendors: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # Per-family state, keyed by the family module's name (e.g. the task store, remembered responses).
    ext: dict[str, Any] = dataclasses.field(default_factory=dict)
    # `--latency` profiles (None: answer at once), and what `POST /__mock/latency` set until the next reset.
    latency: Profiles | None = None
    latency_scale: float = 1.0
    latency_override: tuple[Profiles | None, float] | None = None
    on_startup: list[Callable[[], Awaitable[None]]] = dataclasses.field(default_factory=list)
    on_shutdown: list[Callable[[], Awaitable[None]]] = dataclasses.field(default_factory=list)
    # Reset hooks may return an awaitable (a store kept outside the process): `reset` awaits it.
    on_reset: list[Callable[[], Awaitable[None] | None]] = dataclasses.field(default_factory=list)
    _counters: dict[bytes, int] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._seed_prefix = f"{self.settings.seed}|".encode()

    @classmethod
    def build(
        cls,
        settings: Settings,
        contracts: Contracts,
        *,
        store: TaskStore,
        clock: VirtualClock,
        envelopes: Mapping[str, Envelope],
        task_vendors: Mapping[str, Any],
    ) -> MockState:
        state = cls(
            settings=settings,
            contracts=contracts,
            clock=clock,
            journal=Journal(
                settings.journal_size, max_bytes=settings.journal_max_bytes, body_bytes=settings.journal_body_bytes
            ),
            faults=Faults(settings.seed),
            stubs=Stubs(),
            store=store,
            envelopes=envelopes,
            task_vendors=task_vendors,
            latency=load_profiles(settings.latency),
            latency_scale=check_scale(settings.latency_scale),
        )
        if settings.stubs:
            state.stubs.load_dir(settings.stubs, state.known_operations)
        return state

    @functools.cached_property
    def known_operations(self) -> KnownOperations:
        """The operation ids fault and stub rules may name."""
        return KnownOperations.of(self.contracts)

    def envelope(self, vendor: str) -> Envelope:
        """The error envelope `vendor`'s operations answer in."""
        return self.envelopes.get(vendor, openai_envelope)

    def pace_for(
        self, operation: str, model: str, body: Any, canonical_body: bytes, header: str | None, start: float = 0.0
    ) -> Pace | None:
        """The delays of one model answer, or None when no latency applies (`x-mock-latency` first, then
        `POST /__mock/latency`, then `--latency`). Drawn from an RNG of their own, keyed like the answer's."""
        profiles, scale = self.latency_override or (self.latency, self.latency_scale)
        mode = mode_from_header(header)
        if mode == "none":
            return None
        if mode == "realistic" and profiles is None:
            profiles = realistic()
        if profiles is None or not model:
            return None
        rng = self.rng_for("latency|" + operation, canonical_body)
        return Pace(profiles.for_model(model), rng, thinks=asks_to_think(body), scale=scale, start=start)

    def rng_for(self, operation: str, canonical_body: bytes) -> random.Random:
        """An RNG keyed by (seed, operation, body, how many times this exact call was made before)."""
        # KeyedRandom offers random.Random's whole interface (it borrows its methods) without its seeding cost.
        return cast(random.Random, KeyedRandom(self.rng_key(call_key(operation, canonical_body))))

    def rng_key(self, key: bytes) -> bytes:
        """What this call's RNG is keyed by: the seed, the `call_key`, and how many times it came before
        (counted here, so each call asks once; a handler that keeps the `call_key` per body calls this)."""
        with self._lock:
            n = self._counters.pop(key, 0)
            if len(self._counters) >= _MAX_COUNTERS:
                self._counters.pop(next(iter(self._counters)))
            self._counters[key] = n + 1
        return self._seed_prefix + key + n.to_bytes(8, "big")

    async def reset(self) -> None:
        """Forget requests, faults, stubs, call counters, clock advances and family state."""
        self.journal.clear()
        self.faults.clear()
        self.stubs.clear()
        with self._lock:
            self._counters.clear()
        self.clock.reset()
        self.latency_override = None
        if self.settings.stubs:
            self.stubs.load_dir(self.settings.stubs, self.known_operations)
        for hook in self.on_reset:
            done = hook()
            if done is not None:
                await done
