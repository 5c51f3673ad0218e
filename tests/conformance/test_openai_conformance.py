"""Every OpenAI-format answer the emulator makes, checked against OpenAI's official OpenAPI document.

The document is vendored as a subset (`openai-openapi.subset.json`: the response schemas and what they
reference, version 2.3.0, commit in its `info`, MIT licence in OPENAI-OPENAPI-LICENSE; regenerate with
`extract_openai_spec.py`). Streams are checked chunk by chunk. The emulator's deliberate departures
(where it sends what the real API sends instead) are listed, with reasons, in `spec.EXCEPTIONS` only.
"""

from __future__ import annotations

import io
import json
import math
import struct
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
import spec

AUTH = {"Authorization": "Bearer sk-test"}
USER = [{"role": "user", "content": "Say something about otters."}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
# the same tool in the Responses API's flat shape
FUNCTION_TOOL = {"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL["function"]["parameters"]}
SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "otter",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0)
    with TestClient(create_app(settings), headers=AUTH) as c:
        yield c


def _wav(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = (int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate)))
        out.writeframes(b"".join(struct.pack("<h", f) for f in frames))
    return buffer.getvalue()


def _sse(text: str) -> list[tuple[str | None, Any]]:
    """(event name, JSON payload) of every SSE event, `[DONE]` left out."""
    events: list[tuple[str | None, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        payload = "\n".join(data)
        if payload and payload != "[DONE]":
            events.append((name, json.loads(payload)))
    return events


def _assert_conforms(schema: str, instance: Any, what: str) -> None:
    problems = spec.violations(schema, instance)
    assert not problems, f"{what} breaks OpenAI's {schema} (spec {spec.version()}):\n" + "\n".join(problems)


# (case, path, body, schema of the answer)
JSON_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("chat", "/v1/chat/completions", {"model": "gpt-4o", "messages": USER}, "CreateChatCompletionResponse"),
    (
        "chat-n-logprobs",
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": USER, "n": 2, "logprobs": True, "top_logprobs": 2},
        "CreateChatCompletionResponse",
    ),
    (
        "chat-tools",
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": USER, "tools": [WEATHER_TOOL], "tool_choice": "required"},
        "CreateChatCompletionResponse",
    ),
    (
        "chat-json-schema",
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": USER, "response_format": SCHEMA_FORMAT},
        "CreateChatCompletionResponse",
    ),
    (
        "chat-reasoning",
        "/v1/chat/completions",
        {"model": "o3-mini", "messages": USER, "reasoning_effort": "low"},
        "CreateChatCompletionResponse",
    ),
    (
        "chat-audio",
        "/v1/chat/completions",
        {
            "model": "gpt-4o-audio-preview",
            "messages": USER,
            "modalities": ["text", "audio"],
            "audio": {"voice": "alloy", "format": "wav"},
        },
        "CreateChatCompletionResponse",
    ),
    (
        "completions",
        "/v1/completions",
        {"model": "gpt-3.5-turbo-instruct", "prompt": "Once upon", "max_tokens": 20},
        "CreateCompletionResponse",
    ),
    (
        "completions-logprobs",
        "/v1/completions",
        {"model": "gpt-3.5-turbo-instruct", "prompt": ["a", "b"], "logprobs": 2, "echo": True},
        "CreateCompletionResponse",
    ),
    ("embeddings", "/v1/embeddings", {"model": "text-embedding-3-small", "input": "otter"}, "CreateEmbeddingResponse"),
    (
        "embeddings-base64",
        "/v1/embeddings",
        {"model": "text-embedding-3-large", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 256},
        "CreateEmbeddingResponse",
    ),
    (
        "images-b64",
        "/v1/images/generations",
        {"model": "gpt-image-1", "prompt": "an otter", "size": "1024x1024"},
        "ImagesResponse",
    ),
    (
        "images-url",
        "/v1/images/generations",
        {"model": "dall-e-3", "prompt": "an otter", "response_format": "url"},
        "ImagesResponse",
    ),
    ("responses", "/v1/responses", {"model": "gpt-4o", "input": "Tell me about otters."}, "Response"),
    (
        "responses-reasoning-tools",
        "/v1/responses",
        {
            "model": "o4-mini",
            "input": "Weather in Paris?",
            "reasoning": {"effort": "medium", "summary": "auto"},
            "tools": [FUNCTION_TOOL],
        },
        "Response",
    ),
    ("error-400", "/v1/chat/completions", {"model": "gpt-4o"}, "ErrorResponse"),
]


@pytest.mark.parametrize(("case", "path", "body", "schema"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_answers_conform(client: TestClient, case: str, path: str, body: dict[str, Any], schema: str) -> None:
    r = client.post(path, json=body)
    assert r.headers["content-type"].startswith("application/json"), r.text[:200]
    _assert_conforms(schema, r.json(), case)


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_image_edits_conform(client: TestClient) -> None:
    for model in ("gpt-image-1", "dall-e-2"):
        files = {"image": ("otter.png", _png(), "image/png")}
        r = client.post("/v1/images/edits", data={"model": model, "prompt": "add a hat"}, files=files)
        assert r.status_code == 200, r.text
        _assert_conforms("ImagesResponse", r.json(), f"images edit {model}")


def test_models_and_errors_conform(client: TestClient) -> None:
    _assert_conforms("ListModelsResponse", client.get("/v1/models").json(), "models list")
    _assert_conforms("Model", client.get("/v1/models/gpt-4o").json(), "model")
    settings = Settings(strict_responses=True, speed=0.0, api_key=("sk-right",))
    with TestClient(create_app(settings)) as keyed:
        unauthorised = keyed.get("/v1/models", headers={"Authorization": "Bearer sk-wrong"})
    assert unauthorised.status_code == 401
    _assert_conforms("ErrorResponse", unauthorised.json(), "401")


STREAM_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "chat-stream",
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": USER, "stream": True, "stream_options": {"include_usage": True}},
        "CreateChatCompletionStreamResponse",
    ),
    (
        "chat-stream-tools",
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": USER, "stream": True, "tools": [WEATHER_TOOL], "tool_choice": "required"},
        "CreateChatCompletionStreamResponse",
    ),
    (
        "chat-stream-audio",
        "/v1/chat/completions",
        {
            "model": "gpt-4o-audio-preview",
            "messages": USER,
            "stream": True,
            "modalities": ["text", "audio"],
            "audio": {"voice": "alloy", "format": "pcm16"},
        },
        "CreateChatCompletionStreamResponse",
    ),
    (
        "completions-stream",
        "/v1/completions",
        {"model": "gpt-3.5-turbo-instruct", "prompt": "Once upon", "stream": True},
        "CreateCompletionResponse",
    ),
]


@pytest.mark.parametrize(("case", "path", "body", "schema"), STREAM_CASES, ids=[c[0] for c in STREAM_CASES])
def test_stream_chunks_conform(client: TestClient, case: str, path: str, body: dict[str, Any], schema: str) -> None:
    r = client.post(path, json=body)
    events = _sse(r.text)
    assert len(events) >= 2, r.text[:300]
    for i, (_, chunk) in enumerate(events):
        _assert_conforms(schema, chunk, f"{case} chunk {i}")


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-4o", "input": "Tell me about otters.", "stream": True},
        {
            "model": "o4-mini",
            "input": "Weather in Paris?",
            "stream": True,
            "reasoning": {"effort": "low", "summary": "auto"},
            "tools": [FUNCTION_TOOL],
        },
    ],
    ids=["text", "reasoning-tools"],
)
def test_responses_stream_events_conform(client: TestClient, body: dict[str, Any]) -> None:
    events = _sse(client.post("/v1/responses", json=body).text)
    schemas = spec.event_schemas()
    assert events[0][1]["type"] == "response.created"
    for name, event in events:
        kind = event["type"]
        assert name in (None, kind)
        assert kind in schemas, f"{kind} is not an event type of the spec"
        _assert_conforms(schemas[kind], event, kind)


