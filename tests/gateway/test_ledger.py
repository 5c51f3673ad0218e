"""The key store's rules in isolation, on every store (memory, sqlite, a real Redis): admission,
reservations, settlement, refunds, rate windows, and no overspending across processes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from mockserver.stores.keys import (
    LOG_CONSUME,
    LOG_REFUND,
    STATUS_DISABLED,
    STATUS_EXHAUSTED,
    GatewayKey,
    KeyStore,
    LogEntry,
    MemoryKeyStore,
    Refused,
)
from mockserver.stores.redis_keys import RedisKeyStore
from mockserver.stores.sqlite_keys import SqliteKeyStore
from tests.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]  # the fixtures

Body = Callable[[KeyStore], Awaitable[None]]
Work = Callable[[KeyStore], Coroutine[Any, Any, None]]


def row(secret: str = "abc", kind: int = LOG_CONSUME) -> LogEntry:
    return LogEntry(kind, 0, secret, 1, "k", "default", "gpt-4o", 1, 1, 0, False, 0, "test")


@pytest.fixture(params=["memory", "sqlite", "redis"])
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store lives: "memory", a sqlite file's path, or a Redis URL with a prefix of its own."""
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return "memory" if request.param == "memory" else str(tmp_path / "keys.db")


def open_store(kind: str) -> KeyStore:
    """A store on `kind`; with sqlite or Redis a second one stands for another process."""
    if kind == "memory":
        return MemoryKeyStore()
    if kind.startswith("redis://"):
        return RedisKeyStore.from_url(kind)
    return SqliteKeyStore(kind)


def run(kind: str, body: Body, **fields: object) -> None:
    """Run `body` on a store holding the key `sk-abc` with `fields`."""

    async def main() -> None:
        store = open_store(kind)
        try:
            await store.reset([GatewayKey(id=0, secret="abc", **fields)])  # type: ignore[arg-type]
            await body(store)
        finally:
            await store.close()

    asyncio.run(main())


async def remain(store: KeyStore) -> int:
    key = await store.find("abc")
    assert key is not None
    return key.remain_quota


def test_a_reservation_becomes_the_actual_cost(kind: str) -> None:
    async def body(store: KeyStore) -> None:
        held = await store.admit("abc", now=0, wall=0, estimate=600)
        assert await remain(store) == 400
        assert await store.settle(held, quota=250, tokens=0, wall=0, row=row()) == 250
        key = await store.find("abc")
        assert key is not None and (key.remain_quota, key.used_quota) == (750, 250)
        assert (await store.usage("abc", 0)).quota == 250

    run(kind, body, unlimited_quota=False, remain_quota=1000)


def test_a_call_that_does_not_fit_is_refused_and_reserves_nothing(kind: str) -> None:
    async def body(store: KeyStore) -> None:
        with pytest.raises(Refused) as refused:
            await store.admit("abc", now=0, wall=0, estimate=101)
        assert refused.value.reason == "quota" and refused.value.detail == {"remain": 100, "need": 101}
        assert await remain(store) == 100

    run(kind, body, unlimited_quota=False, remain_quota=100)


def test_the_last_charge_is_capped_so_a_key_never_goes_below_zero(kind: str) -> None:
    async def body(store: KeyStore) -> None:
        held = await store.admit("abc", now=0, wall=0, estimate=10)
        assert await store.settle(held, quota=500, tokens=0, wall=0, row=row()) == 100
        with pytest.raises(Refused) as refused:
            await store.admit("abc", now=0, wall=0, estimate=0)
        assert refused.value.reason == "exhausted"
        with pytest.raises(Refused) as again:
            await store.admit("abc", now=0, wall=0, estimate=0)
        assert again.value.reason == "exhausted_status"  # new-api writes the status back
        key = await store.find("abc")
        assert key is not None and key.status == STATUS_EXHAUSTED

    run(kind, body, unlimited_quota=False, remain_quota=100)


def test_status_and_expiry_are_checked_on_the_virtual_clock(kind: str) -> None:
    async def disabled(store: KeyStore) -> None:
        with pytest.raises(Refused, match="disabled"):
            await store.admit("abc", now=0, wall=0, estimate=0)

    async def expires(store: KeyStore) -> None:
        await store.admit("abc", now=99, wall=0, estimate=0)
        with pytest.raises(Refused, match="expired"):
            await store.admit("abc", now=101, wall=0, estimate=0)

    run(kind, disabled, status=STATUS_DISABLED)
    run(kind, expires, expired_time=100)


