"""`RedisTaskStore` against a real Redis, beyond the conformance suite every task store passes
(tests/tasks/test_stores.py runs on Redis too): records kept as JSON and every key removed by `clear`,
the capped delivery log, prefixes that keep emulators sharing one Redis apart, an unreachable Redis."""

from __future__ import annotations

import os
import socket
from typing import Any

import orjson
import pytest

from mockserver.stores import redis_tasks
from mockserver.stores.redis_tasks import RedisTaskStore, RedisUnavailable
from mockserver.tasks import Admission, DuplicateTaskId, QueueFull, QueuePolicy
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
