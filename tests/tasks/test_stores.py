"""Conformance of every task store kind (`tests/tasks/store_kinds.py`): records, worker pools, callback
claims, the delivery log, and — for stores processes share — persistence and claims shared between
handles, each transition claimed exactly once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mockserver.stores import TaskStore
from mockserver.tasks import Admission, DuplicateTaskId, Phase, QueueFull, QueuePolicy, Step, TaskRecord
from tests.redis_server import redis_server, redis_url
from tests.tasks.store_kinds import StoreKind, anyio_backend, store, store_kind

__all__ = ["anyio_backend", "redis_server", "redis_url", "store", "store_kind"]  # the fixtures, used by name

pytestmark = pytest.mark.anyio


def plan(run_s: float = 10.0, wait_ms: int = 0) -> tuple[Step, ...]:
    start = wait_ms
    return (
        Step(0, "queued", Phase.PENDING),
        Step(start + 1000, "running", Phase.RUNNING, 0),
        Step(start + 5000, "running", Phase.RUNNING, 50),
        Step(start + round(run_s * 1000), "done", Phase.SUCCEEDED, 100),
    )


def make(
    task_id: str, now: float, admission: Admission | None = None, *, hook: str | None = "http://x", **kw: object
) -> TaskRecord:
    admission = admission or Admission()
    fields: dict[str, Any] = {"vendor": "demo", "queue": "pool", **kw}
    return TaskRecord(
        id=task_id,
        kind="x",
        submitted_at=now,
        steps=plan(wait_ms=admission.wait_ms),
        notify_hook=hook,
        run_start_ms=admission.wait_ms,
        **fields,
    )


async def submit(
    store: TaskStore, task_id: str, now: float, policy: QueuePolicy | None = None, **kw: Any
) -> tuple[TaskRecord, Admission]:
    return await store.submit(lambda adm: make(task_id, now, adm, **kw), policy, now)


async def test_records_are_stored_listed_and_unique(store: TaskStore) -> None:
    await submit(store, "a", 0.0, owner="alice")
    await submit(store, "b", 1.0, owner="bob")
    await submit(store, "c", 2.0, owner="alice")
    with pytest.raises(DuplicateTaskId):
        await submit(store, "a", 3.0)
    assert await store.get("b") is not None and await store.get("zz") is None
    assert [r.id for r in await store.records()] == ["a", "b", "c"]
    assert [r.id for r in await store.records(owner="alice")] == ["a", "c"]
    assert [r.id for r in await store.records(limit=2)] == ["b", "c"]
    assert [r.id for r in await store.get_many(["c", "zz", "a"])] == ["c", "a"]
    assert await store.count() == 3
    await store.clear()
    assert await store.count() == 0 and await store.records() == []


async def test_worker_pool_queues_then_refuses(store: TaskStore) -> None:
    policy = QueuePolicy("pool", concurrency=1, size=2)
    _, a1 = await submit(store, "a", 0.0, policy)
    _, a2 = await submit(store, "b", 0.0, policy)
    _, a3 = await submit(store, "c", 0.0, policy)
    assert (a1, a2.ahead, a3.ahead) == (Admission(0, 0), 0, 1)
    assert a2.wait_ms == 10_000 and a3.wait_ms == 20_000  # each waits for the one before to end
    with pytest.raises(QueueFull):
        await submit(store, "d", 0.0, policy)
    assert await store.get("d") is None
    # 15 s later: a ended, b runs, c waits -> room for one more waiting
    _, later = await submit(store, "d", 15.0, policy)
    assert later == Admission(1, 15_000)


async def test_callback_claims_are_exclusive_ordered_and_resumable(store: TaskStore) -> None:
    await submit(store, "a", 0.0)
    await submit(store, "quiet", 0.0, hook=None)
    assert await store.claim_due(0.5, 10) == []  # step 0 is never called back; step 1 is at 1 s
    (claim,) = await store.claim_due(4.0, 10)
    assert (claim.record.id, claim.start, claim.end) == ("a", 1, 2)
    assert await store.claim_due(100.0, 10) == []  # in flight: nobody else may claim it
    await store.complete(claim)
    (rest,) = await store.claim_due(100.0, 10)
    assert (rest.start, rest.end) == (2, 4)
    await store.complete(rest, upto=3)  # interrupted after one step: the other is due again
    (again,) = await store.claim_due(100.0, 10)
    assert (again.start, again.end) == (3, 4)
    await store.complete(again)
    assert await store.claim_due(1e9, 10) == []


async def test_extend_replaces_the_unreached_future(store: TaskStore) -> None:
    await store.submit(
        lambda adm: TaskRecord(
            id="m",
            vendor="demo",
            kind="x",
            submitted_at=0.0,
            steps=(Step(0, "MODAL", Phase.PAUSED), Step(3_600_000, "FAILURE", Phase.FAILED)),
            notify_hook="http://x",
        ),
        None,
        0.0,
    )
    assert await store.claim_due(10.0, 10) == []
    policy = QueuePolicy("pool", concurrency=1, size=1)
    updated, _ = await store.extend(
        "m",
        lambda old, adm: old.replanned(
            1,
            [Step(20_000, "running", Phase.RUNNING), Step(30_000, "done", Phase.SUCCEEDED, 100)],
            queue="pool",
            run_start_ms=10_000,
        ),
        policy,
        10.0,
    )
    assert [s.status for s in updated.steps] == ["MODAL", "running", "done"] and updated.version == 2
    assert await store.get("m") == updated
    (claim,) = await store.claim_due(35.0, 10)
    assert (claim.start, claim.end) == (1, 3)
    # the resumed task now holds the pool's only worker
    _, admission = await submit(store, "n", 12.0, policy)
    assert admission.wait_ms == 18_000
    with pytest.raises(KeyError):
        await store.extend("nope", lambda old, adm: old, None, 0.0)


async def test_delivery_log_and_totals(store: TaskStore) -> None:
    await store.log_attempt({"task": "a", "ok": False, "final": False, "attempt": 1})
    await store.log_attempt({"task": "a", "ok": True, "final": True, "attempt": 2})
    await store.log_attempt({"task": "b", "ok": False, "final": True, "attempt": 1})
    assert [e["attempt"] for e in await store.attempts(task="a")] == [1, 2]
    assert len(await store.attempts(limit=1)) == 1
    assert await store.attempt_totals() == {"attempts": 3, "delivered": 1, "failed": 1}

    await store.clear()  # reset forgets the log and its totals too
    assert await store.attempts() == [] and await store.attempt_totals() == {"attempts": 0, "delivered": 0, "failed": 0}


async def test_another_handle_sees_the_same_records(store_kind: StoreKind, store: TaskStore) -> None:
    """What one worker stored, another finds — and, in a store processes share, still after it closed."""
    await submit(store, "a", 0.0, owner="alice")
    other = store_kind.make()
    try:
        assert [r.id for r in await other.records(owner="alice")] == ["a"]
        await submit(other, "b", 1.0)
        assert await store.count() == 2 and (await store.get("b")) == (await other.get("b"))
    finally:
        if store_kind.shared:
            await other.close()
    if store_kind.shared:
        reopened = store_kind.make()
        try:
            assert [r.id for r in await reopened.records()] == ["a", "b"]
        finally:
            await reopened.close()


def _in_threads(store_kind: StoreKind, work: Callable[[TaskStore], Awaitable[None]], n: int = 4) -> None:
    """Run `work(handle)` in `n` threads at once, each on its own event loop and handle (as processes)."""

    def thread() -> None:
        async def main() -> None:
            handle = store_kind.make()
            try:
                await work(handle)
            finally:
                if store_kind.shared:
                    await handle.close()

        asyncio.run(main())

    threads = [threading.Thread(target=thread) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)


async def test_each_transition_is_claimed_once_across_handles(store_kind: StoreKind, store: TaskStore) -> None:
    for i in range(40):
        await submit(store, f"t{i}", 0.0)
    claimed: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    async def work(handle: TaskStore) -> None:
        while True:
            claims = await handle.claim_due(100.0, 3)
            if not claims:
                return
            for c in claims:
                with lock:
                    claimed.append((c.record.id, c.start, c.end))
                await handle.complete(c)
            await asyncio.sleep(0)

    await asyncio.to_thread(_in_threads, store_kind, work)
    assert sorted(claimed) == sorted((f"t{i}", 1, 4) for i in range(40))


async def test_a_pool_never_admits_past_its_size_across_handles(store_kind: StoreKind, store: TaskStore) -> None:
    policy = QueuePolicy("pool", concurrency=2, size=5)
    results: list[tuple[str, int | None]] = []
    lock = threading.Lock()
    names = iter(range(1000))

    async def work(handle: TaskStore) -> None:
        for _ in range(5):
            with lock:
                task_id = f"p{next(names)}"
            try:
                _, admission = await submit(handle, task_id, 0.0, policy)
                outcome: int | None = admission.ahead
            except QueueFull:
                outcome = None
            with lock:
                results.append((task_id, outcome))

    await asyncio.to_thread(_in_threads, store_kind, work)
    admitted = sorted(ahead for _, ahead in results if ahead is not None)
    # 2 run at once, 5 wait: 7 admitted (each waiting place handed out once), the other 13 refused
    assert admitted == [0, 0, 0, 1, 2, 3, 4] and len(results) == 20
    assert await store.count() == 7
