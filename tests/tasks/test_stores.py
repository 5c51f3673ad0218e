"""Both stores behave alike: records, worker pools, callback claims, the delivery log; sqlite also
persists, shares claims between connections (as between processes) and holds the shared clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.clock import VirtualClock
from mockserver.stores import MemoryStore, TaskStore, open_store
from mockserver.stores.shared_clock import SharedClock
from mockserver.stores.sqlite import SqliteStore
from mockserver.tasks import Admission, DuplicateTaskId, Phase, QueueFull, QueuePolicy, Step, TaskRecord


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
    return TaskRecord(
        id=task_id,
        vendor="demo",
        kind="x",
        submitted_at=now,
        steps=plan(wait_ms=admission.wait_ms),
        notify_hook=hook,
        run_start_ms=admission.wait_ms,
        queue="pool",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TaskStore]:
    made = MemoryStore() if request.param == "memory" else SqliteStore(str(tmp_path / "tasks.db"))
    yield made
    made.close()


def submit(
    store: TaskStore, task_id: str, now: float, policy: QueuePolicy | None = None, **kw: object
) -> tuple[TaskRecord, Admission]:
    return store.submit(lambda adm: make(task_id, now, adm, **kw), policy, now)


def test_records_are_stored_listed_and_unique(store: TaskStore) -> None:
    submit(store, "a", 0.0, owner="alice")
    submit(store, "b", 1.0, owner="bob")
    submit(store, "c", 2.0, owner="alice")
    with pytest.raises(DuplicateTaskId):
        submit(store, "a", 3.0)
    assert store.get("b") is not None and store.get("zz") is None
    assert [r.id for r in store.records()] == ["a", "b", "c"]
    assert [r.id for r in store.records(owner="alice")] == ["a", "c"]
    assert [r.id for r in store.records(limit=2)] == ["b", "c"]
    assert [r.id for r in store.get_many(["c", "zz", "a"])] == ["c", "a"]
    assert store.count() == 3
    store.clear()
    assert store.count() == 0 and store.records() == []


def test_worker_pool_queues_then_refuses(store: TaskStore) -> None:
    policy = QueuePolicy("pool", concurrency=1, size=2)
    _, a1 = submit(store, "a", 0.0, policy)
    _, a2 = submit(store, "b", 0.0, policy)
    _, a3 = submit(store, "c", 0.0, policy)
    assert (a1, a2.ahead, a3.ahead) == (Admission(0, 0), 0, 1)
    assert a2.wait_ms == 10_000 and a3.wait_ms == 20_000  # each waits for the one before to end
    with pytest.raises(QueueFull):
        submit(store, "d", 0.0, policy)
    assert store.get("d") is None
    # 15 s later: a ended, b runs, c waits -> room for one more waiting
    _, later = submit(store, "d", 15.0, policy)
    assert later == Admission(1, 15_000)


def test_callback_claims_are_exclusive_ordered_and_resumable(store: TaskStore) -> None:
    submit(store, "a", 0.0)
    submit(store, "quiet", 0.0, hook=None)
    assert store.claim_due(0.5, 10) == []  # step 0 is never called back; step 1 is at 1 s
    (claim,) = store.claim_due(4.0, 10)
    assert (claim.record.id, claim.start, claim.end) == ("a", 1, 2)
    assert store.claim_due(100.0, 10) == []  # in flight: nobody else may claim it
    store.complete(claim)
    (rest,) = store.claim_due(100.0, 10)
    assert (rest.start, rest.end) == (2, 4)
    store.complete(rest, upto=3)  # interrupted after one step: the other is due again
    (again,) = store.claim_due(100.0, 10)
    assert (again.start, again.end) == (3, 4)
    store.complete(again)
    assert store.claim_due(1e9, 10) == []


def test_extend_replaces_the_unreached_future(store: TaskStore) -> None:
    store.submit(
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
    assert store.claim_due(10.0, 10) == []
    policy = QueuePolicy("pool", concurrency=1, size=1)
    updated, _ = store.extend(
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
    assert store.get("m") == updated
    (claim,) = store.claim_due(35.0, 10)
    assert (claim.start, claim.end) == (1, 3)
    # the resumed task now holds the pool's only worker
    _, admission = submit(store, "n", 12.0, policy)
    assert admission.wait_ms == 18_000
    with pytest.raises(KeyError):
        store.extend("nope", lambda old, adm: old, None, 0.0)


def test_delivery_log_and_totals(store: TaskStore) -> None:
    store.log_attempt({"task": "a", "ok": False, "final": False, "attempt": 1})
    store.log_attempt({"task": "a", "ok": True, "final": True, "attempt": 2})
    store.log_attempt({"task": "b", "ok": False, "final": True, "attempt": 1})
    assert [e["attempt"] for e in store.attempts(task="a")] == [1, 2]
    assert len(store.attempts(limit=1)) == 1
    assert store.attempt_totals() == {"attempts": 3, "delivered": 1, "failed": 1}


def test_open_store_urls_give_the_store_and_its_clock(tmp_path: Path) -> None:
    memory = open_store("memory")
    assert isinstance(memory.tasks, MemoryStore) and type(memory.clock) is VirtualClock
    opened = open_store(f"sqlite:///{tmp_path}/x/tasks.db", start=1000.0, speed=0.0)
    made, shared = opened.tasks, opened.clock
    assert isinstance(made, SqliteStore) and (tmp_path / "x" / "tasks.db").exists()
    assert isinstance(shared, SharedClock) and shared.now() == 1000.0  # processes on the file share its time
    made.close()
    with pytest.raises(ValueError, match="memory or sqlite"):
        open_store("redis://localhost")
    with pytest.raises(ValueError, match="file path"):
        open_store("sqlite:///")


def test_sqlite_persists_and_shares_claims_between_connections(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    first = SqliteStore(path)
    for i in range(40):
        submit(first, f"t{i}", 0.0)
    first.close()
    stores = [SqliteStore(path) for _ in range(4)]
    assert stores[0].count() == 40
    claimed: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    def work(s: SqliteStore) -> None:
        while True:
            claims = s.claim_due(100.0, 3)
            if not claims:
                return
            for c in claims:
                with lock:
                    claimed.append((c.record.id, c.start, c.end))
                s.complete(c)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in stores:
        s.close()
    assert sorted(claimed) == sorted((f"t{i}", 1, 4) for i in range(40))


def test_shared_clock_is_one_clock_for_every_connection(tmp_path: Path) -> None:
    wall = [1000.0]
    path = str(tmp_path / "clock.db")
    a_store, b_store = SqliteStore(path), SqliteStore(path)
    a = SharedClock(a_store, speed=0.0, start=5000.0, wall=lambda: wall[0])
    b = SharedClock(b_store, speed=0.0, start=9999.0, wall=lambda: wall[0])  # the file's clock wins
    assert a.now() == b.now() == 5000.0
    a.advance(30)
    assert b.now() == 5030.0 and b.describe()["shared"] is True and b.offset == 30.0
    with pytest.raises(ValueError):
        b.advance(-1)
    # a process with another speed re-anchors at the current time: time never jumps back
    wall[0] = 1010.0
    c = SharedClock(SqliteStore(path), speed=2.0, start=None, wall=lambda: wall[0])
    assert c.now() == 5030.0
    wall[0] = 1015.0
    assert a.now() == b.now() == c.now() == 5040.0
    a.reset()
    assert b.now() == 5000.0
    for clock in (a, b, c):
        clock._store.close()
