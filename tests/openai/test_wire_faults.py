"""Wire faults behave like the network: through the official SDKs, plain httpx and raw sockets, live and in-process."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from mockserver.testing import ThreadedServer

# A stream dropped part way: recent openai SDKs wrap the transport's error in APIConnectionError; older
# 3.x releases (the one instructor's pins resolve to, for one) let httpx2's own error through.
STREAM_DROPPED = (openai.APIConnectionError, httpx2.RemoteProtocolError)


def transport_error(err: BaseException) -> BaseException | None:
    """The HTTP stack's error behind what the SDK raised."""
    return err if isinstance(err, httpx2.HTTPError) else err.__cause__


CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "tell me a long story please"}]}
KEY = "sk-test"


@pytest.fixture
def faults(live: ThreadedServer) -> Iterator[Any]:
    def add(**rule: Any) -> None:
        httpx.post(live.url + "/__mock/faults", json=rule).raise_for_status()

    yield add
    httpx.delete(live.url + "/__mock/faults")


def raw_exchange(server: ThreadedServer, path: str, body: dict[str, Any]) -> tuple[bytes, list[float]]:
    """What a curl-like client reads from a raw socket until the server closes: bytes and arrival times."""
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    received, times = b"", []
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode() + data)
        while piece := sock.recv(65536):
            received += piece
            times.append(time.monotonic() - started)
    return received, times


def test_stream_cut_closes_without_the_terminating_chunk(live: ThreadedServer, faults: Any, caplog: Any) -> None:
    faults(operation="chat_completions", stream_cut_after=2)
    with caplog.at_level(logging.WARNING):
        raw, _ = raw_exchange(live, "/v1/chat/completions", {**CHAT, "stream": True})
    assert b"transfer-encoding: chunked" in raw.lower()
    assert raw.count(b"data: {") == 2 and b"[DONE]" not in raw
    assert not raw.endswith(b"0\r\n\r\n")  # the chunked body never ends
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]  # deliberate: nothing logged

    sdk = openai.OpenAI(base_url=live.url + "/v1", api_key=KEY, max_retries=0)
    seen = []
    with pytest.raises(STREAM_DROPPED) as info:
        for event in sdk.chat.completions.create(**CHAT, stream=True):
            seen.append(event)
    assert len(seen) == 2 and isinstance(transport_error(info.value), httpx2.RemoteProtocolError)
    assert "incomplete chunked read" in str(transport_error(info.value))

    with (
        httpx.stream(
            "POST",
            live.url + "/v1/chat/completions",
            json={**CHAT, "stream": True},
            headers={"Authorization": f"Bearer {KEY}"},
        ) as response,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        response.read()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_sees_the_cut_and_the_reset(live: ThreadedServer, faults: Any) -> None:
    def curl(body: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        args = ["curl", "-sS", "-N", live.url + "/v1/chat/completions", "-H", f"Authorization: Bearer {KEY}"]
        args += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        return subprocess.run(args, capture_output=True, text=True, timeout=60)

    faults(operation="chat_completions", stream_cut_after=2, times=1)
    cut = curl({**CHAT, "stream": True})
    assert cut.returncode == 18 and cut.stdout.count("data: {") == 2  # "transfer closed with outstanding read data"
    faults(operation="chat_completions", reset=True, times=1)
    assert curl(CHAT).returncode == 52  # "Empty reply from server"


def test_stream_cut_through_anthropic_sdk(live: ThreadedServer, faults: Any) -> None:
    faults(operation="claude_messages", stream_cut_after=3)
    client = anthropic.Anthropic(base_url=live.url, api_key=KEY, max_retries=0)
    events = []
    with (
        pytest.raises(anthropic.APIConnectionError) as info,
        client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "Hi there"}]
        ) as stream,
    ):
        for event in stream:
            events.append(event.type)
    assert events[:1] == ["message_start"] and isinstance(info.value.__cause__, httpx2.RemoteProtocolError)


def test_stream_cut_on_a_plain_answer_truncates_the_body(live: ThreadedServer, faults: Any) -> None:
    faults(operation="chat_completions", stream_cut_after=0)
    raw, _ = raw_exchange(live, "/v1/chat/completions", CHAT)
    head, _, body = raw.partition(b"\r\n\r\n")
    declared = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1]
    )
    assert 0 < len(body) < declared
    sdk = openai.OpenAI(base_url=live.url + "/v1", api_key=KEY, max_retries=1)
    with pytest.raises(openai.APIConnectionError):
        sdk.chat.completions.create(**CHAT)


