"""The request pipeline's edges: keys without a scheme, streamed bodies past the limit, latency and stream
faults, and what strict mode does with an emulator bug or a non-conforming answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import pipeline
from mockserver.app import create_app
from mockserver.families.openai import models
from mockserver.settings import Settings
from mockserver.wire import ConnectionDropped
from tests.fake_time import FakeTime

OK = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def strict(**overrides: Any) -> Settings:
    return Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0, **overrides)


def test_a_key_sent_without_a_scheme_is_accepted_and_checked() -> None:
    with TestClient(create_app(strict(api_key=("sk-good",)))) as client:
        ok = client.post("/v1/chat/completions", json=OK, headers={"Authorization": "sk-good"})
        assert ok.status_code == 200
        bad = client.post("/v1/chat/completions", json=OK, headers={"Authorization": "sk-bad"})
        assert bad.status_code == 401 and bad.json()["error"]["message"].startswith("无效的令牌")  # new-api's words
        empty = client.post("/v1/chat/completions", json=OK, headers={"Authorization": "Bearer  "})
        assert empty.status_code == 401 and empty.json()["error"]["code"] == "missing_api_key"


def test_a_body_streamed_in_pieces_is_cut_off_at_the_limit(client: TestClient) -> None:
    def pieces() -> Iterator[bytes]:
        yield b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"x" * 100
        yield b'"}]}'

    with TestClient(create_app(strict(max_body_bytes=1000)), headers={"Authorization": "Bearer sk"}) as small:
        refused = small.post("/v1/chat/completions", content=pieces(), headers={"content-type": "application/json"})
        assert refused.status_code == 413 and refused.json()["error"]["param"] == "body"
    # the same pieces under the limit are read whole
    answer = client.post("/v1/chat/completions", content=pieces(), headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text


def test_a_latency_fault_delays_the_generated_answer(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTime()
    monkeypatch.setattr(pipeline, "asyncio", fake.asyncio_module())
    client.post("/__mock/faults", json={"operation": "chat_completions", "latency_ms": 1500, "times": 1})
    delayed = client.post("/v1/chat/completions", json=OK)
    assert fake.naps == [1.5]
    # a fault with no status only adds latency: the answer is still the generated one
    assert delayed.status_code == 200 and delayed.json()["choices"][0]["message"]["content"]
    client.post("/v1/chat/completions", json=OK)
    assert fake.naps == [1.5]  # used up


def events(body: str) -> list[str]:
    return [block for block in body.split("\n\n") if block.strip()]


def test_a_stream_cut_drops_the_connection_where_asked(client: TestClient) -> None:
    stream = {**OK, "stream": True}
    whole = events(client.post("/v1/chat/completions", json=stream).text)
    assert whole[-1] == "data: [DONE]"
    sent = len(whole) - 1
    client.post("/__mock/reset")  # the same call again gets the same reply
    client.post("/__mock/faults", json={"operation": "chat_completions", "stream_cut_after": sent, "times": 1})
    # in-process the cut is an exception, as a dropped connection is to a client (wire.py; the events
    # before it and the raw socket are checked in tests/openai/test_wire_faults.py)
    with pytest.raises(ConnectionDropped):
        client.post("/v1/chat/completions", json=stream)
    client.post("/__mock/faults", json={"operation": "chat_completions", "stream_cut_after": 0, "times": 1})
    with pytest.raises(ConnectionDropped):
        client.post("/v1/chat/completions", json=stream)


def test_an_emulator_bug_is_a_500_in_the_familys_envelope(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(model: Any) -> dict[str, object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(models, "model_object", broken)
    answer = client.get("/v1/models/gpt-4o")
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert error["code"] == "mock_bug" and "models_retrieve" in error["message"] and "boom" in error["message"]


def test_strict_mode_turns_a_non_conforming_answer_into_a_500_naming_the_field(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = models.model_object
    monkeypatch.setattr(models, "model_object", lambda model: {**real(model), "created": "yesterday"})
    answer = client.get("/v1/models/gpt-4o")
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert error["code"] == "mock_contract_violation" and error["param"] == "created"
    with TestClient(create_app(Settings(speed=0.0)), headers={"Authorization": "Bearer sk"}) as lenient:
        assert lenient.get("/v1/models/gpt-4o").json()["created"] == "yesterday"  # only strict mode checks
