"""Two replicas on one store answer the control API as one emulator: faults (with `times` counted once
across both), stubs, the journal, the clock and reset, whichever replica is written to or read."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.topology.replicas import START, Replica, Replicas

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

FAULT = {"operation": "chat_completions", "status": 500, "times": 5}


def the_fault(replica: Replica, fault_id: str) -> dict[str, Any]:
    faults = replica.control("GET", "faults")["faults"]
    found = [f for f in faults if f["id"] == fault_id]
    assert found, f"{replica.name} does not list fault {fault_id}: {faults}"
    fault: dict[str, Any] = found[0]
    return fault


def test_a_fault_posted_to_a_fails_exactly_times_calls_across_both(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    fault_id = a.control("POST", "faults", FAULT)["id"]
    statuses = [(a if i % 2 == 0 else b).chat(f"fault round {i}").status_code for i in range(20)]
    failed = [i for i, status in enumerate(statuses) if status == 500]
    # the first five calls, whichever replica took them; then the fault is spent everywhere
    assert failed == [0, 1, 2, 3, 4], statuses
    assert set(statuses[5:]) == {200}, statuses
    assert the_fault(b, fault_id)["hits"] == 5
    assert the_fault(a, fault_id)["hits"] == 5


def test_concurrent_calls_on_both_never_exceed_times(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    fault_id = a.control("POST", "faults", {**FAULT, "times": 7})["id"]
    statuses: list[int] = []
    lock = threading.Lock()

    def hammer(replica: Replica, worker: int) -> None:
        for i in range(10):
            status = replica.chat(f"concurrent {worker}-{i}").status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=hammer, args=(r, n)) for n, r in enumerate([a, b, a, b])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=45)
    assert len(statuses) == 40 and set(statuses) <= {200, 500}, statuses
    assert statuses.count(500) == 7, statuses  # 40 calls for 7 failures: exactly 7 fire, never 8
    assert the_fault(a, fault_id)["hits"] == the_fault(b, fault_id)["hits"] == 7


def test_a_stub_posted_on_b_answers_on_a_until_deleted_on_a(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    stub = b.control(
        "POST", "stubs", {"operation": "chat_completions", "body_regex": "lighthouse", "content": "Stubbed on B."}
    )
    answer = a.chat("tell me about the lighthouse")
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "Stubbed on B."
    assert [s["id"] for s in a.control("GET", "stubs")["stubs"]] == [stub["id"]]

    assert a.control("DELETE", f"stubs/{stub['id']}") == {"deleted": stub["id"]}
    assert b.control("GET", "stubs")["stubs"] == []
    after = b.chat("tell me about the lighthouse")
    assert after.status_code == 200, after.text
    assert after.json()["choices"][0]["message"]["content"] != "Stubbed on B."


def chat_entries(replica: Replica) -> list[tuple[Any, str]]:
    """(id, prompt) of every journaled chat call, oldest first."""
    entries = replica.control("GET", "requests")["requests"]
    return [(e["id"], e["body"]["messages"][0]["content"]) for e in entries if e["operation"] == "chat_completions"]


def test_the_journal_read_on_either_holds_every_request_once_in_order(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    sent = [f"journal entry {i}" for i in range(12)]
    for i, prompt in enumerate(sent):
        assert (a if i % 2 == 0 else b).chat(prompt).status_code == 200
    seen_on_a, seen_on_b = chat_entries(a), chat_entries(b)
    assert [prompt for _, prompt in seen_on_a] == sent
    assert seen_on_b == seen_on_a  # the same entries, ids included
    ids = [entry_id for entry_id, _ in seen_on_a]
    assert len(set(ids)) == len(ids), ids

    assert b.control("DELETE", "requests") == {"deleted": True}
    assert a.control("GET", "requests")["count"] == 0
    assert b.control("GET", "requests")["count"] == 0


def test_a_clock_advance_on_a_is_seen_by_b(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    assert b.clock()["now"] == START
    a.advance(123.5)
    seen = b.clock()
    assert (seen["now"], seen["offset"]) == (START + 123.5, 123.5)
    b.advance(0.5)
    assert a.clock()["now"] == START + 124.0


def test_reset_on_b_clears_what_a_shows(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    a.control("POST", "faults", {"path": "/v1/embeddings", "status": 503})
    a.control("POST", "stubs", {"operation": "chat_completions", "content": "stub"})
    assert a.chat("before the reset").status_code == 200
    task_id = a.imagine("a reset lighthouse")
    a.advance(30)

    assert b.control("POST", "reset") == {"reset": True}
    assert a.control("GET", "faults")["faults"] == []
    assert a.control("GET", "stubs")["stubs"] == []
    assert a.control("GET", "requests")["count"] == 0
    assert (a.clock()["now"], a.clock()["offset"]) == (START, 0)
    assert a.control("GET", "tasks")["count"] == 0
    assert a.get(f"/__mock/tasks/{task_id}").status_code == 404
