"""The `callback_receiver` fixture: a live endpoint that records callbacks and waits for them."""

from __future__ import annotations

import threading

import httpx
import pytest

from pytest_plugin.callbacks import about_task, running_receiver


def test_receives_and_waits() -> None:
    with running_receiver() as receiver:
        assert receiver.url.startswith("http://127.0.0.1:")
        body = {"id": "1712", "status": "SUCCESS", "progress": "100%"}
        # Delivered from another thread while wait_for blocks.
        timer = threading.Timer(0.05, lambda: httpx.post(receiver.url, json=body))
        timer.start()
        got = receiver.wait_for("1712", status="success", timeout=5)
        timer.join()
        assert got["body"] == body and got["method"] == "POST"
        assert receiver.bodies == [body]


def test_timeout_lists_what_arrived() -> None:
    with running_receiver() as receiver:
        httpx.post(receiver.url, json={"data": {"task_id": "t-1", "status": "IN_PROGRESS"}})
        with pytest.raises(
            AssertionError, match=r"no callback for task 't-1' with status 'SUCCESS'.*task t-1 status IN_PROGRESS"
        ):
            receiver.wait_for("t-1", status="SUCCESS", timeout=0.2)


def test_refusing_receiver() -> None:
    with running_receiver() as receiver:
        receiver.status_code = 500
        assert httpx.post(receiver.url, json={"id": "x"}).status_code == 500
        assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("body", "task", "status", "expected"),
    [
        ({"id": "a", "status": "SUCCESS"}, "a", None, True),
        ({"id": "a", "status": "SUCCESS"}, "a", "failure", False),
        ({"code": 200, "data": {"task_id": "b", "status": "complete"}}, "b", "COMPLETE", True),
        ({"taskId": "c"}, "d", None, False),
        ("text", "a", None, False),
    ],
)
def test_about_task(body: object, task: str, status: str | None, expected: bool) -> None:
    assert about_task(body, task, status) is expected


def test_in_a_users_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, pytest

        def test_first(callback_receiver):
            httpx.post(callback_receiver.url, json={"id": "t1", "status": "SUCCESS"})
            assert callback_receiver.wait_for("t1", status="SUCCESS", timeout=2)["body"]["id"] == "t1"

        def test_emptied_between_tests(callback_receiver):
            assert callback_receiver.received == []

        def test_wrong_expectation(callback_receiver):
            callback_receiver.wait_for("never", timeout=0.1)
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*no callback for task 'never' within 0.1s*received: nothing*"])


def test_emulator_task_callbacks_live_and_in_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, pytest

        def submit(client_url, headers, hook):
            r = httpx.post(client_url + "/kling/v1/videos/text2video", headers=headers,
                           json={"prompt": "a cat surfing", "callback_url": hook})
            assert r.status_code == 200, r.text
            return r.json()["data"]["task_id"]

        @pytest.mark.parametrize("fixture", ["mockserver", "mockserver_respx"])
        def test_callback_after_advancing_the_clock(fixture, request, callback_receiver):
            emulator = request.getfixturevalue(fixture)
            task_id = submit(emulator.url, emulator.headers, callback_receiver.url)
            [task] = emulator.tasks
            assert task["id"] == task_id and task["status"] == "submitted"
            emulator.advance(600)  # the virtual clock: no sleeping for a video to render
            done = callback_receiver.wait_for(task_id, status="succeed", timeout=10)
            assert done["body"]["task_result"]["videos"]
            assert any(attempt["task"] == task_id and attempt["ok"] for attempt in emulator.callbacks)
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
