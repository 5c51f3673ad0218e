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

from mockserver.testing import free_port
from tests.tasks.engine_helpers import engine_for, submit
from tests.tasks.helpers import Receiver, live_emulator, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def test_every_transition_once_in_order_per_task(receiver: Receiver) -> None:
    engine = engine_for()
    engine.dispatcher.poll_interval = 0.01

    async def scenario() -> None:
        await engine.start()
        try:
            records = [await submit(engine, f"t{i}", receiver.url) for i in range(25)]
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
            totals = await engine.control_callbacks()
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
            record = await submit(engine, "r1", receiver.url)
            engine.state.clock.advance(2.01 + record.steps[1].at_ms / 1000 - 2)
            deadline = time.monotonic() + 10
            while not receiver.bodies and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            log = (await engine.control_callbacks(task="r1"))["callbacks"]
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
            while (await engine.control_callbacks())["failed"] < steps and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            totals = await engine.control_callbacks()
            assert totals["failed"] == steps and totals["delivered"] == 1
            assert totals["attempts"] == 3 + 3 * steps
        finally:
            await engine.stop()

    asyncio.run(scenario())


class BlackHole:
    """A loopback port that accepts connections and never answers; `accepted` is set at the first one."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(100)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.held: list[socket.socket] = []
        self.accepted = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = self.sock.accept()
                self.held.append(conn)
                self.accepted.set()

    def close(self) -> None:
        """Stop accepting and drop every held connection (a delivery still waiting on one fails at once)."""
        self._stop.set()
        self._thread.join(2)
        for conn in self.held:
            conn.close()
        self.sock.close()


@contextlib.contextmanager
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    try:
        yield hole
    finally:
        hole.close()


def callback_log(mj: Any) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = mj.get("/__mock/callbacks").json()["callbacks"]
    return log


def wait_for_log(mj: Any, check: Any, timeout: float = 15.0) -> list[dict[str, Any]]:
    """The callback log once `check(log)` holds (polled; fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not check(log := callback_log(mj)):
        assert time.monotonic() < deadline, f"callback log never got there: {log}"
        time.sleep(0.05)
    return log


def test_dead_and_silent_receivers_never_slow_the_api() -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"
    # Deliveries to the silent hook hang for the whole (long) callback timeout, until the hole is closed.
    with live_emulator(instant=True, callback_timeout=60.0, callback_retries=0) as mj, black_hole() as hole:
        for i in range(40):
            hook = hole.url if i % 2 else dead
            body = {"prompt": f"cat {i}", "botType": "MID_JOURNEY", "notifyHook": hook}
            assert mj.post("/mj/submit/imagine", body).json()["code"] == 1
        # every transition of 40 instant tasks is due now; deliveries are hanging on the silent hook
        assert hole.accepted.wait(15), "no delivery reached the silent hook"
        for _ in range(20):
            assert mj.get("/__mock/health").status_code == 200
            task_id = mj.post("/mj/submit/imagine", {"prompt": "dog", "botType": "MID_JOURNEY"}).json()["result"]
            assert mj.fetch(task_id)["status"] == "SUCCESS"
        # ... and all 40 requests were answered while not one delivery to it had finished
        assert not [e for e in callback_log(mj) if e["url"] == hole.url]
        log = wait_for_log(mj, lambda log: any(e["url"] == dead for e in log))
        assert {e["error"].split(":")[0] for e in log if e["url"] == dead} == {"ConnectError"}


def test_a_silent_receiver_is_given_up_after_the_callback_timeout() -> None:
    with black_hole() as hole, live_emulator(instant=True, callback_timeout=1.0, callback_retries=0) as mj:
        body = {"prompt": "cat", "botType": "MID_JOURNEY", "notifyHook": hole.url}
        assert mj.post("/mj/submit/imagine", body).json()["code"] == 1
        log = wait_for_log(mj, lambda log: any(e["url"] == hole.url for e in log))
    attempts = [e for e in log if e["url"] == hole.url]
    assert all(e["error"].startswith(("ReadTimeout", "TimeoutException")) for e in attempts), attempts
    # the timeout is real time: never given up before it (the upper bound only says it did not hang)
    assert all(950 <= e["elapsed_ms"] < 15_000 for e in attempts), attempts


def test_stopping_hands_undelivered_steps_back(receiver: Receiver) -> None:
    engine = engine_for()
    engine.dispatcher.poll_interval = 0.01
    receiver.delay = 0.3

    async def scenario() -> None:
        await engine.start()
        record = await submit(engine, "s1", receiver.url)
        engine.state.clock.advance(100)

        async def logged() -> int:  # deliveries the dispatcher finished (a received body may still be in flight)
            return sum(1 for attempt in await engine.store.attempts() if attempt.get("ok"))

        deadline = time.monotonic() + 5
        while not await logged() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await engine.dispatcher.stop()  # in the middle of the task's deliveries (each answer takes 0.3 s)
        delivered = await logged()
        assert 1 <= delivered < len(record.steps) - 1
        (claim,) = await engine.store.claim_due(engine.now(), 10)
        assert claim.start == 1 + delivered and claim.end == len(record.steps)
        await engine.store.close()

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