def test_unknown_secrets_pass_unlimited_and_are_counted(kind: str) -> None:
    async def body(store: KeyStore) -> None:
        held = await store.admit("who", now=0, wall=0, estimate=50)
        assert await store.settle(held, quota=7, tokens=0, wall=0, row=row("who")) == 7
        assert (await store.usage("who", 0)).quota == 7 and (await store.usage(None, 0)).calls == 1

    run(kind, body)


def test_a_refund_comes_back_when_its_time_is_reached(kind: str) -> None:
    async def body(store: KeyStore) -> None:
        held = await store.admit("abc", now=0, wall=0, estimate=300)
        await store.settle(held, quota=300, tokens=0, wall=0, row=row())
        await store.refund_at("abc", 300, 50.0, row().refund(300, 50.0, "refund"))
        assert (await store.usage("abc", 49)).quota == 300
        later = await store.usage("abc", 50)
        assert later.quota == 0 and later.refunded == 300
        assert await remain(store) == 1000
        rows = [entry.as_dict(2, "u") for entry in await store.logs(60)]
        assert [r["type"] for r in rows] == [LOG_CONSUME, LOG_REFUND] and rows[1]["created_at"] == 50
        assert rows[0]["request_id"].endswith("000000000mock") and rows[1]["quota"] == 300

    run(kind, body, unlimited_quota=False, remain_quota=1000)


def test_requests_per_window_give_a_retry_after(kind: str) -> None:
    async def body(store: KeyStore) -> None:
        await store.admit("abc", now=0, wall=100.0, estimate=0)
        await store.admit("abc", now=0, wall=101.0, estimate=0)
        with pytest.raises(Refused) as refused:
            await store.admit("abc", now=0, wall=102.5, estimate=0)
        assert refused.value.reason == "rpm" and refused.value.detail["retry_after"] == 8
        await store.admit("abc", now=0, wall=110.5, estimate=0)  # the first request has left the window

    run(kind, body, rpm=2, rate_window=10)


def test_tokens_per_window_count_what_calls_used(kind: str) -> None:
    async def body(store: KeyStore) -> None:
        held = await store.admit("abc", now=0, wall=0.0, estimate=0)
        await store.settle(held, quota=1, tokens=100, wall=1.0, row=row())
        with pytest.raises(Refused) as refused:
            await store.admit("abc", now=0, wall=2.0, estimate=0)
        assert refused.value.reason == "tpm" and refused.value.detail["retry_after"] == 59

    run(kind, body, tpm=100, rate_window=60)


def test_a_reset_forgets_keys_usage_and_log_rows(kind: str) -> None:
    async def body(store: KeyStore) -> None:
        held = await store.admit("abc", now=0, wall=0, estimate=0)
        await store.settle(held, quota=5, tokens=0, wall=0, row=row())
        await store.initialize([GatewayKey(id=0, secret="other")])  # holds state already: kept as it is
        assert await store.find("other") is None and len(await store.logs(0)) == 1
        await store.reset([GatewayKey(id=0, secret="other")])
        assert await store.find("abc") is None and await store.find("other") is not None
        assert await store.logs(0) == [] and (await store.usage(None, 0)).calls == 0

    run(kind, body)


