"""`RedisTaskStore` against a real Redis: the rules every task store keeps (records in order, worker pools,
callback claims, extend, the capped delivery log), and prefixes that keep emulators sharing one Redis apart."""

from __future__ import annotations

import os
import socket
from typing import Any

import orjson
import pytest

from mockserver.stores import redis_tasks
from mockserver.stores.redis_tasks import RedisTaskStore, RedisUnavailable
from mockserver.tasks import Admission, DuplicateTaskId, Phase, QueueFull, QueuePolicy, Step, TaskRecord
from tests.redis_server import redis_server, redis_url
from tests.stores.redis_task_helpers import make, replica, run, submit, task_keys

__all__ = ["redis_server", "redis_url"]


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
        prefix = store.link.prefix
        counters = {f"{prefix}:tasks:seq".encode()}
        assert set(await task_keys(store)) == counters  # every key it made is gone, but the counter
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
        assert await store.attempts(limit=0) == [] and len(await store.attempts(limit=-1)) == 3
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
        await store.log_attempt({"task": "c", "ok": True, "final": True})
        assert [e["seq"] for e in await store.attempts()] == [7]  # a seq is never handed out twice

    run(redis_url, body)


def test_a_prefix_keeps_two_emulators_apart(redis_server: Any) -> None:
    first, second = (f"{redis_server.url}?prefix=iso-{os.getpid()}-{side}" for side in "ab")

    async def body(a: RedisTaskStore) -> None:
        b = replica(second)
        await submit(a, "x", 0.0, queue=None)
        await submit(b, "x", 5.0, queue=None)  # the same id, another emulator: no clash
        policy = QueuePolicy("pool", concurrency=1, size=1)
        await submit(a, "y1", 0.0, policy)
        await submit(a, "y2", 0.0, policy)
        with pytest.raises(QueueFull):  # a's pool is full; b's is empty
            await submit(a, "y3", 0.0, policy)
        assert (await submit(b, "y3", 0.0, policy))[1] == Admission(0, 0)
        assert [(await s.get("x")).submitted_at for s in (a, b)] == [0.0, 5.0]  # type: ignore[union-attr]
        await a.log_attempt({"task": "x", "ok": True, "final": True})
        assert (await b.attempt_totals())["attempts"] == 0
        assert [c.record.submitted_at for c in await a.claim_due(5.5, 10) if c.record.id == "x"] == [0.0]
        await a.clear()
        assert await a.count() == 0 and await b.count() == 2
        assert set(await task_keys(a)) == {f"{a.link.prefix}:tasks:{name}".encode() for name in ("seq", "logseq")}
        assert len(await b.claim_due(6.5, 10)) == 2  # b's claims were never touched
        await b.clear()

    run(first, body)


def test_an_unreachable_redis_is_named_at_start(redis_url: str) -> None:
    async def body(store: RedisTaskStore) -> None:
        await store.check()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            url = f"redis://127.0.0.1:{sock.getsockname()[1]}/0?prefix=gone"  # bound, never listening
            nobody = replica(url)
            with pytest.raises(RedisUnavailable, match=r"--store redis://127\.0\.0\.1:\d+/0\?prefix=gone"):
                await nobody.check()

    run(redis_url, body)
