"""Task stores: where records, callback cursors and the delivery log live. `memory` and `sqlite:///PATH`.

Both implement `TaskStore`. Every operation that decides something (admitting a task to a worker
pool, claiming a callback transition) is atomic in the store, so several server processes sharing a
sqlite file never admit past the pool size or deliver a transition twice.

Callback cursor, per task: `next` is the first step not yet delivered; while a dispatcher holds a
claim on steps `[next, end)` the task is *in flight* and nobody else may claim it. Step 0 (the state
the task was submitted in) is never called back: callbacks report changes.
"""

from __future__ import annotations

import collections
import dataclasses
import heapq
import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from mockserver.tasks.model import (
    Admission,
    DuplicateTaskId,
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
    """What the engine needs from a store."""

    url: str

    def submit(self, build: BuildRecord, policy: QueuePolicy | None, now: float) -> tuple[TaskRecord, Admission]:
        """Admit (raising `QueueFull`), build the record for that admission and store it (raising
        `DuplicateTaskId`), atomically."""
        ...

    def extend(
        self, task_id: str, build: ExtendRecord, policy: QueuePolicy | None, now: float
    ) -> tuple[TaskRecord, Admission]:
        """Replace a record by `build(old, admission)` (same id), atomically; KeyError if unknown."""
        ...

    def get(self, task_id: str) -> TaskRecord | None: ...

    def get_many(self, ids: Iterable[str]) -> list[TaskRecord]: ...

    def records(
        self, *, vendor: str | None = None, owner: str | None = None, limit: int | None = None
    ) -> list[TaskRecord]:
        """Records in submission order (the newest `limit` when given)."""
        ...

    def count(self) -> int: ...

    def claim_due(self, now: float, limit: int) -> list[Claim]:
        """Claim up to `limit` tasks whose next callback transition is due at `now`."""
        ...

    def complete(self, claim: Claim, upto: int | None = None) -> None:
        """Release a claim: steps before `upto` (default: all of them) are done (delivered or given up),
        the rest are due again; schedule the next one."""
        ...

    def log_attempt(self, entry: dict[str, Any]) -> None: ...

    def attempts(self, *, task: str | None = None, limit: int | None = None) -> list[dict[str, Any]]: ...

    def attempt_totals(self) -> dict[str, int]: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


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


class MemoryStore:
    """The default store: a dict of records plus small indexes; lost on restart."""

    url = "memory"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._records: dict[str, TaskRecord] = {}
        # queue key -> heap of (run_end, id) of tasks holding or awaiting a worker, and heap of
        # (run_start, id) of those still waiting
        self._pools: dict[str, list[tuple[float, str]]] = {}
        self._waiting: dict[str, list[tuple[float, str]]] = {}
        # callback cursors: id -> [next, claimed_end]; heap of (due time, tie, id)
        self._cursors: dict[str, list[int]] = {}
        self._due: list[tuple[float, int, str]] = []
        self._tie = itertools.count()
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=LOG_SIZE)
        self._totals = {"attempts": 0, "delivered": 0, "failed": 0}
        self._seq = itertools.count(1)

    # -- records ---------------------------------------------------------------------------------
    def _admission(self, policy: QueuePolicy | None, now: float) -> Admission:
        if policy is None:
            return Admission()
        pool = self._pools.setdefault(policy.key, [])
        while pool and pool[0][0] <= now:
            heapq.heappop(pool)
        waiting = self._waiting.setdefault(policy.key, [])
        while waiting and waiting[0][0] <= now:
            heapq.heappop(waiting)
        return admit(policy, now, [end for end, _ in pool], len(waiting))

    def _index(self, record: TaskRecord, now: float) -> None:
        start, end = record.run_start, record.run_end
        if record.queue is not None and start is not None and end is not None and end > now:
            heapq.heappush(self._pools.setdefault(record.queue, []), (end, record.id))
            if start > now:
                heapq.heappush(self._waiting.setdefault(record.queue, []), (start, record.id))
        first = first_callback_step(record)
        cursor = self._cursors.get(record.id)
        if first is not None and cursor is None:
            self._cursors[record.id] = [first, first]
            cursor = self._cursors[record.id]
        if cursor is not None and cursor[0] == cursor[1] and cursor[0] < len(record.steps):
            heapq.heappush(self._due, (record.step_time(cursor[0]), next(self._tie), record.id))

    def submit(self, build: BuildRecord, policy: QueuePolicy | None, now: float) -> tuple[TaskRecord, Admission]:
        with self._lock:
            admission = self._admission(policy, now)
            record = build(admission)
            if record.id in self._records:
                raise DuplicateTaskId(record.id)
            self._records[record.id] = record
            self._index(record, now)
            return record, admission

    def extend(
        self, task_id: str, build: ExtendRecord, policy: QueuePolicy | None, now: float
    ) -> tuple[TaskRecord, Admission]:
        with self._lock:
            old = self._records.get(task_id)
            if old is None:
                raise KeyError(task_id)
            admission = self._admission(policy, now)
            record = build(old, admission)
            if record.id != task_id:
                raise ValueError("extend must keep the task id")
            self._records[task_id] = record
            self._index(record, now)
            return record, admission

    def get(self, task_id: str) -> TaskRecord | None:
        return self._records.get(task_id)

    def get_many(self, ids: Iterable[str]) -> list[TaskRecord]:
        found = (self._records.get(i) for i in ids)
        return [r for r in found if r is not None]

    def records(
        self, *, vendor: str | None = None, owner: str | None = None, limit: int | None = None
    ) -> list[TaskRecord]:
        with self._lock:
            records = [*self._records.values()]
        if vendor is not None:
            records = [r for r in records if r.vendor == vendor]
        if owner is not None:
            records = [r for r in records if r.owner == owner]
        return last(records, limit)

    def count(self) -> int:
        return len(self._records)

    # -- callbacks -------------------------------------------------------------------------------
    def claim_due(self, now: float, limit: int) -> list[Claim]:
        claims: list[Claim] = []
        with self._lock:
            later: list[tuple[float, int, str]] = []
            while self._due and self._due[0][0] <= now + EPSILON and len(claims) < limit:
                entry = heapq.heappop(self._due)
                record = self._records.get(entry[2])
                cursor = self._cursors.get(entry[2])
                if record is None or cursor is None or cursor[0] != cursor[1] or cursor[0] >= len(record.steps):
                    continue
                end = due_end(record, cursor[0], now)
                if end == cursor[0]:
                    later.append(entry)
                    continue
                cursor[1] = end
                claims.append(Claim(record, cursor[0], end))
            for entry in later:
                heapq.heappush(self._due, entry)
        return claims

    def complete(self, claim: Claim, upto: int | None = None) -> None:
        done = claim.end if upto is None else upto
        with self._lock:
            cursor = self._cursors.get(claim.record.id)
            record = self._records.get(claim.record.id)
            if cursor is None or record is None or cursor[0] != claim.start:
                return
            cursor[0] = cursor[1] = done
            if done < len(record.steps):
                heapq.heappush(self._due, (record.step_time(done), next(self._tie), record.id))

    def log_attempt(self, entry: dict[str, Any]) -> None:
        with self._lock:
            entry = {"seq": next(self._seq), **entry}
            self._log.append(entry)
            count_attempt(self._totals, entry)

    def attempts(self, *, task: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._log)
        if task is not None:
            entries = [e for e in entries if e["task"] == task]
        return last(entries, limit)

    def attempt_totals(self) -> dict[str, int]:
        with self._lock:
            return dict(self._totals)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._pools.clear()
            self._waiting.clear()
            self._cursors.clear()
            self._due.clear()
            self._log.clear()
            self._totals = dict.fromkeys(self._totals, 0)

    def close(self) -> None:
        pass


def count_attempt(totals: dict[str, int], entry: dict[str, Any]) -> None:
    """Add one attempt to the totals: `delivered` counts transitions delivered, `failed` transitions
    given up on (after the last attempt)."""
    totals["attempts"] += 1
    if entry.get("ok"):
        totals["delivered"] += 1
    elif entry.get("final"):
        totals["failed"] += 1


def open_store(url: str) -> TaskStore:
    """`memory` or `sqlite:///PATH` (PATH relative to the working directory; `sqlite:////abs/path`)."""
    if url in ("", "memory", "memory://"):
        return MemoryStore()
    if url.startswith("sqlite:///"):
        from mockserver.tasks.sqlite_store import SqliteStore

        path = url[len("sqlite:///") :]
        if not path:
            raise ValueError("--store sqlite:///PATH needs a file path")
        return SqliteStore(path)
    raise ValueError(f"unsupported --store {url!r}: use memory or sqlite:///PATH")