def _in_threads(stores: list[KeyStore], work: Work, threads: int = 8) -> None:
    """`work` on each store from `threads` threads at once, each with an event loop of its own (as
    worker processes or replicas have), the stores taken in turn."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def one(store: KeyStore) -> None:
        try:
            start.wait()
            asyncio.run(work(store))
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    running = [threading.Thread(target=one, args=(stores[i % len(stores)],)) for i in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    assert not errors, errors


def _stores(kind: str, first: KeyStore) -> list[KeyStore]:
    # With sqlite or Redis a second store (its own connection) on the same file or prefix stands for
    # another process.
    return [first] if kind == "memory" else [first, open_store(kind)]


def test_concurrent_stores_never_overspend(kind: str) -> None:
    charged: list[int] = []
    lock = threading.Lock()

    async def spend(one: KeyStore) -> None:
        try:
            for _ in range(40):
                try:
                    held = await one.admit("abc", now=0, wall=0, estimate=70)
                except Refused:
                    continue
                got = await one.settle(held, quota=97, tokens=0, wall=0, row=row())
                assert got is not None  # a limited key's charge is decided at once
                with lock:
                    charged.append(got)
        finally:
            if isinstance(one, RedisKeyStore):
                await one.close()  # this loop's connection

    async def body(store: KeyStore) -> None:
        stores = _stores(kind, store)
        await asyncio.to_thread(_in_threads, stores, spend)
        key = await stores[-1].get(1)
        assert key is not None and key.remain_quota >= 0 and len(charged) > 10
        assert sum(charged) == 4_000 - key.remain_quota == key.used_quota
        assert (await stores[-1].usage("abc", 0)).quota == sum(charged)
        assert len(await stores[0].logs(0)) == len(charged)
        for extra in stores[1:]:
            await extra.close()

    run(kind, body, unlimited_quota=False, remain_quota=4_000)


def test_a_rate_limit_counts_every_stores_requests_once(kind: str) -> None:
    admitted: list[int] = []
    lock = threading.Lock()

    async def call(one: KeyStore) -> None:
        try:
            for _ in range(10):
                try:
                    await one.admit("abc", now=0, wall=100.0, estimate=0)
                except Refused as refused:
                    assert refused.reason == "rpm"
                    continue
                with lock:
                    admitted.append(1)
        finally:
            if isinstance(one, RedisKeyStore):
                await one.close()

    async def body(store: KeyStore) -> None:
        stores = _stores(kind, store)
        await asyncio.to_thread(_in_threads, stores, call, 4)
        assert len(admitted) == 7  # 40 tries on two stores: the window holds 7 in all
        for extra in stores[1:]:
            await extra.close()

    run(kind, body, rpm=7, rate_window=60)


def test_settlements_that_decide_nothing_are_each_counted_once(kind: str) -> None:
    # Unlimited and unknown keys: a shared store may apply these later (Redis queues them), but every
    # read sees each exactly once, whichever store made or read it.
    async def call(one: KeyStore) -> None:
        try:
            for i in range(25):
                secret = "abc" if i % 2 else "who"
                held = await one.admit(secret, now=0, wall=0, estimate=0)
                assert held.decides_nothing
                assert await one.settle(held, quota=3, tokens=5, wall=0, row=row(secret)) == 3
        finally:
            if isinstance(one, RedisKeyStore):
                await one.close()

    async def body(store: KeyStore) -> None:
        stores = _stores(kind, store)
        await asyncio.to_thread(_in_threads, stores, call, 4)
        reader = stores[-1]
        assert (await reader.usage(None, 0)).calls == 100 and (await reader.usage("abc", 0)).quota == 48 * 3
        key = await reader.get(1)
        assert key is not None and key.used_quota == 48 * 3
        rows = await stores[0].logs(0)
        assert len(rows) == 100 and sorted(r.id for r in rows) == list(range(1, 101))
        await reader.reset([])
        assert await stores[0].logs(0) == [] and (await stores[0].usage(None, 0)).calls == 0
        for extra in stores[1:]:
            await extra.close()

    run(kind, body)


def test_settlements_kept_for_later_stay_few_without_reads(kind: str) -> None:
    async def body(store: KeyStore) -> None:
        for _ in range(600):
            held = await store.admit("who", now=0, wall=0, estimate=0)
            await store.settle(held, quota=lambda: 2, tokens=0, wall=0, row=row("who"))
        if isinstance(store, MemoryKeyStore):
            assert len(store.rules._later) < 256  # applied as they pile up, not kept without bound
        if isinstance(store, RedisKeyStore):
            assert await store.link.client().llen(store._pending_key) < 256
        if isinstance(store, SqliteKeyStore):
            waiting = store.rules._conn.execute("SELECT COUNT(*) FROM gateway_waiting").fetchone()[0]  # type: ignore[attr-defined]
            assert waiting < 256
        assert (await store.usage("who", 0)).quota == 1_200 and len(await store.logs(0)) == 600

    run(kind, body)
