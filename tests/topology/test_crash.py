"""`kill -9` one replica mid-lifecycle: the other finishes every task (its own and the dead one's) and
delivers every callback transition; none is lost and none is delivered twice."""

from __future__ import annotations

import contextlib

import pytest

from pytest_plugin.callbacks import CallbackReceiver
from tests.topology.replicas import NOT_WIRED, StoreNotWired, explained, kill_9, running_replicas, wait_for
from tests.topology.test_shared_tasks import check_each_delivered_once, finish_all, transitions

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