def test_audio_answers_conform(client: TestClient) -> None:
    files = {"file": ("tone.wav", _wav(), "audio/wav")}
    for model, fmt, schema in [
        ("whisper-1", "json", "CreateTranscriptionResponseJson"),
        ("whisper-1", "verbose_json", "CreateTranscriptionResponseVerboseJson"),
        ("gpt-4o-transcribe", "json", "CreateTranscriptionResponseJson"),
    ]:
        r = client.post("/v1/audio/transcriptions", data={"model": model, "response_format": fmt}, files=files)
        _assert_conforms(schema, r.json(), f"transcription {model} {fmt}")
    translations = [("json", "CreateTranslationResponseJson"), ("verbose_json", "CreateTranslationResponseVerboseJson")]
    for fmt, schema in translations:
        r = client.post("/v1/audio/translations", data={"model": "whisper-1", "response_format": fmt}, files=files)
        _assert_conforms(schema, r.json(), f"translation {fmt}")
    speech = {"model": "gpt-4o-mini-tts", "input": "Hello otters.", "voice": "alloy", "stream_format": "sse"}
    events = _sse(client.post("/v1/audio/speech", json=speech).text)
    schemas = spec.event_schemas()
    assert events
    for _, event in events:
        _assert_conforms(schemas[event["type"]], event, event["type"])
    streamed = client.post(
        "/v1/audio/transcriptions", data={"model": "gpt-4o-transcribe", "stream": "true"}, files=files
    )
    for _, event in _sse(streamed.text):
        _assert_conforms(schemas[event["type"]], event, event["type"])


