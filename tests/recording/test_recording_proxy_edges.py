"""The recording proxy when things go wrong: an upstream that breaks off a stream, a callback receiver that is
down, callbacks to tokens it never handed out, callback URLs written with escaped slashes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from mockserver.recording import load_cassette
from mockserver.recording.proxy import CALLBACK_PATH
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, free_port, serve_in_thread
from tests.recording.recording_helpers import CallbackReceiver, FakeGateway, LiveProxy, wait_for

StartProxy = Callable[..., LiveProxy]


def breaking_upstream() -> Starlette:
    """An upstream whose chat stream sends two events and then drops the connection."""

    async def chat(request: Request) -> StreamingResponse:
        await request.body()

        async def events() -> AsyncIterator[bytes]:
            yield b'data: {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\n'
            yield b'data: {"id": "c", "choices": [{"index": 0, "delta": {"content": "lo"}}]}\n\n'
            raise RuntimeError("upstream fell over")

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def test_a_stream_the_upstream_breaks_off_is_recorded_as_incomplete(tmp_path: Path, start_proxy: StartProxy) -> None:
    with serve_in_thread(breaking_upstream()) as upstream:
        proxy = start_proxy(Settings(upstream=upstream.url, cassettes=str(tmp_path), record_mode="all"))
        body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        with httpx.Client(timeout=10) as client:
            try:
                received = client.post(proxy.url + "/v1/chat/completions", json=body).content
            except httpx.RemoteProtocolError:
                received = b""  # the client may see the connection dropped, as it would from the upstream
        assert wait_for(lambda: (tmp_path / "recorded.yaml").exists())
    (item,) = load_cassette(tmp_path / "recorded.yaml").interactions
    assert item.response.incomplete
    assert item.response.body.count(b"data: ") == 2 and b"[DONE]" not in item.response.body
    assert received in (b"", item.response.body) or item.response.body.startswith(received)


def test_a_callback_receiver_that_is_down_is_recorded_as_a_502(
    tmp_path: Path, live_gateway: ThreadedServer, start_proxy: StartProxy
) -> None:
    dead_hook = f"http://127.0.0.1:{free_port()}/hook"
    proxy = start_proxy(Settings(upstream=live_gateway.url, cassettes=str(tmp_path), record_mode="all"))
    answer = httpx.post(proxy.url + "/mj/submit/imagine", json={"prompt": "a cat", "notifyHook": dead_hook})
    assert answer.status_code == 200 and answer.json()["properties"]["notifyHook"] == dead_hook
    path = tmp_path / "recorded.yaml"
    assert wait_for(lambda: path.exists() and len(load_cassette(path).interactions) == 4)
    submit, *callbacks = load_cassette(path).interactions
    assert submit.request.path == "/mj/submit/imagine" and [c.callback_of for c in callbacks] == [0, 0, 0]
    for callback in callbacks:
        assert callback.request.uri == dead_hook and callback.response.status == 502
        assert f"callback receiver {dead_hook} did not answer" in callback.response.body.decode()


def test_a_callback_to_an_unknown_token_is_refused(
    tmp_path: Path, live_gateway: ThreadedServer, start_proxy: StartProxy
) -> None:
    proxy = start_proxy(Settings(upstream=live_gateway.url, cassettes=str(tmp_path), record_mode="all"))
    refused = httpx.post(proxy.url + CALLBACK_PATH + "not-a-token", json={"id": "t", "status": "SUCCESS"})
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "unknown_callback" and "not-a-token" in refused.json()["error"]["message"]


def test_a_callback_url_with_escaped_slashes_is_still_captured(
    tmp_path: Path,
    gateway: FakeGateway,
    live_gateway: ThreadedServer,
    receiver: tuple[CallbackReceiver, ThreadedServer],
    start_proxy: StartProxy,
) -> None:
    rec, rec_server = receiver
    hook = rec_server.url + "/hook"
    proxy = start_proxy(Settings(upstream=live_gateway.url, cassettes=str(tmp_path), record_mode="all"))
    raw = b'{"prompt": "a fox", "notifyHook": "' + hook.replace("/", "\\/").encode() + b'"}'
    answer = httpx.post(proxy.url + "/mj/submit/imagine", content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 200
    assert rec.done.wait(10)
    assert [b["status"] for b in rec.received] == ["SUBMITTED", "IN_PROGRESS", "SUCCESS"]
    path = tmp_path / "recorded.yaml"
    assert wait_for(lambda: path.exists() and len(load_cassette(path).interactions) == 4)
    submit = load_cassette(path).interactions[0]
    assert orjson.loads(submit.request.body or b"")["notifyHook"] == hook  # the client's URL, not the proxy's
