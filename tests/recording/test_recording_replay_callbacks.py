"""Replaying recorded task callbacks: paced by `--replay-speed` on a fake clock, URLs swapped, a dead receiver
only logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import orjson
import pytest

from mockserver.recording import Interaction, RecordedRequest, RecordedResponse
from mockserver.recording import replay as replay_module
from mockserver.recording.replay import callback_url, deliver_callbacks
from mockserver.testing import ThreadedServer, free_port, serve_in_thread
from tests.fake_time import FakeTime
from tests.recording.recording_helpers import CallbackReceiver

RECORDED_HOOK = "https://client.example/hook"


@pytest.fixture
def hook() -> Iterator[tuple[CallbackReceiver, ThreadedServer]]:
    receiver = CallbackReceiver()
    with serve_in_thread(receiver.app) as server:
        yield receiver, server


def callback(status: str, after: float) -> Interaction:
    body = orjson.dumps({"id": "t1", "status": status, "properties": {"notifyHook": RECORDED_HOOK}})
    request = RecordedRequest("POST", RECORDED_HOOK, {"content-type": ["application/json"]}, body)
    return Interaction(request, RecordedResponse(200, {}, b""), kind="callback", after=after)


def submit(hook_url: str | None) -> RecordedRequest:
    body = orjson.dumps({"prompt": "a cat"} if hook_url is None else {"prompt": "a cat", "notifyHook": hook_url})
    return RecordedRequest("POST", "https://api.yescale.io/mj/submit/imagine", {}, body)


CALLBACKS = [
    callback("SUBMITTED", 0.0),
    callback("IN_PROGRESS", 4.0),
    callback("IN_PROGRESS", 4.0),
    callback("SUCCESS", 10.0),
]


def test_callbacks_keep_their_recorded_pace_scaled_and_go_to_the_new_url(
    hook: tuple[CallbackReceiver, ThreadedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, server = hook
    fake = FakeTime()
    monkeypatch.setattr(replay_module, "asyncio", fake.asyncio_module())
    new_hook = server.url + "/hook"
    asyncio.run(deliver_callbacks(CALLBACKS, submit(RECORDED_HOOK), submit(new_hook), speed=2.0))
    assert fake.naps == [2.0, 3.0]  # 4 s then 6 s of recorded gaps, twice as fast; none for equal times
    assert [b["status"] for b in receiver.received] == ["SUBMITTED", "IN_PROGRESS", "IN_PROGRESS", "SUCCESS"]
    assert all(b["properties"]["notifyHook"] == new_hook for b in receiver.received)


def test_without_a_recorded_url_the_bodies_go_out_unchanged(hook: tuple[CallbackReceiver, ThreadedServer]) -> None:
    receiver, server = hook
    asyncio.run(deliver_callbacks(CALLBACKS[-1:], submit(None), submit(server.url + "/hook"), speed=0.0))
    assert receiver.received == [orjson.loads(CALLBACKS[-1].request.body or b"")]


def test_nothing_is_sent_without_a_url_to_send_to(hook: tuple[CallbackReceiver, ThreadedServer]) -> None:
    receiver, _ = hook
    asyncio.run(deliver_callbacks(CALLBACKS, submit(RECORDED_HOOK), submit(None), speed=0.0))
    assert receiver.received == []


def test_a_receiver_that_is_down_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"
    with caplog.at_level(logging.WARNING, logger="mockserver.recording"):
        asyncio.run(deliver_callbacks(CALLBACKS[:2], submit(RECORDED_HOOK), submit(dead), speed=0.0))
    failures = [r.getMessage() for r in caplog.records if "replayed callback" in r.getMessage()]
    assert len(failures) == 2 and all(dead in message for message in failures)


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b'{"notifyHook": "http://h/x"}', ("notifyHook", "http://h/x")),
        (b'{"callback_url": "https://h/y", "x": 1}', ("callback_url", "https://h/y")),
        (b'{"webhook": "https://h/y"}', None),
        (b'{"notifyHook": "ftp://h/x"}', None),
        (b'{"notifyHook": 5}', None),
        (b"{not json", None),
        (b'["notifyHook", "http://h/x"]', None),
        (b"", None),
        (None, None),
    ],
)
def test_where_a_request_asks_for_callbacks(body: bytes | None, found: tuple[str, str] | None) -> None:
    assert callback_url(body) == found
