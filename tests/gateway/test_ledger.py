"""The key store's rules in isolation: admission, reservations, settlement, refunds, rate windows."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mockserver.stores.keys import (
    LOG_CONSUME,
    LOG_REFUND,
    STATUS_DISABLED,
    STATUS_EXHAUSTED,
    GatewayKey,
    LogEntry,
    MemoryKeyStore,
    Refused,
)
from mockserver.stores.sqlite_keys import SqliteKeyStore


def row(secret: str = "abc", kind: int = LOG_CONSUME) -> LogEntry:
    return LogEntry(kind, 0, secret, 1, "k", "default", "gpt-4o", 1, 1, 0, False, 0, "test")


@pytest.fixture(params=["memory", "sqlite"])
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory" if request.param == "memory" else str(tmp_path / "keys.db")


def store_with(kind: str = "memory", **fields: object) -> MemoryKeyStore:
    store = MemoryKeyStore() if kind == "memory" else SqliteKeyStore(kind)
    store.reset([GatewayKey(id=0, secret="abc", **fields)])  # type: ignore[arg-type]
    return store


def test_a_reservation_becomes_the_actual_cost(kind: str) -> None:
    store = store_with(kind, unlimited_quota=False, remain_quota=1000)
    held = store.admit("abc", now=0, wall=0, estimate=600)
    assert store.find("abc").remain_quota == 400  # type: ignore[union-attr]
    assert store.settle(held, quota=250, tokens=0, wall=0, row=row()) == 250
    key = store.find("abc")
    assert key is not None and (key.remain_quota, key.used_quota) == (750, 250)
    assert store.usage("abc", 0).quota == 250


def test_a_call_that_does_not_fit_is_refused_and_reserves_nothing(kind: str) -> None:
    store = store_with(kind, unlimited_quota=False, remain_quota=100)
    with pytest.raises(Refused) as refused:
        store.admit("abc", now=0, wall=0, estimate=101)
    assert refused.value.reason == "quota" and refused.value.detail == {"remain": 100, "need": 101}
    assert store.find("abc").remain_quota == 100  # type: ignore[union-attr]


def test_the_last_charge_is_capped_so_a_key_never_goes_below_zero(kind: str) -> None:
    store = store_with(kind, unlimited_quota=False, remain_quota=100)
    held = store.admit("abc", now=0, wall=0, estimate=10)
    assert store.settle(held, quota=500, tokens=0, wall=0, row=row()) == 100
    with pytest.raises(Refused) as refused:
        store.admit("abc", now=0, wall=0, estimate=0)
    assert refused.value.reason == "exhausted"
    with pytest.raises(Refused) as again:
        store.admit("abc", now=0, wall=0, estimate=0)
    assert again.value.reason == "exhausted_status"  # new-api writes the status back
    assert store.find("abc").status == STATUS_EXHAUSTED  # type: ignore[union-attr]


def test_status_and_expiry_are_checked_on_the_virtual_clock(kind: str) -> None:
    with pytest.raises(Refused, match="disabled"):
        store_with(kind, status=STATUS_DISABLED).admit("abc", now=0, wall=0, estimate=0)
    store = store_with(kind, expired_time=100)
    store.admit("abc", now=99, wall=0, estimate=0)
    with pytest.raises(Refused, match="expired"):
        store.admit("abc", now=101, wall=0, estimate=0)


def test_unknown_secrets_pass_unlimited_and_are_counted(kind: str) -> None:
    store = store_with(kind)
    held = store.admit("who", now=0, wall=0, estimate=50)
    assert store.settle(held, quota=7, tokens=0, wall=0, row=row("who")) == 7
    assert store.usage("who", 0).quota == 7 and store.usage(None, 0).calls == 1


def test_a_refund_comes_back_when_its_time_is_reached(kind: str) -> None:
    store = store_with(kind, unlimited_quota=False, remain_quota=1000)
    held = store.admit("abc", now=0, wall=0, estimate=300)
    store.settle(held, quota=300, tokens=0, wall=0, row=row())
    store.refund_at("abc", 300, 50.0, row().refund(300, 50.0, "refund"))
    assert store.usage("abc", 49).quota == 300
    assert store.usage("abc", 50).quota == 0 and store.usage("abc", 50).refunded == 300
    assert store.find("abc").remain_quota == 1000  # type: ignore[union-attr]
    rows = [entry.as_dict(2, "u") for entry in store.logs(60)]
    assert [r["type"] for r in rows] == [LOG_CONSUME, LOG_REFUND] and rows[1]["created_at"] == 50
    assert rows[0]["request_id"].endswith("000000000mock") and rows[1]["quota"] == 300


def test_requests_per_window_give_a_retry_after(kind: str) -> None:
    store = store_with(kind, rpm=2, rate_window=10)
    store.admit("abc", now=0, wall=100.0, estimate=0)
    store.admit("abc", now=0, wall=101.0, estimate=0)
    with pytest.raises(Refused) as refused:
        store.admit("abc", now=0, wall=102.5, estimate=0)
    assert refused.value.reason == "rpm" and refused.value.detail["retry_after"] == 8
    store.admit("abc", now=0, wall=110.5, estimate=0)  # the first request has left the window


def test_tokens_per_window_count_what_calls_used(kind: str) -> None:
    store = store_with(kind, tpm=100, rate_window=60)
    held = store.admit("abc", now=0, wall=0.0, estimate=0)
    store.settle(held, quota=1, tokens=100, wall=1.0, row=row())
    with pytest.raises(Refused) as refused:
        store.admit("abc", now=0, wall=2.0, estimate=0)
    assert refused.value.reason == "tpm" and refused.value.detail["retry_after"] == 59


def test_threads_never_overspend(kind: str) -> None:
    store = store_with(kind, unlimited_quota=False, remain_quota=10_000)
    # With sqlite, a second store on the same file stands for another process.
    stores = [store] if kind == "memory" else [store, SqliteKeyStore(kind)]
    charged: list[int] = []
    lock = threading.Lock()

    def spend(one: MemoryKeyStore) -> None:
        for _ in range(100):
            try:
                held = one.admit("abc", now=0, wall=0, estimate=70)
            except Refused:
                continue
            got = one.settle(held, quota=97, tokens=0, wall=0, row=row())
            with lock:
                charged.append(got)

    threads = [threading.Thread(target=spend, args=(stores[i % len(stores)],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    key = stores[-1].get(1)
    assert key is not None and key.remain_quota >= 0
    assert sum(charged) == 10_000 - key.remain_quota == key.used_quota
    assert stores[-1].usage("abc", 0).quota == sum(charged) and len(stores[0].logs(0)) == len(charged)
