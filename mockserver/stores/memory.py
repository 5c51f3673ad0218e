"""`MemoryStore`: the default task store, a dict of records plus small indexes, lost on restart."""

from __future__ import annotations

import collections
import heapq
import itertools
import threading
from collections.abc import Iterable
from typing import Any

from mockserver.stores.base import (
    EPSILON,
    LOG_SIZE,
    BuildRecord,
    Claim,
    ExtendRecord,
    admit,
    count_attempt,
    due_end,
    first_callback_step,
    last,
)
from mockserver.tasks.model import Admission, DuplicateTaskId, QueuePolicy, TaskRecord


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

    async def submit(self, build: BuildRecord, policy: QueuePolicy | None, now: float) -> tuple[TaskRecord, Admission]:
        with self._lock:
            admission = self._admission(policy, now)
            record = build(admission)
            if record.id in self._records:
                raise DuplicateTaskId(record.id)
            self._records[record.id] = record
            self._index(record, now)
            return record, admission

    async def extend(
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

    async def get(self, task_id: str) -> TaskRecord | None:
        return self._records.get(task_id)

    async def get_many(self, ids: Iterable[str]) -> list[TaskRecord]:
        found = (self._records.get(i) for i in ids)
        return [r for r in found if r is not None]

    async def records(
        self, *, vendor: str | None = None, owner: str | None = None, limit: int | None = None
    ) -> list[TaskRecord]:
        with self._lock:
            records = [*self._records.values()]
        if vendor is not None:
            records = [r for r in records if r.vendor == vendor]
        if owner is not None:
            records = [r for r in records if r.owner == owner]
        return last(records, limit)

    async def count(self) -> int:
        return len(self._records)

    # -- callbacks -------------------------------------------------------------------------------
    async def claim_due(self, now: float, limit: int) -> list[Claim]:
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

    async def complete(self, claim: Claim, upto: int | None = None) -> None:
        done = claim.end if upto is None else upto
        with self._lock:
            cursor = self._cursors.get(claim.record.id)
            record = self._records.get(claim.record.id)
            if cursor is None or record is None or cursor[0] != claim.start:
                return
            cursor[0] = cursor[1] = done
            if done < len(record.steps):
                heapq.heappush(self._due, (record.step_time(done), next(self._tie), record.id))

    async def log_attempt(self, entry: dict[str, Any]) -> None:
        with self._lock:
            entry = {"seq": next(self._seq), **entry}
            self._log.append(entry)
            count_attempt(self._totals, entry)

    async def attempts(self, *, task: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._log)
        if task is not None:
            entries = [e for e in entries if e["task"] == task]
        return last(entries, limit)

    async def attempt_totals(self) -> dict[str, int]:
        with self._lock:
            return dict(self._totals)

    async def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._pools.clear()
            self._waiting.clear()
            self._cursors.clear()
            self._due.clear()
            self._log.clear()
            self._totals = dict.fromkeys(self._totals, 0)

    async def close(self) -> None:
        pass