CHUNK = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m"}
TEXT = {"id": "x", "object": "text_completion", "created": 1, "model": "m"}
# One instance per exception that needs it: (schema to validate with, instance)
EXCEPTION_SAMPLES: dict[tuple[str, str], tuple[str, Any]] = {
    ("CreateChatCompletionStreamResponse", "choices/*/finish_reason"): (
        "CreateChatCompletionStreamResponse",
        {**CHUNK, "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]},
    ),
    ("CreateCompletionResponse", "choices/*/finish_reason"): (
        "CreateCompletionResponse",
        {**TEXT, "choices": [{"index": 0, "text": "a", "logprobs": None, "finish_reason": None}]},
    ),
    ("CreateChatCompletionStreamResponse", "choices/*/logprobs"): (
        "CreateChatCompletionStreamResponse",
        {**CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": None}]},
    ),
    ("CreateChatCompletionStreamResponse", "usage"): (
        "CreateChatCompletionStreamResponse",
        {**CHUNK, "choices": [], "usage": None},
    ),
    ("CreateEmbeddingResponse", "data/*/embedding"): (
        "CreateEmbeddingResponse",
        {
            "object": "list",
            "model": "m",
            "data": [{"object": "embedding", "index": 0, "embedding": "AAAAAA=="}],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        },
    ),
    ("Response*", "*user"): ("Response", None),
    ("Response*Event", "response/usage"): ("ResponseCreatedEvent", None),
    ("ErrorResponse", "error"): (
        "ErrorResponse",
        {"error": {"message": "m", "type": "new_api_error", "code": ""}},
    ),
}


def test_the_exceptions_are_still_needed(client: TestClient) -> None:
    """Every listed exception must still excuse something the emulator sends, or it goes."""
    created = _sse(client.post("/v1/responses", json={"model": "gpt-4o", "input": "hi", "stream": True}).text)
    samples = dict(EXCEPTION_SAMPLES)
    samples[("Response*", "*user")] = ("Response", created[-1][1]["response"])
    samples[("Response*Event", "response/usage")] = ("ResponseCreatedEvent", created[0][1])
    for exception in spec.EXCEPTIONS:
        schema, sample = samples[(exception.schema, exception.path)]
        raw = [e.message for e in spec.validator(schema).iter_errors(sample)]
        assert any(exception.message in m for m in raw), exception
        assert spec.violations(schema, sample) == [], exception
