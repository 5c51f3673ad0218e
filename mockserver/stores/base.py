"""Task stores: where records, callback cursors and the delivery log live. `memory` and `sqlite:///PATH`.

Both implement `TaskStore`. Every operation that decides something (admitting a task to a worker
pool, claiming a callback transition) is atomic in the store, so several server processes sharing a
sqlite file never admit past the pool size or deliver a transition twice.

Callback cursor, per task: `next` is the first step not yet delivered; while a dispatcher holds a
claim on steps `[next, end)` the task is *in flight* and nobody else may claim it. Step 0 (the state
the task was submitted in) is never called back: callbacks report changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from mockserver.tasks.model import (
    Admission,
    QueueFull,
    QueuePolicy,
    TaskRecord,
    reached_index,
)

# Delivery attempts kept for /__mock/callbacks (totals are counted without limit).
LOG_SIZE = 10_000
# Slack for comparing float times (callback due times against the clock).
EPSILON = 1e-6

T = TypeVar("T")
BuildRecord = Callable[[Admission], TaskRecord]
ExtendRecord = Callable[[TaskRecord, Admission], TaskRecord]


@dataclasses.dataclass(frozen=True)
class Claim:
    """Steps `[start, end)` of `record` handed to one dispatcher for delivery, in order."""

    record: TaskRecord
    start: int
    end: int


class TaskStore(Protocol):
    """What the engine needs from a store (async: a Redis store answers over the network)."""

    url: str

    async def submit(self, build: BuildRecord, policy: QueuePolicy | None, now: float) -> tuple[TaskRecord, Admission]:
        """Admit (raising `QueueFull`), build the record for that admission and store it (raising
        `DuplicateTaskId`), atomically."""
        ...

    async def extend(
        self, task_id: str, build: ExtendRecord, policy: QueuePolicy | None, now: float
    ) -> tuple[TaskRecord, Admission]:
        """Replace a record by `build(old, admission)` (same id), atomically; KeyError if unknown."""
        ...

    async def get(self, task_id: str) -> TaskRecord | None: ...

    async def get_many(self, ids: Iterable[str]) -> list[TaskRecord]: ...

    async def records(
        self, *, vendor: str | None = None, owner: str | None = None, limit: int | None = None
    ) -> list[TaskRecord]:
        """Records in submission order (the newest `limit` when given)."""
        ...

    async def count(self) -> int: ...

    async def claim_due(self, now: float, limit: int) -> list[Claim]:
        """Claim up to `limit` tasks whose next callback transition is due at `now`."""
        ...

    async def complete(self, claim: Claim, upto: int | None = None) -> None:
        """Release a claim: steps before `upto` (default: all of them) are done (delivered or given up),
        the rest are due again; schedule the next one."""
        ...

    async def log_attempt(self, entry: dict[str, Any]) -> None: ...

    async def attempts(self, *, task: str | None = None, limit: int | None = None) -> list[dict[str, Any]]: ...

    async def attempt_totals(self) -> dict[str, int]: ...

    async def clear(self) -> None: ...

    async def close(self) -> None: ...


def last(items: list[T], limit: int | None) -> list[T]:
    """The last `limit` items (all of them when `limit` is None)."""
    if limit is None:
        return items
    return items[max(0, len(items) - max(0, limit)) :]


def due_end(record: TaskRecord, start: int, now: float) -> int:
    """One past the last step due at `now`, from `start` (== start when nothing is due)."""
    return max(start, reached_index(record, now) + 1)


def first_callback_step(record: TaskRecord) -> int | None:
    """Index of the first step to call back (None: no hook, or nothing ever changes)."""
    return 1 if record.notify_hook and len(record.steps) > 1 else None


def admit(policy: QueuePolicy, now: float, ends: list[float], waiting: int) -> Admission:
    """FIFO worker pool: `ends` are the end times (> now) of every task holding or awaiting a worker,
    `waiting` how many of them have not started. The newcomer starts when the (n - c + 1)-th of those
    ends frees a worker."""
    if waiting >= policy.size:
        raise QueueFull(waiting)
    n = len(ends)
    if n < policy.concurrency:
        return Admission(ahead=waiting, wait_ms=0)
    ends = sorted(ends)
    free_at = ends[n - policy.concurrency]
    return Admission(ahead=waiting, wait_ms=max(0, round((free_at - now) * 1000)))


def count_attempt(totals: dict[str, int], entry: dict[str, Any]) -> None:
    """Add one attempt to the totals: `delivered` counts transitions delivered, `failed` transitions
    given up on (after the last attempt)."""
    totals["attempts"] += 1
    if entry.get("ok"):
        totals["delivered"] += 1
    elif entry.get("final"):
        totals["failed"] += 1