def test_reset_closes_before_any_byte(live: ThreadedServer, faults: Any) -> None:
    faults(operation="chat_completions", reset=True)
    raw, _ = raw_exchange(live, "/v1/chat/completions", CHAT)
    assert raw == b""
    sdk = openai.OpenAI(base_url=live.url + "/v1", api_key=KEY, max_retries=2)
    with pytest.raises(openai.APIConnectionError) as info:
        sdk.chat.completions.create(**CHAT)
    assert "without sending a response" in str(info.value.__cause__)
    journal = httpx.get(live.url + "/__mock/requests").json()["requests"]
    assert len([r for r in journal if r["operation"] == "chat_completions"]) == 4  # raw + 1 try + 2 retries


def test_malformed_breaks_one_event_or_the_json_body(live: ThreadedServer, faults: Any) -> None:
    faults(operation="chat_completions", malformed=1)
    raw, _ = raw_exchange(live, "/v1/chat/completions", {**CHAT, "stream": True})
    events = [line[6:] for line in raw.split(b"\n") if line.startswith(b"data: {")]
    json.loads(events[0])
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[1])
    assert raw.endswith(b"0\r\n\r\n") and b"data: [DONE]" in raw  # the stream itself goes on and ends
    sdk = openai.OpenAI(base_url=live.url + "/v1", api_key=KEY, max_retries=0)
    with pytest.raises(json.JSONDecodeError):
        list(sdk.chat.completions.create(**CHAT, stream=True))
    httpx.delete(live.url + "/__mock/faults")
    faults(operation="chat_completions", malformed=True)
    plain = httpx.post(live.url + "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {KEY}"})
    assert plain.status_code == 200 and plain.headers["content-length"] == str(len(plain.content))
    with pytest.raises(json.JSONDecodeError):
        plain.json()


def test_ttfb_and_stalls_delay_the_bytes(live: ThreadedServer, faults: Any) -> None:
    # Real time is the point here: only lower bounds, which hold however busy the machine is.
    faults(operation="chat_completions", ttfb_ms=300, stall_ms=150, stream_cut_after=3)
    raw, times = raw_exchange(live, "/v1/chat/completions", {**CHAT, "stream": True})
    assert times[0] >= 0.29
    assert times[-1] >= 0.29 + 2 * 0.15  # three events, two stalls between them
    assert raw.count(b"data: {") == 3
    sdk = openai.OpenAI(base_url=live.url + "/v1", api_key=KEY, max_retries=0, timeout=httpx2.Timeout(5, read=0.1))
    with pytest.raises(openai.APITimeoutError):
        sdk.chat.completions.create(**CHAT)


def test_faults_in_process_raise_the_http_stacks_errors(mockserver_respx: Any) -> None:
    mockserver_respx.fault(operation="chat_completions", stream_cut_after=2)
    sdk = openai.OpenAI(base_url="https://api.yescale.io/v1", api_key=KEY, max_retries=0)
    seen = []
    with pytest.raises(STREAM_DROPPED) as info:
        for event in sdk.chat.completions.create(**CHAT, stream=True):
            seen.append(event)
    assert len(seen) == 2 and isinstance(transport_error(info.value), httpx2.RemoteProtocolError)
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        httpx.post(
            "https://api.yescale.io/v1/chat/completions",
            json={**CHAT, "stream": True},
            headers={"Authorization": f"Bearer {KEY}"},
        )
    mockserver_respx.reset()
    mockserver_respx.fault(operation="chat_completions", reset=True)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        httpx.post("https://api.yescale.io/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {KEY}"})
    with pytest.raises(httpx2.RemoteProtocolError):
        httpx2.post("https://api.yescale.io/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {KEY}"})
    with pytest.raises(openai.APIConnectionError):
        sdk.chat.completions.create(**CHAT)
    mockserver_respx.fault(operation="claude_messages", stream_cut_after=2)
    claude = anthropic.Anthropic(base_url="https://api.yescale.io", api_key=KEY, max_retries=0)
    with (
        pytest.raises(anthropic.APIConnectionError) as info,
        claude.messages.stream(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "Hi there"}]
        ) as stream,
    ):
        for _ in stream:
            pass
    assert isinstance(info.value.__cause__, httpx2.RemoteProtocolError)


@pytest.mark.anyio
async def test_faults_in_process_async(mockserver_respx: Any) -> None:
    mockserver_respx.fault(operation="chat_completions", stream_cut_after=1)
    sdk = openai.AsyncOpenAI(base_url="https://api.yescale.io/v1", api_key=KEY, max_retries=0)
    seen = []
    with pytest.raises(STREAM_DROPPED):
        async for event in await sdk.chat.completions.create(**CHAT, stream=True):
            seen.append(event)
    assert len(seen) == 1
