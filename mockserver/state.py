"""`MockState`: everything one emulator instance holds, created once by `create_app`."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from mockserver.clock import VirtualClock
from mockserver.contracts import Contracts
from mockserver.errors import ApiError, Envelope, openai_envelope
from mockserver.faults import Fault, Faults, parse_fault
from mockserver.journal import Journal, SharedJournal
from mockserver.keyed_random import KeyedRandom
from mockserver.latency import Pace, Profiles, asks_to_think, check_scale, load_profiles, mode_from_header, realistic
from mockserver.rules import KnownOperations
from mockserver.settings import Settings
from mockserver.stubs import Stub, Stubs, parse_stub

log = logging.getLogger("mockserver")

if TYPE_CHECKING:
    from mockserver.stores.base import TaskStore
    from mockserver.stores.shared_base import SharedState


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
    # Counters, rule settings and hits, journal, family values and ids (`mockserver.stores.shared_base`).
    shared: SharedState
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
    # Reset hooks may be `async def` (awaited in order).
    on_reset: list[Callable[[], Awaitable[None] | None]] = dataclasses.field(default_factory=list)
    # The settings document's generation this process applied last (-1: not read yet).
    generation: int = -1
    _stub_items: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self._seed_prefix = f"{self.settings.seed}|".encode()

    @classmethod
    def build(
        cls,
        settings: Settings,
        contracts: Contracts,
        *,
        store: TaskStore,
        shared: SharedState,
        clock: VirtualClock,
        envelopes: Mapping[str, Envelope],
        task_vendors: Mapping[str, Any],
    ) -> MockState:
        journal_options = {"max_bytes": settings.journal_max_bytes, "body_bytes": settings.journal_body_bytes}
        state = cls(
            settings=settings,
            contracts=contracts,
            clock=clock,
            journal=SharedJournal(shared, settings.journal_size, **journal_options)
            if shared.shared
            else Journal(settings.journal_size, **journal_options),
            faults=Faults(settings.seed),
            stubs=Stubs(),
            store=store,
            shared=shared,
            envelopes=envelopes,
            task_vendors=task_vendors,
            latency=load_profiles(settings.latency),
            latency_scale=check_scale(settings.latency_scale),
        )
        if settings.stubs:  # checked now, so a bad folder stops the start; kept in the document when first read
            state._stub_items = Stubs.read_dir(settings.stubs, state.known_operations)
        return state

    # -- the settings document: rules, clock and latency, shared by every process on the store ----------
    async def _initial_document(self) -> dict[str, Any]:
        """Fault rules none, the `--stubs` folder's stubs, the clock from the settings, no latency override."""
        stubs = []
        for item in self._stub_items:
            given = item.get("id")
            rule_id = given if isinstance(given, str) and given else f"stub_{await self.shared.next_id('stub', 1)}"
            stubs.append([rule_id, item])
        fresh = VirtualClock(speed=self.clock.speed, start=self.settings.start_time, monotonic=self.clock.real)
        return {"faults": [], "stubs": stubs, "clock": fresh.params(), "latency": None}

    def _apply(self, generation: int, document: dict[str, Any]) -> None:
        """Make this process's rules, clock and latency what `document` says."""
        if not document:
            return
        known = self.known_operations
        self.faults.replace((rule_id, parse_fault(rule_id, data, known)) for rule_id, data in document["faults"])
        self.stubs.replace((rule_id, parse_stub(rule_id, data, known)) for rule_id, data in document["stubs"])
        self.clock.load(document["clock"])
        latency = document.get("latency")
        self.latency_override = (
            None
            if latency is None
            else (realistic() if latency["mode"] == "realistic" else None, float(latency["scale"]))
        )
        self.generation = generation

    async def refresh(self) -> None:
        """Read the settings document (written first if nobody has yet) and apply it when it moved."""
        generation, document = await self.shared.document()
        if not document:
            initial = await self._initial_document()
            generation, document = await self.shared.change(lambda _: initial, initial=True)
            if document is not initial:
                self._warn_if_overruled(document)
        elif self.generation < 0:
            self._warn_if_overruled(document)
        if generation != self.generation:
            self._apply(generation, document)

    def _warn_if_overruled(self, document: dict[str, Any]) -> None:
        """Say so when the store's clock (written by another process, or before a restart) is not the one this
        process's `--start-time` / `--speed` asked for: the store's wins, so every process keeps one time."""
        clock = document.get("clock") or {}
        asked = self.settings.start_time
        if asked is not None and clock and abs(clock["anchor_virtual"] - asked) > 1e-6:
            log.warning("store %s already holds a clock; --start-time %s is not used", self.shared.url, asked)
        if clock and clock["speed"] != self.clock.speed:
            log.warning("store %s already holds a clock; --speed %s is not used", self.shared.url, self.clock.speed)

    async def edit(self, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
        """Change the settings document atomically (for every process) and apply the result here."""
        if self.generation < 0:
            await self.refresh()
        generation, document = await self.shared.change(change)
        self._apply(generation, document)

    async def advance_clock(self, seconds: float) -> None:
        """Move the virtual clock of every process forward by `seconds`."""

        def move(document: dict[str, Any]) -> dict[str, Any]:
            document["clock"]["offset"] += seconds
            return document

        await self.edit(move)

    async def set_latency(self, mode: str, scale: float) -> None:
        """Pace answers as `mode` ("none" or "realistic") at `scale` in every process, until a reset."""
        await self.edit(lambda document: {**document, "latency": {"mode": mode, "scale": scale}})

    async def begin(self, key: bytes) -> int:
        """Count one call of `key` across processes (its RNG draws depend on the count), picking up any
        change of the settings on the way; returns how many calls of `key` came before."""
        try:
            n, generation = await self.shared.begin(key)
            if generation != self.generation:
                await self.refresh()
        except Exception as exc:  # a shared store that stopped answering: say so, in the family's envelope
            log.error("store %s failed: %s", self.shared.url, exc)
            raise ApiError(
                503, f"mockserver's store ({self.shared.url}) did not answer: {exc}", code="mock_store_unavailable"
            ) from None
        return n

    async def new_rule_id(self, kind: str) -> str:
        """`fault_N` / `stub_N`, unique across processes."""
        return f"{kind}_{await self.shared.next_id(kind, 1)}"

    async def describe_rules(self, kind: str) -> list[dict[str, Any]]:
        """The rules of `kind` ("faults" or "stubs"), oldest first, each with its hits."""
        hits = await self.shared.hits(kind)
        if kind == "faults":
            return [fault.describe(hits.get(fault.id, 0)) for fault in reversed(list(self.faults.newest_first()))]
        return [stub.describe(hits.get(stub.id, 0)) for stub in reversed(list(self.stubs.newest_first()))]

    async def pick_fault(self, **request: Any) -> Fault | None:
        """The newest fault that matches and fires this time (times and probability counted in the store)."""
        for fault in self.faults.newest_first():
            if fault.match.matches(**request) and await self.shared.fire(
                "faults", fault.id, fault.times, fault.probability, self.faults.seed
            ):
                return fault
        return None

    async def pick_stub(self, **request: Any) -> Stub | None:
        """The newest stub that matches and has hits left."""
        for stub in self.stubs.newest_first():
            if stub.match.matches(**request) and await self.shared.fire("stubs", stub.id, stub.times, 1.0, 0):
                return stub
        return None

    @functools.cached_property
    def known_operations(self) -> KnownOperations:
        """The operation ids fault and stub rules may name."""
        return KnownOperations.of(self.contracts)

    def envelope(self, vendor: str) -> Envelope:
        """The error envelope `vendor`'s operations answer in."""
        return self.envelopes.get(vendor, openai_envelope)

    def pace_for(
        self, key: bytes, repeat: int, model: str, body: Any, header: str | None, start: float = 0.0
    ) -> Pace | None:
        """The delays of one model answer, or None when no latency applies (`x-mock-latency` first, then
        `POST /__mock/latency`, then `--latency`). Drawn from an RNG of their own, keyed like the answer's
        (`key` and `repeat`: the call's `call_key` and how many such calls came before)."""
        profiles, scale = self.latency_override or (self.latency, self.latency_scale)
        mode = mode_from_header(header)
        if mode == "none":
            return None
        if mode == "realistic" and profiles is None:
            profiles = realistic()
        if profiles is None or not model:
            return None
        rng = self.rng_of(b"latency|" + key, repeat)
        return Pace(profiles.for_model(model), rng, thinks=asks_to_think(body), scale=scale, start=start)

    def rng_of(self, key: bytes, repeat: int) -> random.Random:
        """The RNG of a call: keyed by the seed, its `call_key` and how many such calls came before."""
        # KeyedRandom offers random.Random's whole interface (it borrows its methods) without its seeding cost.
        return cast(random.Random, KeyedRandom(self._seed_prefix + key + repeat.to_bytes(8, "big")))

    async def reset(self) -> None:
        """Forget requests, faults, stubs, call counters, clock advances and family state — in every
        process on the store."""
        await self.journal.clear()
        await self.shared.reset()
        initial = await self._initial_document()
        await self.edit(lambda _: initial)
        for hook in self.on_reset:
            result = hook()
            if result is not None:
                await result
