"""`kill -9` one replica mid-lifecycle: the other finishes every task (its own and the dead one's) and
delivers every callback transition; none is lost and none is delivered twice."""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest

from pytest_plugin.callbacks import CallbackReceiver
from tests.topology.replicas import (
    NOT_WIRED,
    HoldingReceiver,
    StoreNotWired,
    explained,
    kill_9,
    running_replicas,
    wait_for,
)
from tests.topology.test_shared_tasks import check_each_delivered_once, delivered, finish_all, transitions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def test_kill_9_mid_lifecycle_loses_nothing(fresh_store: str, receiver: CallbackReceiver) -> None:
    with contextlib.ExitStack() as stack:
        try:
            replicas = stack.enter_context(running_replicas(fresh_store))
        except StoreNotWired:
            pytest.skip(NOT_WIRED)
        with explained(replicas):
            a, b = replicas.a, replicas.b
            on_a = [a.imagine(f"doomed replica's lighthouse {i}", receiver.url) for i in range(3)]
            on_b = [b.imagine(f"surviving replica's lighthouse {i}", receiver.url) for i in range(2)]
            task_ids = on_a + on_b
            plans = {task_id: b.plan(task_id) for task_id in task_ids}
            expected = {task_id: transitions(b, task_id) for task_id in task_ids}
            # Part of every lifecycle happens while both run: the transitions due by then are delivered...
            now = a.advance(15)["now"]
            early = sum(1 for plan in plans.values() for step in plan[1:] if step["at"] <= now)
            assert 0 < early < sum(len(steps) for steps in expected.values())
            wait_for(lambda: len(receiver.received) >= early, f"{early} early callbacks", timeout=30)
            # ...and logged, so none is in flight (a claim A held would wait out its lease).
            wait_for(lambda: b.control("GET", "callbacks")["delivered"] >= early, f"{early} early deliveries logged")
            assert [b.fetch(t) for t in task_ids] == [a.fetch(t) for t in task_ids]
            kill_9(a)

            finish_all(b, task_ids)  # the rest of every lifecycle, A's tasks included, happens on B alone
            check_each_delivered_once(receiver, expected, b)
            for task_id in task_ids:
                assert b.fetch(task_id)["status"] == "SUCCESS", (task_id, b.fetch(task_id))


def test_kill_9_mid_delivery_the_restarted_replica_hands_back_its_claims(
    fresh_store: str, receiver: HoldingReceiver
) -> None:
    """A replica killed while its callbacks are in flight: restarted on its port (as a supervisor does),
    it releases the dead one's claims at once, without waiting out their lease; the survivor and it
    deliver the rest. A callback the dead one had sent but not recorded may come again, with the same
    delivery id (at least once); after deduplication on that id nothing is missing or doubled."""
    with contextlib.ExitStack() as stack:
        try:
            replicas = stack.enter_context(running_replicas(fresh_store, 1))
        except StoreNotWired:
            pytest.skip(NOT_WIRED)
        with explained(replicas):
            a = replicas.a  # alone for now, so the callbacks in flight are surely its own
            task_ids = [a.imagine(f"caught mid-delivery {i}", receiver.url) for i in range(3)]
            plans = {task_id: a.plan(task_id) for task_id in task_ids}
            expected = {task_id: transitions(a, task_id) for task_id in task_ids}
            receiver.held.set()
            now = a.advance(15)["now"]
            # each task's transitions go one after the other: its first due one is held, the rest wait
            in_flight = sum(1 for plan in plans.values() if plan[1]["at"] <= now)
            assert in_flight == len(task_ids)
            wait_for(lambda: len(receiver.received) >= in_flight, f"{in_flight} callbacks in flight", timeout=30)
            kill_9(a)
            sent_before = {e["headers"]["x-mock-delivery-id"] for e in receiver.received}
            receiver.held.clear()

            # restarted on its port, A takes back the claims its predecessor held; B joins
            _, b = replicas.start("a-restarted", "b", port=a.port)
            finish_all(b, task_ids)
            total = sum(len(steps) for steps in expected.values())
            wait_for(lambda: len({i for i, *_ in delivered(receiver)}) >= total, f"{total} distinct callbacks")
            log = wait_for(
                lambda: (found := b.control("GET", "callbacks"))["delivered"] >= total and found,
                f"{total} deliveries in the callback log",
            )
            once: dict[str, tuple[str, str, str]] = {}
            for delivery_id, task_id, status, progress in delivered(receiver):
                assert once.setdefault(delivery_id, (task_id, status, progress)) == (task_id, status, progress)
            per_task: dict[str, list[tuple[str, str]]] = {}
            for delivery_id in sorted(once, key=lambda i: (i.rsplit(":", 1)[0], int(i.rsplit(":", 1)[1]))):
                task_id, status, progress = once[delivery_id]
                per_task.setdefault(task_id, []).append((status, progress))
            assert per_task == expected
            again = [i for i, n in Counter(i for i, *_ in delivered(receiver)).items() if n > 1]
            assert set(again) <= sent_before, again  # only what the dead replica had in flight comes twice
            assert (log["delivered"], log["failed"]) == (total, 0), log  # each recorded delivered once
            for task_id in task_ids:
                assert b.fetch(task_id)["status"] == "SUCCESS"


def test_kill_9_mid_delivery_the_survivor_takes_over_after_the_lease(
    fresh_store: str, receiver: HoldingReceiver
) -> None:
    """A replica killed while its callbacks are in flight and never restarted: the survivor takes its
    claims over once their lease (`--callback-lease`) has run out and delivers everything. Real time is
    the point here (a lease is wall time), so the lease is short and the wait has a wide margin."""
    lease = ("--callback-lease", "3", "--callback-timeout", "1", "--callback-retries", "1")
    with contextlib.ExitStack() as stack:
        try:
            replicas = stack.enter_context(running_replicas(fresh_store, 1, *lease))
        except StoreNotWired:
            pytest.skip(NOT_WIRED)
        if replicas.store in ("one-process", "workers"):
            pytest.skip("one process or one server's workers: there is no survivor to take over")
        with explained(replicas):
            a = replicas.a
            task_ids = [a.imagine(f"orphaned mid-delivery {i}", receiver.url) for i in range(2)]
            expected = {task_id: transitions(a, task_id) for task_id in task_ids}
            receiver.held.set()
            a.advance(15)
            wait_for(lambda: len(receiver.received) >= len(task_ids), "callbacks in flight on A", timeout=30)
            (b,) = replicas.start("b")
            kill_9(a)
            receiver.held.clear()
            finish_all(b, task_ids)
            total = sum(len(steps) for steps in expected.values())
            log = wait_for(
                lambda: (found := b.control("GET", "callbacks"))["delivered"] >= total and found,
                f"{total} deliveries in the callback log after the lease",
                timeout=45,
            )
            per_task: dict[str, list[tuple[str, str]]] = {}
            seen: set[str] = set()
            for delivery_id, task_id, status, progress in sorted(
                delivered(receiver), key=lambda d: (d[0].rsplit(":", 1)[0], int(d[0].rsplit(":", 1)[1]))
            ):
                if delivery_id not in seen:
                    seen.add(delivery_id)
                    per_task.setdefault(task_id, []).append((status, progress))
            assert per_task == expected  # nothing lost
            assert (log["delivered"], log["failed"]) == (total, 0), log
