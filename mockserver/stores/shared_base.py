"""`SharedState`: the emulator's own state beside tasks and keys — call counters, the rule and clock
settings, rule hits, the journal, family values and ids — as one async protocol every store implements.

`memory` keeps it in dicts for one process; `sqlite:///PATH` and `redis://...` keep it where every worker
and replica reads the same thing. Hot-path reads are avoided by a *generation*: every change to the
settings document (faults, stubs, clock, latency) bumps it, each call learns it from `begin` (the same
round trip that counts the call), and a process re-reads the document only when it moved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from mockserver.faults import fires as draws_true

__all__ = ["Change", "Document", "SharedState", "draws_true"]

# The settings document: {"faults": [...], "stubs": [...], "clock": {...}, "latency": {...}} (JSON).
Document = dict[str, Any]
Change = Callable[[Document], Document | None]


class SharedState(Protocol):
    """What the pipeline, the control API and the families keep in the store (every method atomic)."""

    url: str
    # False for `memory` (one process): nothing else can change the state behind this process's back.
    shared: bool

    async def begin(self, key: bytes) -> tuple[int, int]:
        """Count one call of `key` (an operation and canonical body); return how many came before it and the
        settings document's generation."""
        ...

    async def document(self) -> tuple[int, Document]:
        """The settings document and its generation."""
        ...

    async def change(self, change: Change, *, initial: bool = False) -> tuple[int, Document]:
        """Apply `change` to the document atomically (returning None: no change) and bump the generation.
        `initial`: only when the document was never written (several processes starting at once)."""
        ...

    async def fire(self, kind: str, rule_id: str, times: int | None, probability: float, seed: int) -> bool:
        """Whether rule `rule_id` fires for one more matching call: counts `seen`, draws the probability from
        (seed, id, seen), and counts a hit only while hits < times — atomically, across processes."""
        ...

    async def forget_hits(self, kind: str, rule_ids: list[str]) -> None:
        """Start the counts of these rules afresh (a rule posted again under its id)."""
        ...

    async def hits(self, kind: str) -> dict[str, int]:
        """Hits counted so far, by rule id."""
        ...

    async def journal_add(self, entry: bytes, size: int) -> int:
        """Append one encoded journal entry; return its id (ids grow in the order entries were added)."""
        ...

    async def journal_read(self, after: int = 0) -> list[tuple[int, bytes]]:
        """The kept entries with an id above `after`, oldest first."""
        ...

    async def journal_clear(self) -> None: ...

    async def next_id(self, name: str, candidate: int) -> int:
        """The id to hand out from sequence `name`: `candidate`, or one past the last one handed out when
        that is not above it (ids stay unique when the clock stands still and processes race)."""
        ...

    async def put(self, space: str, key: str, value: bytes) -> None:
        """Keep a family's value (e.g. a stored Responses conversation); the oldest go first past a bound."""
        ...

    async def get(self, space: str, key: str) -> bytes | None: ...

    async def reset(self) -> None:
        """Forget counters, hits, the journal, family values and ids (the caller rewrites the document)."""
        ...

    async def close(self) -> None: ...
