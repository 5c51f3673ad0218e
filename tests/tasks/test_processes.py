"""Real server processes on one sqlite store: tasks survive a restart, and two processes agree on every
task, share the worker pool and the clock, and deliver each callback transition exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.tasks.helpers import START, ServerProcess, running_receiver, server_process

PUBLIC = "http://mj.emulator.test"


def store_args(path: Path, *extra: str) -> tuple[str, ...]:
    """Every process on the store answers with the same public URL, as replicas behind one address do."""
    return ("--store", f"sqlite:///{path}", "--speed", "0", "--start-time", str(START), "--public-url", PUBLIC, *extra)


def imagine(server: ServerProcess, prompt: str, hook: str = "") -> dict[str, object]:
    body = {"prompt": prompt, "botType": "MID_JOURNEY", "notifyHook": hook, "state": "", "base64Array": []}
    response = server.http.post("/mj/submit/imagine", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_tasks_and_clock_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "tasks.db"
    with server_process(*store_args(db)) as first:
        task_id = str(imagine(first, "lighthouse at dusk")["result"])
        first.http.post("/__mock/clock/advance", json={"seconds": 12})
        before = first.http.get(f"/mj/task/{task_id}/fetch").json()
        plan = first.http.get(f"/__mock/tasks/{task_id}").json()["plan"]
    assert before["status"] in ("SUBMITTED", "IN_PROGRESS")
    with server_process(*store_args(db)) as second:
        clock = second.http.get("/__mock/clock").json()
        assert clock["now"] == START + 12 and clock["shared"] is True
        assert second.http.get(f"/mj/task/{task_id}/fetch").json() == before
        second.http.post("/__mock/clock/advance", json={"seconds": plan[-1]["after_seconds"]})
        after = second.http.get(f"/mj/task/{task_id}/fetch").json()
        assert after["status"] == "SUCCESS" and len(after["buttons"]) == 9
        image = second.http.get(f"/mj/image/{task_id}")
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_two_processes_share_tasks_pool_clock_and_deliver_each_callback_once(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    with (
        running_receiver() as receiver,
        server_process(*store_args(db)) as a,
        server_process(*store_args(db)) as b,
    ):
        servers = [a, b, a, b, a, b]
        answers = [imagine(s, "a red fox" if i < 2 else f"fox {i}", receiver.url) for i, s in enumerate(servers)]
        ids = [str(answer["result"]) for answer in answers]
        assert len(set(ids)) == 6, ids  # the same prompt on both processes still gets two ids
        # one worker pool of 3 (+10 waiting) for both processes: the 5th and 6th wait behind others
        # (midjourney-proxy's 22, rewritten to 1 by the gateway: the queue shows in numberOfQueues)
        assert [answer["code"] for answer in answers] == [1, 1, 1, 1, 1, 1]
        assert [answer["properties"].get("numberOfQueues") for answer in answers[4:]] == [1, 2]  # type: ignore[union-attr]

        plans = {task_id: a.http.get(f"/__mock/tasks/{task_id}").json()["plan"] for task_id in ids}
        b.http.post("/__mock/clock/advance", json={"seconds": 400})  # moves A's clock too
        assert a.http.get("/__mock/clock").json()["now"] == b.http.get("/__mock/clock").json()["now"] == START + 400
        expected = {
            task_id: [(s["status"], "100%" if s["status"] == "SUCCESS" else f"{s['progress']}%") for s in plan[1:]]
            for task_id, plan in plans.items()
        }
        total = sum(len(v) for v in expected.values())
        bodies = receiver.wait_until(lambda got: len(got) >= total, timeout=30)
        received: dict[str, list[tuple[str, str]]] = {}
        for body in bodies:
            received.setdefault(body["id"], []).append((body["status"], body["progress"]))
        assert received == expected
        counts = Counter((body["id"], body["status"], body["progress"]) for body in receiver.bodies)
        assert max(counts.values()) == 1
        for task_id in ids:
            seen_by_a = a.http.get(f"/mj/task/{task_id}/fetch").json()
            assert seen_by_a == b.http.get(f"/mj/task/{task_id}/fetch").json()
            assert seen_by_a["status"] == "SUCCESS"
        log_a, log_b = a.http.get("/__mock/callbacks").json(), b.http.get("/__mock/callbacks").json()
        assert log_a["delivered"] == log_b["delivered"] == total and log_a["failed"] == 0
        assert len(log_a["callbacks"]) == total
