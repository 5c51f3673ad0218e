"""The callback dispatcher against real loopback receivers: order, exactly-once, retries with back-off,
giving up, dead and silent receivers that must not slow the API, and hand-back on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver import tasks
from mockserver.contracts import load_contracts
from mockserver.settings import Settings
from mockserver.state import MockState
from mockserver.stores import open_store
from mockserver.tasks import Phase, PlanBuilder
from mockserver.tasks.engine import RenderContext, TaskEngine, Vendor, engine
from mockserver.testing import free_port
from tests.tasks.helpers import START, Receiver, live_emulator, running_receiver

VENDOR = "test-demo"


def render(view: tasks.TaskView, ctx: RenderContext) -> dict[str, Any]:
    return {"id": view.record.id, "status": view.status, "progress": view.progress, "base": ctx.base_url}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def demo_plan(seed: int) -> tuple[tasks.Step, ...]:
    import random

    b = PlanBuilder(random.Random(seed))
    b.step("queued", Phase.PENDING).step("running", Phase.RUNNING, after=(1, 2))
    b.climb("running", updates=(2, 4), every=(1, 3))
    return b.step("done", Phase.SUCCEEDED, after=1, progress=100).build()


def engine_for(**settings: Any) -> TaskEngine:
    config = Settings(speed=0.0, start_time=START, **settings)
    store, clock = open_store(config.store, speed=config.speed, start=config.start_time)
    vendors = {VENDOR: Vendor(VENDOR, render)}
    state = MockState.build(config, load_contracts(), store=store, clock=clock, envelopes={}, task_vendors=vendors)
    return engine(state)


def submit(engine: TaskEngine, task_id: str, hook: str) -> tasks.TaskRecord:
    record, _ = engine.submit(
        vendor=VENDOR,
        kind="demo",
        id=task_id,
        plan=demo_plan(len(task_id) * 7 + int(task_id[1:] or 0)),
        now=engine.now(),
        notify_hook=hook,
    )
    return record


def test_every_transition_once_in_order_per_task(receiver: Receiver) -> None:
    engine = engine_for()
    engine.dispatcher.poll_interval = 0.01

    async def scenario() -> None:
        await engine.start()
        try:
            records = [submit(engine, f"t{i}", receiver.url) for i in range(25)]
            expected = {r.id: [(s.status, s.progress) for s in r.steps[1:]] for r in records}
            total = sum(len(v) for v in expected.values())
            engine.state.clock.advance(5)  # part of the way ...
            await asyncio.sleep(0.3)
            engine.state.clock.advance(100)  # ... then to the end
            deadline = time.monotonic() + 15
            while len(receiver.bodies) < total and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)  # nothing more may arrive
            got: dict[str, list[tuple[str, int]]] = {}
            for body in receiver.bodies:
                got.setdefault(body["id"], []).append((body["status"], body["progress"]))
            assert got == expected
            totals = engine.control_callbacks()
            assert (totals["delivered"], totals["failed"], totals["attempts"]) == (total, 0, total)
        finally:
            await engine.stop()

    asyncio.run(scenario())


def test_retries_with_backoff_then_success_and_giving_up(receiver: Receiver) -> None:
    engine = engine_for(callback_retries=3)
    engine.dispatcher.backoff = 0.05
    engine.dispatcher.poll_interval = 0.01
    receiver.fail_next = 2

    async def scenario() -> None:
        await engine.start()
        try:
            record = submit(engine, "r1", receiver.url)
            engine.state.clock.advance(2.01 + record.steps[1].at_ms / 1000 - 2)
            deadline = time.monotonic() + 10
            while not receiver.bodies and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            log = engine.control_callbacks(task="r1")["callbacks"]
            assert [(e["attempt"], e["ok"], e["http_status"]) for e in log] == [
                (1, False, 500),
                (2, False, 500),
                (3, True, 200),
            ]
            assert log[0]["error"] == "HTTP 500" and log[-1]["final"] and log[0]["step"] == 1
            # a receiver that always refuses: three attempts per step, then the step is given up
            receiver.status_code = 503
            engine.state.clock.advance(100)
            deadline = time.monotonic() + 15
            steps = len(record.steps) - 2
            while engine.control_callbacks()["failed"] < steps and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            totals = engine.control_callbacks()
            assert totals["failed"] == steps and totals["delivered"] == 1
            assert totals["attempts"] == 3 + 3 * steps
        finally:
            await engine.stop()

    asyncio.run(scenario())


@contextlib.contextmanager
def black_hole() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(100)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = sock.accept()
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        sock.close()


def test_dead_and_silent_receivers_never_slow_the_api() -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"
    with black_hole() as silent, live_emulator(instant=True, callback_timeout=1.0, callback_retries=2) as mj:
        for i in range(40):
            hook = silent if i % 2 else dead
            body = {"prompt": f"cat {i}", "botType": "MID_JOURNEY", "notifyHook": hook}
            assert mj.post("/mj/submit/imagine", body).json()["code"] == 1
        # every transition of 40 instant tasks is due now; deliveries hang on the silent hook
        time.sleep(0.3)
        started = time.perf_counter()
        for _ in range(20):
            assert mj.get("/__mock/health").status_code == 200
            task_id = mj.post("/mj/submit/imagine", {"prompt": "dog", "botType": "MID_JOURNEY"}).json()["result"]
            assert mj.fetch(task_id)["status"] == "SUCCESS"
        elapsed = time.perf_counter() - started
        assert elapsed < 3.0, f"40 requests took {elapsed:.2f}s while callbacks hung"
        log = mj.get("/__mock/callbacks").json()["callbacks"]
        errors = {e["error"].split(":")[0] for e in log if e["error"]}
        assert "ConnectError" in errors
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            log = mj.get("/__mock/callbacks").json()["callbacks"]
            if any(e["url"] == silent for e in log):
                break
            time.sleep(0.1)
        silent_attempts = [e for e in log if e["url"] == silent]
        assert silent_attempts and all(
            e["error"].startswith(("ReadTimeout", "TimeoutException")) for e in silent_attempts
        )
        assert all(900 <= e["elapsed_ms"] <= 3000 for e in silent_attempts)


def test_stopping_hands_undelivered_steps_back(receiver: Receiver) -> None:
    engine = engine_for()
    engine.dispatcher.poll_interval = 0.01
    receiver.delay = 0.3

    async def scenario() -> None:
        await engine.start()
        record = submit(engine, "s1", receiver.url)
        engine.state.clock.advance(100)
        deadline = time.monotonic() + 5
        while not receiver.bodies and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await engine.dispatcher.stop()  # in the middle of the task's deliveries
        delivered = len(receiver.bodies)
        assert 1 <= delivered < len(record.steps) - 1
        (claim,) = engine.store.claim_due(engine.now(), 10)
        assert claim.start == 1 + delivered and claim.end == len(record.steps)
        engine.store.close()

    asyncio.run(scenario())


def test_global_notify_hook_and_reset(receiver: Receiver) -> None:
    with live_emulator(instant=True, notify_hook=receiver.url) as mj:
        task_id = mj.post("/mj/submit/imagine", {"prompt": "cat", "botType": "MID_JOURNEY", "notifyHook": ""}).json()
        steps = len(mj.plan(task_id["result"])) - 1
        bodies = receiver.wait_until(lambda got: len(got) >= steps)
        assert [b["status"] for b in bodies][-1] == "SUCCESS" and {b["id"] for b in bodies} == {task_id["result"]}
        assert mj.get("/__mock/callbacks").json()["delivered"] == steps
        assert mj.get(f"/__mock/callbacks?task={task_id['result']}&limit=2").json()["count"] == 2
        mj.post("/__mock/reset", {})
        assert mj.get("/__mock/callbacks").json() == {
            "callbacks": [],
            "count": 0,
            "attempts": 0,
            "delivered": 0,
            "failed": 0,
        }


@pytest.mark.parametrize("yields", range(4))
def test_stop_ends_the_loop_even_when_a_wake_up_races_the_cancel(yields: int) -> None:
    # A wake-up that lands just before stop() once made 3.11's wait_for swallow the cancel, so
    # stop() (and with it the server's shutdown) waited forever.
    from mockserver.stores import MemoryStore
    from mockserver.tasks.dispatcher import CallbackDispatcher

    async def scenario() -> None:
        for _ in range(20):
            dispatcher = CallbackDispatcher(MemoryStore(), time.time, lambda record, index: None, poll_interval=5)
            await dispatcher.start()
            await asyncio.sleep(0.001)  # the loop is now waiting for a wake-up
            dispatcher.wake()
            for _ in range(yields):
                await asyncio.sleep(0)
            stopping = asyncio.create_task(dispatcher.stop())
            done, _ = await asyncio.wait({stopping}, timeout=2)  # unlike a timeout, wait() cancels nothing
            assert stopping in done, "stop() hung: the dispatcher loop swallowed its cancel"

    asyncio.run(scenario())
