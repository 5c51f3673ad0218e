"""The callback dispatcher under pressure: a failing store, one delivery slot, a payload that cannot be made,
and wake-ups from other threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.tasks import TaskRecord
from tests.tasks.engine_helpers import engine_for, submit
from tests.tasks.helpers import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def per_task(bodies: list[dict[str, Any]]) -> dict[str, list[tuple[str, int]]]:
    got: dict[str, list[tuple[str, int]]] = {}
    for body in bodies:
        got.setdefault(body["id"], []).append((body["status"], body["progress"]))
    return got


def expected(records: list[TaskRecord]) -> dict[str, list[tuple[str, int]]]:
    return {r.id: [(s.status, s.progress) for s in r.steps[1:]] for r in records}


def test_a_store_that_fails_to_claim_does_not_stop_the_dispatcher(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for()
    engine.dispatcher.poll_interval = 0.01
    real = engine.store.claim_due
    failures = threading.Semaphore(3)

    async def flaky(now: float, limit: int) -> Any:
        if failures.acquire(blocking=False):
            raise RuntimeError("database is locked")
        return await real(now, limit)

    monkeypatch.setattr(engine.store, "claim_due", flaky)

    async def scenario() -> None:
        await engine.start()
        try:
            record = await submit(engine, "f1", receiver.url)
            engine.state.clock.advance(100)
            engine.dispatcher.wake()
            want = len(record.steps) - 1
            await asyncio.to_thread(receiver.wait_until, lambda bodies: len(bodies) >= want)
            assert per_task(receiver.bodies) == expected([record])
        finally:
            await engine.stop()

    asyncio.run(scenario())
    assert not failures.acquire(blocking=False)  # all three failures happened, and the loop carried on


def test_one_delivery_slot_still_delivers_every_task_in_order(receiver: Receiver) -> None:
    engine = engine_for()
    engine.dispatcher.concurrency = 1
    engine.dispatcher.poll_interval = 0.01

    async def scenario() -> None:
        await engine.start()
        try:
            records = [await submit(engine, f"s{i}", receiver.url) for i in range(6)]
            engine.state.clock.advance(100)
            engine.dispatcher.wake()
            want = sum(len(r.steps) - 1 for r in records)
            await asyncio.to_thread(receiver.wait_until, lambda bodies: len(bodies) >= want)
            assert per_task(receiver.bodies) == expected(records)
        finally:
            await engine.stop()

    asyncio.run(scenario())


def test_a_payload_that_cannot_be_made_skips_that_task_only(receiver: Receiver) -> None:
    engine = engine_for()
    engine.dispatcher.poll_interval = 0.01
    render = engine.dispatcher.payload_for

    def payload_for(record: TaskRecord, index: int) -> Any:
        if record.id == "b1":
            raise ValueError("cannot render")
        return render(record, index)

    engine.dispatcher.payload_for = payload_for

    async def scenario() -> None:
        await engine.start()
        try:
            await submit(engine, "b1", receiver.url)
            good = await submit(engine, "g1", receiver.url)
            engine.state.clock.advance(100)
            engine.dispatcher.wake()
            want = len(good.steps) - 1
            await asyncio.to_thread(receiver.wait_until, lambda bodies: len(bodies) >= want)
            await asyncio.sleep(0.1)
            assert per_task(receiver.bodies) == expected([good])
            # the broken task's claim was given back as done: nothing of it is due any more
            assert await engine.store.claim_due(engine.now(), 10) == []
        finally:
            await engine.stop()

    asyncio.run(scenario())


def test_a_wake_from_another_thread_starts_deliveries_without_waiting_for_the_poll(receiver: Receiver) -> None:
    engine = engine_for()
    engine.dispatcher.poll_interval = 3600  # only a wake-up can start the deliveries
    engine.dispatcher.wake()  # not started yet: nothing to wake, and no error

    async def scenario() -> None:
        await engine.start()
        await engine.start()  # starting twice changes nothing
        try:
            await asyncio.sleep(0.05)  # the loop is now waiting for a wake-up
            record = await submit(engine, "w1", receiver.url)
            engine.state.clock.advance(100)
            await asyncio.to_thread(engine.dispatcher.wake)
            want = len(record.steps) - 1
            await asyncio.to_thread(receiver.wait_until, lambda bodies: len(bodies) >= want)
            assert per_task(receiver.bodies) == expected([record])
        finally:
            await engine.stop()

    asyncio.run(scenario())
