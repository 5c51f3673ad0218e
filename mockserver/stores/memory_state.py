"""`MemoryState`: `SharedState` in dicts, for one process (`--store memory`)."""

from __future__ import annotations

import collections
import copy
import threading

from mockserver.stores.shared_base import Change, Document, draws_true

# Distinct call keys remembered for counters, and family values per space; the oldest go first.
MAX_COUNTERS = 100_000
MAX_VALUES = 10_000


class MemoryState:
    """Counters, the settings document, hits, journal and family values of one process."""

    url = "memory"
    shared = False

    def __init__(self, *, journal_size: int = 1000) -> None:
        self._counters: dict[bytes, int] = {}
        self._generation = 0
        self._document: Document = {}
        self._written = False
        self._seen: collections.Counter[tuple[str, str]] = collections.Counter()
        self._hits: collections.Counter[tuple[str, str]] = collections.Counter()
        self._journal: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=max(1, journal_size))
        self._journal_id = 0
        self._ids: dict[str, int] = {}
        self._values: dict[str, collections.OrderedDict[str, bytes]] = {}
        self._lock = threading.Lock()

    async def begin(self, key: bytes) -> tuple[int, int]:
        counters = self._counters
        with self._lock:
            n = counters.pop(key, 0)
            if len(counters) >= MAX_COUNTERS:
                counters.pop(next(iter(counters)))
            counters[key] = n + 1
        return n, self._generation

    async def document(self) -> tuple[int, Document]:
        return self._generation, copy.deepcopy(self._document)

    async def change(self, change: Change, *, initial: bool = False) -> tuple[int, Document]:
        with self._lock:
            if initial and self._written:
                return self._generation, copy.deepcopy(self._document)
            updated = change(copy.deepcopy(self._document))
            if updated is not None:
                self._document = updated
                self._generation += 1
                self._written = True
            return self._generation, copy.deepcopy(self._document)

    async def fire(self, kind: str, rule_id: str, times: int | None, probability: float, seed: int) -> bool:
        with self._lock:
            slot = (kind, rule_id)
            if times is not None and self._hits[slot] >= times:
                return False
            self._seen[slot] += 1
            if probability < 1.0 and not draws_true(seed, rule_id, self._seen[slot], probability):
                return False
            self._hits[slot] += 1
            return True

    async def forget_hits(self, kind: str, rule_ids: list[str]) -> None:
        with self._lock:
            for rule in rule_ids:
                self._seen.pop((kind, rule), None)
                self._hits.pop((kind, rule), None)

    async def hits(self, kind: str) -> dict[str, int]:
        with self._lock:
            return {rule: n for (k, rule), n in self._hits.items() if k == kind}

    async def journal_add(self, entry: bytes, size: int) -> int:
        with self._lock:
            self._journal_id += 1
            self._journal.append((self._journal_id, entry))
            return self._journal_id

    async def journal_read(self, after: int = 0) -> list[tuple[int, bytes]]:
        with self._lock:
            return [item for item in self._journal if item[0] > after]

    async def journal_clear(self) -> None:
        with self._lock:
            self._journal.clear()

    async def next_id(self, name: str, candidate: int) -> int:
        with self._lock:
            chosen = max(candidate, self._ids.get(name, candidate - 1) + 1)
            self._ids[name] = chosen
            return chosen

    async def put(self, space: str, key: str, value: bytes) -> None:
        with self._lock:
            values = self._values.setdefault(space, collections.OrderedDict())
            values[key] = value
            values.move_to_end(key)
            while len(values) > MAX_VALUES:
                values.popitem(last=False)

    async def get(self, space: str, key: str) -> bytes | None:
        with self._lock:
            values = self._values.get(space)
            return None if values is None else values.get(key)

    async def reset(self) -> None:
        with self._lock:
            self._counters.clear()
            self._seen.clear()
            self._hits.clear()
            self._journal.clear()
            self._ids.clear()
            self._values.clear()

    async def close(self) -> None:
        return None
