"""Where a replay server keeps what it has played and missed: in the process, or in the shared store.

`LocalBook` (`--store memory`, one process) is the library's own play positions and a `Stats` object:
today's behaviour, at today's speed. `SharedBook` keeps the same things in a `SharedState`
(`--store sqlite:///PATH` or `redis://...`), so every worker and replica replays as one server:

- play positions: `begin(b"replay\\0" + key id)` counts the calls of a match key across processes and
  says how many came before this one, i.e. which of the recorded answers this call gets;
- what was played: each play counts one hit of rule `<key id>.<n>` of kind `replay.plays` (the n-th
  answer recorded for that key), so one `hits` read lists every played interaction and how often;
- fallbacks and misses: hits of kind `replay`; each miss is kept as a value of space `replay.misses`
  under the number `begin` gave it (values are bounded by the store: the newest misses are kept);
- a rewind (`POST /__mock/cassettes/rewind`): `reset()`, which clears the whole store's shared state —
  with `--fallback emulate` the emulator's too, so the endpoint resets the emulator as well, and the
  emulator's own reset rewinds the replay (see `CassetteApp._rewind`).

A key id is a digest of the match key's `repr`, stable across processes and hosts as long as they
load the same cassettes (paths may differ).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Hashable
from typing import Any

import orjson

from mockserver.recording.library import CassetteLibrary, Entry
from mockserver.stores.shared_base import SharedState

PLAYS = "replay.plays"  # hits by `<key id>.<n>`: how often each recorded interaction was played
COUNTS = "replay"  # hits "fallbacks" and "misses"
MISSES = "replay.misses"  # values: one encoded `Miss` per miss, by its number
POSITION = b"replay\0"  # counter prefix: play position per match key
MISS_NUMBER = b"replay\0misses"  # counter: numbers the misses
# The newest misses shown by `/__mock/cassettes` (each is one store read).
MISSES_SHOWN = 1000


@dataclasses.dataclass
class Miss:
    """A request nothing recorded matched, and why."""

    method: str
    path: str
    explanation: str
    nearest: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Stats:
    """What a `CassetteApp` did: answers replayed, interactions recorded, requests missed or handed on."""

    played: int = 0
    recorded: int = 0
    fallbacks: int = 0
    misses: list[Miss] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "played": self.played,
            "recorded": self.recorded,
            "fallbacks": self.fallbacks,
            "misses": [dataclasses.asdict(m) for m in self.misses],
            "missed": len(self.misses),
        }


def key_id(key: tuple[Hashable, ...]) -> str:
    """A match key as a short stable id (match keys hold str, bytes, ints and tuples of them, whose
    `repr` does not depend on the process, unlike their `hash`)."""
    return hashlib.blake2b(repr(key).encode("utf-8", "backslashreplace"), digest_size=16).hexdigest()


class LocalBook:
    """Plays and misses of one process: the library's cursors and the app's `Stats`."""

    shared = False

    def __init__(self, library: CassetteLibrary, stats: Stats) -> None:
        self.library = library
        self.stats = stats

    async def take(self, key: tuple[Hashable, ...]) -> Entry | None:
        return self.library.take(key)

    async def fell_back(self) -> None:
        return None  # `Stats.fallbacks` is the count

    async def missed(self, miss: Miss) -> None:
        return None  # `Stats.misses` holds it

    async def summary(self) -> dict[str, Any]:
        return self.stats.as_dict()

    async def played(self) -> list[bool]:
        """Whether each of `library.entries` was played."""
        return [entry.played for entry in self.library.entries]

    async def rewind(self) -> None:
        """Play every interaction from the start again; forget the counts and misses."""
        await self.forget()

    async def forget(self) -> None:
        """Forget this process's positions, counts and misses."""
        self.library.rewind()
        self.stats.played = self.stats.fallbacks = 0
        self.stats.misses = []


class SharedBook:
    """Plays and misses kept in a `SharedState`, so processes sharing it replay as one server."""

    shared = True

    def __init__(self, library: CassetteLibrary, state: SharedState, stats: Stats) -> None:
        self.library = library
        self.state = state
        self.stats = stats  # this process's own share, as before (`CassetteApp.stats`)
        self._ids: list[str] | None = None

    async def take(self, key: tuple[Hashable, ...]) -> Entry | None:
        found = self.library.recorded(key)
        if found is None:
            return None
        kid = key_id(key)
        if type(found) is Entry:
            entry, nth = found, 0
        else:
            assert isinstance(found, list)
            before, _ = await self.state.begin(POSITION + kid.encode())
            nth = min(before, len(found) - 1)  # once all were played, the last one again
            entry = found[nth]
        await self.state.fire(PLAYS, f"{kid}.{nth}", None, 1.0, 0)
        entry.played = True
        return entry

    async def fell_back(self) -> None:
        await self.state.fire(COUNTS, "fallbacks", None, 1.0, 0)

    async def missed(self, miss: Miss) -> None:
        number, _ = await self.state.begin(MISS_NUMBER)
        await self.state.put(MISSES, str(number), orjson.dumps(dataclasses.asdict(miss)))
        await self.state.fire(COUNTS, "misses", None, 1.0, 0)

    async def summary(self) -> dict[str, Any]:
        counts = await self.state.hits(COUNTS)
        plays = await self.state.hits(PLAYS)
        total = counts.get("misses", 0)
        misses = []
        # A miss counted while another process still writes it, or one the store dropped, is left out.
        for number in range(max(0, total - MISSES_SHOWN), total):
            raw = await self.state.get(MISSES, str(number))
            if raw is not None:
                misses.append(orjson.loads(raw))
        return {
            "played": sum(plays.values()),
            "recorded": self.stats.recorded,
            "fallbacks": counts.get("fallbacks", 0),
            "misses": misses,
            "missed": total,
        }

    async def played(self) -> list[bool]:
        """Whether each of `library.entries` was played, by any process."""
        plays = await self.state.hits(PLAYS)
        return [entry_id in plays for entry_id in self._entry_ids()]

    async def rewind(self) -> None:
        """Play every interaction from the start again, in every process; forget the counts and misses."""
        await self.state.reset()
        await self.forget()

    async def forget(self) -> None:
        """Forget what this process alone remembers (the store was reset by whoever called this)."""
        self.library.rewind()
        self.stats.played = self.stats.fallbacks = 0
        self.stats.misses = []

    def _entry_ids(self) -> list[str]:
        """The rule id of each of `library.entries` (computed once: a digest per distinct key)."""
        if self._ids is None:
            ids: dict[int, str] = {}
            for key, entries in self.library.grouped():
                kid = key_id(key)
                for nth, entry in enumerate(entries):
                    ids[id(entry)] = f"{kid}.{nth}"
            self._ids = [ids[id(entry)] for entry in self.library.entries]
        return self._ids


Book = LocalBook | SharedBook
