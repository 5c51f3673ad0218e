"""`RedisTaskStore` against a real Redis: the rules every task store keeps (records, worker pools, callback
claims, leases, the delivery log), and what only a shared store must: replicas with their own clients
racing on one pool or one transition, take-over of a dead replica's claims, prefixes that keep emulators
sharing one Redis apart."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import pytest

from mockserver.stores import redis_tasks
from mockserver.stores.redis_tasks import LEASE_SECONDS, RedisTaskStore
from mockserver.tasks import Admission, DuplicateTaskId, Phase, QueueFull, QueuePolicy, Step, TaskRecord
from tests.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]

T = TypeVar("T")


def plan(run_s: float = 10.0, wait_ms: int = 0) -> tuple[Step, ...]:
    start = wait_ms
    return (
        Step(0, "queued", Phase.PENDING),
        Step(start + 1000, "running", Phase.RUNNING, 0),
        Step(start + 5000, "running", Phase.RUNNING, 50),
        Step(start + round(run_s * 1000), "done", Phase.SUCCEEDED, 100),
    )


def make(
    task_id: str, now: float, admission: Admission | None = None, *, hook: str | None = "http://x", **kw: Any
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
    store: RedisTaskStore, task_id: str, now: float, policy: QueuePolicy | None = None, **kw: Any
) -> tuple[TaskRecord, Admission]:
    return await store.submit(lambda adm: make(task_id, now, adm, **kw), policy, now)


_opened: list[RedisTaskStore] = []


def replica(url: str, **kw: Any) -> RedisTaskStore:
    """Another store on the same Redis (as another replica would open), closed when `run` ends."""
    made = RedisTaskStore(url, **kw)
    _opened.append(made)
    return made


def run(url: str, body: Callable[[RedisTaskStore], Awaitable[T]], **kw: Any) -> T:
    """Run `body` with a fresh store on its own event loop, then clear the store and close every client."""

    async def main() -> T:
        store = replica(url, **kw)
        try:
            return await body(store)
        finally:
            await store.clear()
            while _opened:
                await _opened.pop().close()

    return asyncio.run(main())


async def task_keys(store: RedisTaskStore) -> list[bytes]:
    return [key async for key in store.link.client().scan_iter(match=f"{store.link.prefix}:*")]


def test_records_are_stored_listed_unique_and_cleared(redis_url: str) -> None:
    async def body(store: RedisTaskStore) -> None:
        await submit(store, "a", 0.0, owner="alice")
        await submit(store, "b", 1.0, owner="bob", vendor="other")
        await submit(store, "c", 2.5, owner="alice")
        with pytest.raises(DuplicateTaskId):
            await submit(store, "a", 3.0)
        assert await store.get("b") == make("b", 1.0, owner="bob", vendor="other")
        assert await store.get("zz") is None
        assert [r.id for r in await store.records()] == ["a", "b", "c"]
        assert [r.id for r in await store.records(owner="alice")] == ["a", "c"]
        assert [r.id for r in await store.records(vendor="demo")] == ["a", "c"]
        assert [r.id for r in await store.records(vendor="other", owner="bob")] == ["b"]
        assert await store.records(vendor="demo", owner="bob") == []
        assert [r.id for r in await store.records(limit=2)] == ["b", "c"]
        assert await store.records(limit=0) == [] and len(await store.records(limit=-1)) == 3
        assert [r.id for r in await store.get_many(["c", "zz", "a", "c"])] == ["c", "a"]
        assert await store.count() == 3
        raw = await store.link.client().hget(f"{store.link.prefix}:tasks:rec", "c")
        assert orjson.loads(raw) == make("c", 2.5, owner="alice").to_dict()  # JSON, never pickle
        await store.clear()
        assert await store.count() == 0 and await store.records() == [] and await store.get("a") is None
        assert await task_keys(store) == []  # every key it made, and nothing else, is gone
        await submit(store, "a", 0.0)  # the id is free again
        assert [r.id for r in await store.records()] == ["a"]

    run(redis_url, body)


def test_worker_pool_queues_then_refuses(redis_url: str) -> None:
    async def body(store: RedisTaskStore) -> None:
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
        # a task without a queue never counts in a pool
        await submit(store, "free", 15.0, None, queue=None)
        with pytest.raises(QueueFull):
            await submit(store, "e", 15.0, policy)

    run(redis_url, body)


def test_callback_claims_are_exclusive_ordered_and_resumable(redis_url: str) -> None:
    async def body(store: RedisTaskStore) -> None:
        await submit(store, "a", 0.0)
        await submit(store, "quiet", 0.0, hook=None)
        assert await store.claim_due(0.5, 10) == []  # step 0 is never called back; step 1 is at 1 s
        assert await store.claim_due(1.0 - 2e-3, 10) == []
        (claim,) = await store.claim_due(4.0, 10)
        assert (claim.record.id, claim.start, claim.end) == ("a", 1, 2)
        assert claim.record == await store.get("a")
        assert await store.claim_due(100.0, 10) == []  # in flight: nobody else may claim it
        await store.complete(claim)
        await store.complete(claim)  # a second release of the same claim changes nothing
        (rest,) = await store.claim_due(100.0, 10)
        assert (rest.start, rest.end) == (2, 4)
        await store.complete(rest, upto=3)  # interrupted after one step: the other is due again
        (again,) = await store.claim_due(100.0, 10)
        assert (again.start, again.end) == (3, 4)
        await store.complete(again)
        assert await store.claim_due(1e9, 10) == []
        # exactly at a step's time it is due (the step times survive the trip through Lua)
        await submit(store, "exact", 1_750_000_000.123456)
        (at,) = await store.claim_due(1_750_000_001.123456, 1)
        assert (at.start, at.end) == (1, 2)
        assert await store.claim_due(1e12, 0) == []

    run(redis_url, body)


def test_extend_replaces_the_unreached_future(redis_url: str) -> None:
    async def body(store: RedisTaskStore) -> None:
        paused = (Step(0, "MODAL", Phase.PAUSED), Step(3_600_000, "FAILURE", Phase.FAILED))
        await store.submit(
            lambda adm: TaskRecord(
                id="m", vendor="demo", kind="x", submitted_at=0.0, steps=paused, notify_hook="http://x"
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
                owner="carol",
            ),
            policy,
            10.0,
        )
        assert [s.status for s in updated.steps] == ["MODAL", "running", "done"] and updated.version == 2
        assert await store.get("m") == updated
        assert [r.id for r in await store.records(owner="carol")] == ["m"]  # the indexes follow the record
        assert await store.records(owner="") == []
        (claim,) = await store.claim_due(35.0, 10)
        assert (claim.start, claim.end) == (1, 3)
        # the resumed task now holds the pool's only worker
        _, admission = await submit(store, "n", 12.0, policy)
        assert admission.wait_ms == 18_000
        with pytest.raises(KeyError):
            await store.extend("nope", lambda old, adm: old, None, 0.0)
        with pytest.raises(ValueError, match="keep the task id"):
            await store.extend("m", lambda old, adm: make("other", 0.0), None, 40.0)

    run(redis_url, body)


def test_delivery_log_is_capped_and_totals_are_not(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_tasks, "LOG_SIZE", 4)

    async def body(store: RedisTaskStore) -> None:
        await store.log_attempt({"task": "a", "ok": False, "final": False, "attempt": 1})
        await store.log_attempt({"task": "a", "ok": True, "final": True, "attempt": 2})
        await store.log_attempt({"task": "b", "ok": False, "final": True, "attempt": 1})
        assert [e["attempt"] for e in await store.attempts(task="a")] == [1, 2]
        assert [e["seq"] for e in await store.attempts()] == [1, 2, 3]
        assert await store.attempts(limit=1) == [{"seq": 3, "task": "b", "ok": False, "final": True, "attempt": 1}]
        assert await store.attempt_totals() == {"attempts": 3, "delivered": 1, "failed": 1}
        for attempt in range(3):
            await store.log_attempt({"task": "a\t", "ok": True, "final": True, "attempt": attempt})
        assert [e["seq"] for e in await store.attempts()] == [3, 4, 5, 6]  # the newest LOG_SIZE
        assert [e["attempt"] for e in await store.attempts(task="a")] == []  # "a\t" is another task
        assert [e["attempt"] for e in await store.attempts(task="a\t", limit=2)] == [1, 2]
        assert await store.attempt_totals() == {"attempts": 6, "delivered": 4, "failed": 1}
        await store.clear()
        assert await store.attempts() == [] and await store.attempt_totals() == dict.fromkeys(
            ("attempts", "delivered", "failed"), 0
        )

    run(redis_url, body)


def test_a_lease_that_ran_out_is_taken_over(redis_url: str) -> None:
    wall = [1000.0]

    async def body(store: RedisTaskStore) -> None:
        other = replica(redis_url, wall=lambda: wall[0])
        await submit(store, "a", 0.0)
        (claim,) = await store.claim_due(4.0, 10)  # its holder then dies
        wall[0] += LEASE_SECONDS - 1
        assert await other.claim_due(100.0, 10) == []
        wall[0] += 2
        (taken,) = await other.claim_due(100.0, 10)
        assert (taken.start, taken.end) == (1, 4)  # everything due by now, from where the dead one stood
        assert await store.claim_due(100.0, 10) == []  # the new lease holds
        await other.complete(taken)
        await store.complete(claim)  # the dead holder's late release finds the cursor moved: ignored
        assert await other.claim_due(1e9, 10) == []

    run(redis_url, body, wall=lambda: wall[0])


def test_leases_default_to_the_redis_servers_clock(redis_url: str) -> None:
    async def body(store: RedisTaskStore) -> None:
        (now,) = [float(s) + float(us) / 1e6 for s, us in [await store.link.client().time()]]
        await submit(store, "a", 0.0)
        assert len(await store.claim_due(100.0, 10)) == 1
        assert await replica(redis_url, wall=lambda: now + 60).claim_due(100.0, 10) == []
        later = replica(redis_url, wall=lambda: now + LEASE_SECONDS + 60)
        assert len(await later.claim_due(100.0, 10)) == 1

    run(redis_url, body)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_restarted_server_adopts_its_dead_predecessors_claims(redis_url: str) -> None:
    async def body(store: RedisTaskStore) -> None:
        host = socket.gethostname()
        holders = {
            "dead": (f"{host}:8123#{_dead_pid()}", store._scope),
            "live": (f"{host}:8123#{os.getppid()}", store._scope),
            "elsewhere": (f"{host}:8123#{_dead_pid()}", "another-boot/1"),  # same name, another machine
            "other-port": (f"{host}:9999#{_dead_pid()}", store._scope),
        }
        for name, (instance, scope) in holders.items():
            await submit(store, name, 0.0)
            holder = replica(redis_url)
            holder.instance, holder._scope = instance, scope
            assert [c.record.id for c in await holder.claim_due(4.0, 10)] == [name]
        assert await store.claim_due(4.0, 10) == []
        restarted = replica(redis_url)
        assert await restarted.adopt_instance(8123) == 1
        assert restarted.instance == f"{host}:8123#{os.getpid()}"
        (claim,) = await restarted.claim_due(4.0, 10)
        assert claim.record.id == "dead"
        assert await restarted.adopt_instance(8123) == 0  # its own claim is not released

    run(redis_url, body)
