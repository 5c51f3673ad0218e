"""The recording proxy against live upstreams: pass-through streaming, bodies, tasks, callbacks, secrets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest

from mockserver.app import create_app
from mockserver.contracts import Contracts
from mockserver.recording import create_replay_app, load_cassette
from mockserver.recording import replay as replay_module
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, serve_in_thread
from tests.fake_time import FakeTime
from tests.recording.recording_helpers import JSON, CallbackReceiver, FakeGateway, LiveProxy, call, chat_body, wait_for

StartProxy = Callable[..., LiveProxy]
AUTH = {"Authorization": "Bearer sk-test0123456789abcdefgh"}


def test_records_the_emulator_and_replays_it_without_the_upstream(
    tmp_path: Path, start_proxy: StartProxy, test_contracts: Contracts
) -> None:
    cassette = tmp_path / "emulator.yaml"
    emulator = create_app(Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0))
    with serve_in_thread(emulator) as upstream:
        proxy = start_proxy(Settings(upstream=upstream.url, cassettes=str(cassette), record_mode="all"))
        with httpx.Client(base_url=proxy.url, headers=AUTH) as client:
            models = client.get("/v1/models")
            unknown = client.post("/v1/no-such-thing", json={"x": 1})
    assert models.status_code == 200 and unknown.status_code == 404
    recorded = load_cassette(cassette)
    assert [i.operation for i in recorded] == ["models_list", None]
    assert recorded.interactions[0].request.uri == f"{upstream.url}/v1/models"
    assert recorded.interactions[0].response.body == models.content
    assert "host" not in {k.lower() for k in recorded.interactions[0].request.headers}
    # The upstream is gone; the replay answers byte for byte.
    replay = create_replay_app(Settings(cassettes=str(tmp_path)), contracts=test_contracts)
    again = call(replay, "GET", "/v1/models", headers=AUTH)
    assert again.status == 200 and again.body == models.content
    assert again.headers["x-mockserver-cassette"] == f"{cassette}#0"
    missing = call(replay, "POST", "/v1/no-such-thing", body=b'{"x":1}', headers=JSON)
    assert missing.status == 404 and missing.body == unknown.content


def test_streams_pass_through_before_the_upstream_finishes(
    tmp_path: Path, gateway: FakeGateway, live_gateway: ThreadedServer, start_proxy: StartProxy
) -> None:
    gateway.use_gate = True  # the upstream holds the rest of the stream until the test lets it go
    proxy = start_proxy(Settings(upstream=live_gateway.url, cassettes=str(tmp_path), record_mode="all"))
    with (
        httpx.Client(timeout=20) as client,
        client.stream(
            "POST", proxy.url + "/v1/chat/completions", content=chat_body("you", stream=True), headers=JSON
        ) as resp,
    ):
        lines = resp.iter_lines()
        first = next(line for line in lines if line)
        assert first.startswith("data: ") and '"Hel"' in first
        assert not gateway.stream_finished.is_set()  # the proxy did not wait for the whole answer
        gateway.gate.set()
        rest = [line for line in lines if line]
    assert rest[-1] == "data: [DONE]"
    assert gateway.stream_finished.is_set()
    item = load_cassette(tmp_path / "recorded.yaml").interactions[0]
    assert item.response.chunks is not None and len(item.response.chunks) == 4
    assert item.response.chunks[0].at < item.response.chunks[-1].at
    assert item.response.body.startswith(b"data: ") and item.response.body.endswith(b"data: [DONE]\n\n")


def test_stream_chunks_replay_with_their_boundaries_and_timing(
    tmp_path: Path,
    live_gateway: ThreadedServer,
    start_proxy: StartProxy,
    test_contracts: Contracts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = start_proxy(Settings(upstream=live_gateway.url, cassettes=str(tmp_path), record_mode="all"))
    original = httpx.post(proxy.url + "/v1/chat/completions", content=chat_body("x", stream=True), headers=JSON)
    item = load_cassette(tmp_path / "recorded.yaml").interactions[0]
    pieces = [p for _, p in item.response.pieces()]
    assert b"".join(pieces) == original.content
    replay = create_replay_app(Settings(cassettes=str(tmp_path)), contracts=test_contracts)
    fast = call(replay, "POST", "/v1/chat/completions", body=chat_body("x", stream=True), headers=JSON)
    assert fast.chunks == pieces
    assert "content-length" not in fast.headers
    # With --replay-speed the gaps come back, scaled: the recording spans ~0.09 s between chunks.
    fake = FakeTime()
    monkeypatch.setattr(replay_module, "asyncio", fake.asyncio_module())
    timed = create_replay_app(Settings(cassettes=str(tmp_path), replay_speed=2.0), contracts=test_contracts)
    slow = call(timed, "POST", "/v1/chat/completions", body=chat_body("x", stream=True), headers=JSON)
    assert slow.chunks == pieces
    assert item.response.chunks is not None
    ats = [chunk.at for chunk in item.response.chunks]
    gaps = [b - a for a, b in zip([0.0, *ats[:-1]], ats, strict=True)]
    waits = [item.response.elapsed / 2] if item.response.elapsed else []
    assert fake.naps == pytest.approx(waits + [gap / 2 for gap in gaps if gap > 0])
    assert fake.slept >= item.response.chunks[-1].at / 2 > 0


def test_multipart_uploads_and_binary_answers_are_faithful(
    tmp_path: Path, live_gateway: ThreadedServer, start_proxy: StartProxy, test_contracts: Contracts
) -> None:
    audio = bytes(range(256)) * 8
    proxy = start_proxy(Settings(upstream=live_gateway.url, cassettes=str(tmp_path), record_mode="all"))
    files = {"file": ("clip.mp3", audio, "audio/mpeg")}
    sent = httpx.post(proxy.url + "/v1/audio/transcriptions", files=files, data={"model": "whisper-1"})
    speech = httpx.post(proxy.url + "/v1/audio/speech", json={"model": "tts-1", "input": "hi", "voice": "alloy"})
    assert sent.json() == {"text": f"clip.mp3:{len(audio)}:whisper-1"}
    assert speech.content == bytes(range(256)) * 4
    cassette = load_cassette(tmp_path / "recorded.yaml")
    upload, tts = cassette.interactions
    assert upload.operation == "audio_transcriptions"
    assert upload.request.body is not None and audio in upload.request.body
    assert tts.response.body == speech.content
    assert (tmp_path / "recorded.yaml").read_text().count("!!binary") == 2
    # A new upload of the same file has a new multipart boundary and still matches.
    replay = create_replay_app(Settings(cassettes=str(tmp_path)), contracts=test_contracts)
    request = httpx.Request("POST", "http://x/v1/audio/transcriptions", files=files, data={"model": "whisper-1"})
    body = request.read()
    again = call(replay, "POST", "/v1/audio/transcriptions", body=body, headers=dict(request.headers))
    assert again.status == 200 and again.json() == sent.json()
    assert (
        call(
            replay, "POST", "/v1/audio/speech", body=b'{"model":"tts-1","input":"hi","voice":"alloy"}', headers=JSON
        ).body
        == speech.content
    )


def test_task_submit_and_polls_are_recorded_and_replayed_in_order(
    tmp_path: Path, live_gateway: ThreadedServer, start_proxy: StartProxy, test_contracts: Contracts
) -> None:
    proxy = start_proxy(Settings(upstream=live_gateway.url, cassettes=str(tmp_path), record_mode="all"))
    with httpx.Client(base_url=proxy.url) as client:
        task = client.post("/mj/submit/imagine", json={"prompt": "a cat"}).json()["result"]
        statuses = [client.get(f"/mj/task/{task}/fetch").json()["status"] for _ in range(3)]
    assert statuses == ["SUBMITTED", "IN_PROGRESS", "SUCCESS"]
    cassette = load_cassette(tmp_path / "recorded.yaml")
    assert [i.operation for i in cassette] == ["mj_submit_imagine", *["mj_task_fetch"] * 3]
    replay = create_replay_app(Settings(cassettes=str(tmp_path)), contracts=test_contracts)
    submit = call(replay, "POST", "/mj/submit/imagine", body=b'{"prompt": "a cat"}', headers=JSON)
    assert submit.json()["result"] == task
    replayed = [call(replay, "GET", f"/mj/task/{task}/fetch").json()["status"] for _ in range(5)]
    assert replayed == ["SUBMITTED", "IN_PROGRESS", "SUCCESS", "SUCCESS", "SUCCESS"]  # then it stays finished
    assert replay.library.unplayed() == []


def test_callbacks_are_captured_forwarded_and_replayed(
    tmp_path: Path,
    gateway: FakeGateway,
    live_gateway: ThreadedServer,
    receiver: tuple[CallbackReceiver, ThreadedServer],
    start_proxy: StartProxy,
    test_contracts: Contracts,
) -> None:
    rec, rec_server = receiver
    hook = rec_server.url + "/hook"
    proxy = start_proxy(Settings(upstream=live_gateway.url, cassettes=str(tmp_path), record_mode="all"))
    answer = httpx.post(proxy.url + "/mj/submit/imagine", json={"prompt": "a dog", "notifyHook": hook}).json()
    assert answer["properties"]["notifyHook"] == hook  # the proxy's own URL never shows
    assert rec.done.wait(10)
    assert [b["status"] for b in rec.received] == ["SUBMITTED", "IN_PROGRESS", "SUCCESS"]
    assert all(b["properties"]["notifyHook"] == hook for b in rec.received)
    assert proxy.app.forwarder is not None
    assert wait_for(lambda: proxy.app.forwarder.target.recorded == 4)  # the last one is written after forwarding

    def on_disk() -> int:
        path = tmp_path / "recorded.yaml"
        return len(load_cassette(path).interactions) if path.exists() else 0

    # Appending and the (atomic, coalesced) write to disk happen one after the other: wait for the file.
    assert wait_for(lambda: on_disk() == 4)
    cassette = load_cassette(tmp_path / "recorded.yaml")
    assert "/__mock/cassettes/callback/" not in (tmp_path / "recorded.yaml").read_text()
    submit, *callbacks = cassette.interactions
    assert orjson.loads(submit.request.body or b"")["notifyHook"] == hook
    assert [c.kind for c in callbacks] == ["callback"] * 3
    assert [c.callback_of for c in callbacks] == [0, 0, 0]
    assert [orjson.loads(c.request.body or b"")["status"] for c in callbacks] == ["SUBMITTED", "IN_PROGRESS", "SUCCESS"]
    assert callbacks[0].response.status == 200 and orjson.loads(callbacks[0].response.body)["ok"] is True
    after = [c.after or 0.0 for c in callbacks]
    assert after == sorted(after)
    # Replay: the same submit with another receiver URL gets the recorded callbacks delivered there.
    rec.received.clear()
    rec.done.clear()
    replay = create_replay_app(Settings(cassettes=str(tmp_path)), contracts=test_contracts)
    with serve_in_thread(replay) as server:
        new_hook = rec_server.url + "/hook?run=2"
        again = httpx.post(server.url + "/mj/submit/imagine", json={"prompt": "a dog", "notifyHook": new_hook})
        assert again.json()["result"] == answer["result"]
        assert rec.done.wait(10)
    assert [b["status"] for b in rec.received] == ["SUBMITTED", "IN_PROGRESS", "SUCCESS"]
    assert all(b["properties"]["notifyHook"] == new_hook for b in rec.received)


SECRETS = {
    "bearer": "sk-bearer0123456789abcdef",
    "x-api-key": "anthropic-secret-key-1",
    "x-goog-api-key": "AIzaSyA0123456789abcdefghijklmnopqrstuv",
    "mj-api-secret": "midjourney-secret-42",
    "cookie": "session-cookie-value-77",
    "query": "query-key-value-5150",
    "body": "body-api-key-value-9000",
    "prompt": "sk-prompt0123456789abcdefghij",
}


def test_no_secret_reaches_disk_and_matching_still_works(
    tmp_path: Path, live_gateway: ThreadedServer, start_proxy: StartProxy, test_contracts: Contracts
) -> None:
    headers = {
        "Authorization": f"Bearer {SECRETS['bearer']}",
        "x-api-key": SECRETS["x-api-key"],
        "x-goog-api-key": SECRETS["x-goog-api-key"],
        "mj-api-secret": SECRETS["mj-api-secret"],
        "Cookie": f"sid={SECRETS['cookie']}",
        "content-type": "application/json",
    }
    body = orjson.dumps({"api_key": SECRETS["body"], "prompt": f"my key is {SECRETS['prompt']}"})
    query = f"key={SECRETS['query']}&v=1"
    proxy = start_proxy(Settings(upstream=live_gateway.url, cassettes=str(tmp_path), record_mode="all"))
    with httpx.Client(base_url=proxy.url, headers=headers) as client:
        echoed = client.post(f"/echo?{query}", content=body)
        streamed = client.get(f"/echo?stream=1&{query}")
    # The client sees the upstream's answer untouched (the echo holds every secret) ...
    assert SECRETS["body"] in echoed.text and SECRETS["bearer"] in streamed.text
    # ... and the cassette holds none of them, in any placement.
    text = (tmp_path / "recorded.yaml").read_text()
    for name, secret in SECRETS.items():
        assert secret not in text, name
    assert "Bearer REDACTED" in text and "key=REDACTED" in text
    # Replaying with the real secrets (or others) still matches the redacted recording.
    replay = create_replay_app(Settings(cassettes=str(tmp_path)), contracts=test_contracts)
    again = call(replay, "POST", "/echo", body=body, headers=headers, query=query)
    assert again.status == 200 and SECRETS["body"] not in again.body.decode()
    other_key = {**headers, "Authorization": "Bearer sk-someoneelse0123456789"}
    assert call(replay, "GET", "/echo", headers=other_key, query=f"stream=1&{query}").status == 200


def test_unreachable_upstream_is_a_502_in_the_envelope(tmp_path: Path, start_proxy: StartProxy) -> None:
    from mockserver.testing import free_port

    proxy = start_proxy(
        Settings(upstream=f"http://127.0.0.1:{free_port()}", cassettes=str(tmp_path), record_mode="all")
    )
    resp = httpx.post(proxy.url + "/v1/messages", json={"model": "claude"})
    assert resp.status_code == 502
    assert resp.json()["type"] == "error" and "did not answer" in resp.json()["error"]["message"]  # Anthropic envelope
    assert not (tmp_path / "recorded.yaml").exists()


@pytest.mark.parametrize("upstream", ["ftp://x", "not a url"])
def test_bad_upstream_is_refused(tmp_path: Path, upstream: str, test_contracts: Contracts) -> None:
    from mockserver.recording import create_proxy_app

    with pytest.raises(ValueError, match="not an http"):
        create_proxy_app(
            Settings(upstream=upstream, cassettes=str(tmp_path), record_mode="all"), contracts=test_contracts
        )
