"""What the plugin's fixtures hand a test: the `Emulator` control client over the network, and the contract
checker's messages for stream events and long lists of problems."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, serve_in_thread
from pytest_plugin.checks import ContractChecker
from pytest_plugin.control import ControlError, Emulator, urllib_sender


@pytest.fixture(scope="module")
def served() -> Iterator[ThreadedServer]:
    with serve_in_thread(create_app(Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0))) as s:
        yield s


@pytest.fixture
def emulator(served: ThreadedServer) -> Emulator:
    client = Emulator(served.url, "sk-test", urllib_sender(served.url))
    client.reset()
    return client


def test_tasks_and_callbacks_through_the_control_client(emulator: Emulator) -> None:
    import httpx

    submitted = httpx.post(
        emulator.url + "/mj/submit/imagine",
        json={"prompt": "a cat", "botType": "MID_JOURNEY"},
        headers=emulator.headers,
    ).json()
    task_id = submitted["result"]
    assert [t["id"] for t in emulator.tasks] == [task_id]
    assert emulator.task(task_id)["id"] == task_id
    assert emulator.callbacks == []  # no notifyHook, no deliveries
    with pytest.raises(ControlError, match=r"GET /__mock/tasks/nope answered 404"):
        emulator.task("nope")


def test_a_control_answer_that_is_not_json_is_shown_as_text() -> None:
    async def teapot(request: Any) -> PlainTextResponse:
        return PlainTextResponse("I'm a teapot", status_code=418)

    with serve_in_thread(Starlette(routes=[Route("/__mock/reset", teapot, methods=["POST"])])) as server:
        emulator = Emulator(server.url, "sk", urllib_sender(server.url))
        with pytest.raises(ControlError, match="POST /__mock/reset answered 418: I'm a teapot"):
            emulator.reset()


def test_an_unexpected_listing_is_a_clear_control_error() -> None:
    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        return 200, {"something": "else"} if path.endswith("tasks") else [{"id": "r1"}]

    emulator = Emulator("http://127.0.0.1:1/", "sk", send)
    assert emulator.requests == [{"id": "r1"}] and repr(emulator) == "<Emulator http://127.0.0.1:1>"
    with pytest.raises(ControlError, match="unexpected answer from /__mock/tasks"):
        _ = emulator.tasks


@pytest.fixture(scope="module")
def checker() -> ContractChecker:
    return ContractChecker()


def test_the_checker_lists_operations_and_checks_stream_events(checker: ContractChecker) -> None:
    assert "chat_completions" in checker.operations and checker.operations == sorted(checker.operations)
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
    }
    checker.validate_event("chat_completions", None, chunk)
    with pytest.raises(AssertionError, match=r"chat_completions stream event message does not conform") as info:
        checker.validate_event("chat_completions", "message", {**chunk, "created": "now"})
    assert "created:" in str(info.value)
    assert checker.is_valid_response("chat_completions", 400, {"error": {"message": "no", "type": "t"}})
    assert not checker.is_valid_response("chat_completions", 400, {})


def test_a_long_list_of_problems_is_cut_at_twenty(checker: ContractChecker) -> None:
    body = {"model": "gpt-4o", "messages": [{"content": "no role"}] * 25}
    with pytest.raises(AssertionError) as info:
        checker.validate_request("chat_completions", body)
    text = str(info.value)
    assert "(75 problems):" in text  # three per message: one per kind it could be
    assert text.count("\n  messages[") == 20 and text.endswith("... and 55 more")
