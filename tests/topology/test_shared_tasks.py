"""Two replicas on one store share tasks, ids, answers and callbacks: a task submitted on A is fetched and
finished on B, ids never collide, the same calls give the same bytes whichever replica serves them, and
each callback transition is delivered once in total."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from pytest_plugin.callbacks import CallbackReceiver
from tests.topology.replicas import Replica, Replicas, chat_body, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def finish_all(replica: Replica, task_ids: list[str]) -> None:
    """Advance the shared clock (through `replica`) past the last planned step of every task."""
    last = max(replica.plan(task_id)[-1]["at"] for task_id in task_ids)
    now = replica.clock()["now"]
    if last > now:
        replica.advance(last - now + 0.001)


def test_a_task_submitted_on_a_is_fetched_on_b_and_finishes_there(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    task_id = a.imagine("a lighthouse on a cliff")
    assert b.fetch(task_id) == a.fetch(task_id)
    assert b.control("GET", f"tasks/{task_id}")["plan"] == a.plan(task_id)
    assert b.fetch(task_id)["status"] in ("SUBMITTED", "IN_PROGRESS", "NOT_START")
    finish_all(a, [task_id])
    done = b.fetch(task_id)
    assert done["status"] == "SUCCESS" and done["progress"] == "100%", done
    assert done == a.fetch(task_id)
    image = b.get(f"/mj/image/{task_id}")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_task_ids_never_collide_when_both_submit_at_once(replicas: Replicas) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def submit(replica: Replica) -> None:
        for _ in range(5):  # the same prompt everywhere: ids drawn alike must still differ
            task_id = replica.imagine("the same prompt on both")
            with lock:
                ids.append(task_id)

    threads = [threading.Thread(target=submit, args=(r,)) for r in (replicas.a, replicas.b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=45)
    assert len(ids) == 10 and len(set(ids)) == 10, ids
    listed = {t["id"] for t in replicas.b.control("GET", "tasks")["tasks"]}
    assert listed == set(ids)


def test_the_same_chat_calls_give_the_same_bytes_on_either_replica(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    body = chat_body("the same question, twice")
    first_run = [a.post("/v1/chat/completions", body).content for _ in range(2)]
    assert first_run[0] != first_run[1]  # a repeated call is a new answer (the repeat counter)
    b.control("POST", "reset")
    second_run = [r.post("/v1/chat/completions", body).content for r in (a, b)]
    assert second_run == first_run


def test_the_same_imagine_calls_give_the_same_ids_on_either_replica(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    first_run = [a.imagine("a seeded lighthouse") for _ in range(3)]
    a.control("POST", "reset")
    second_run = [r.imagine("a seeded lighthouse") for r in (b, a, b)]
    assert second_run == first_run


def transitions(replica: Replica, task_id: str) -> list[tuple[str, str]]:
    """(status, progress) of each callback the task's plan promises after its submission."""
    return [
        (s["status"], "100%" if s["status"] == "SUCCESS" else f"{s['progress']}%") for s in replica.plan(task_id)[1:]
    ]


def delivered(receiver: CallbackReceiver) -> list[tuple[str, str, str, str]]:
    """(delivery id, task, status, progress) of every callback received."""
    return [
        (e["headers"].get("x-mock-delivery-id", ""), e["body"]["id"], e["body"]["status"], e["body"]["progress"])
        for e in receiver.received
    ]


def check_each_delivered_once(
    receiver: CallbackReceiver, expected: dict[str, list[tuple[str, str]]], checker: Replica
) -> None:
    """Every promised transition arrives, in order per task, once; the log agrees (no extra attempt)."""
    total = sum(len(steps) for steps in expected.values())
    wait_for(lambda: len(receiver.received) >= total, f"{total} callbacks at the receiver", timeout=30)
    log = wait_for(
        lambda: (found := checker.control("GET", "callbacks"))["delivered"] >= total and found,
        f"{total} deliveries in the callback log",
    )
    got = delivered(receiver)
    per_task: dict[str, list[tuple[str, str]]] = {}
    for _, task_id, status, progress in got:
        per_task.setdefault(task_id, []).append((status, progress))
    assert per_task == expected
    ids = Counter(delivery_id for delivery_id, *_ in got)
    assert all(ids) and max(ids.values()) == 1, ids
    assert (log["attempts"], log["delivered"], log["failed"]) == (total, total, 0), log


def test_each_callback_is_delivered_once_and_both_show_the_same_log(
    replicas: Replicas, receiver: CallbackReceiver
) -> None:
    a, b = replicas.a, replicas.b
    task_ids = [r.imagine(f"a callback lighthouse {i}", receiver.url) for i, r in enumerate([a, b, a, b])]
    expected = {task_id: transitions(a, task_id) for task_id in task_ids}
    a.advance(5)  # the first transitions fall due, then the rest
    finish_all(a, task_ids)
    check_each_delivered_once(receiver, expected, b)
    log_a, log_b = a.control("GET", "callbacks"), b.control("GET", "callbacks")
    assert log_a == log_b
    logged: dict[str, Any] = {}
    for entry in log_a["callbacks"]:
        logged.setdefault(entry["task"], []).append(entry)
    assert {task_id: len(entries) for task_id, entries in logged.items()} == {
        task_id: len(steps) for task_id, steps in expected.items()
    }
