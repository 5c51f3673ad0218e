"""Bad chat requests get a 4xx in the gateway's OpenAI envelope naming the field — never a 500."""

from __future__ import annotations

import base64
from typing import Any

import openai
import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.openai.payloads import WEATHER_TOOL

OK = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def _error(raw: Any, body: Any, status: int = 400) -> dict[str, Any]:
    r = raw.post("/v1/chat/completions", json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert "(request id: " in error["message"] and error["type"]
    return error  # type: ignore[no-any-return]


def _image(url: str) -> dict[str, Any]:
    content = [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": url}}]
    return {**OK, "messages": [{"role": "user", "content": content}]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": OK["messages"]}, "model"),
        ({"model": "gpt-4o", "messages": "hi"}, "messages"),
        ({"model": "gpt-4o", "messages": []}, "messages"),
        ({"model": "gpt-4o", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"model": "gpt-4o", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({**OK, "temperature": "hot"}, "temperature"),
        ({**OK, "temperature": 2.5}, "temperature"),
        ({**OK, "n": 0}, "n"),
        ({**OK, "max_tokens": 0}, "max_tokens"),
        ({**OK, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({**OK, "tools": [{"type": "function", "function": {"name": "bad name"}}]}, "tools[0].function.name"),
        ({**OK, "tool_choice": "maybe", "tools": [WEATHER_TOOL]}, "tool_choice"),
        ({**OK, "response_format": {"type": "json_schema"}}, "response_format.json_schema"),
        ({**OK, "stream_options": {"include_usage": True}}, "stream_options"),
        ({**OK, "tool_choice": "auto"}, "tool_choice"),
        (
            {**OK, "tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
        ),
        ({**OK, "tools": [WEATHER_TOOL, WEATHER_TOOL]}, "tools[1].function.name"),
        ({**OK, "response_format": {"type": "json_object"}}, "messages"),
        ({**OK, "top_logprobs": 3}, "top_logprobs"),
        ({**OK, "messages": [{"role": "tool", "tool_call_id": "call_x", "content": "{}"}]}, "messages[0].tool_call_id"),
        (_image("data:image/png;base64,not*base64!"), "messages[0].content[1].image_url.url"),
        (_image("data:text/plain;base64,aGVsbG8="), "messages[0].content[1].image_url.url"),
        (_image("data:image/png;base64,aGVsbG8="), "messages[0].content[1].image_url.url"),
        (_image("data:image/png," + PNG), "messages[0].content[1].image_url.url"),
        (_image("ftp://example.com/a.png"), "messages[0].content[1].image_url.url"),
    ],
)
def test_bad_body_names_the_field(raw: Any, body: dict[str, Any], param: str) -> None:
    assert _error(raw, body)["param"] == param


def test_good_data_url_is_accepted(raw: Any) -> None:
    assert raw.post("/v1/chat/completions", json=_image(f"data:image/png;base64,{PNG}")).status_code == 200


def test_sdk_raises_bad_request_with_param(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "robot", "content": "hi"}])  # type: ignore[misc, list-item]
    assert info.value.status_code == 400 and info.value.param == "messages[0].role"


def test_malformed_json_and_wrong_content_type(raw: Any) -> None:
    r = raw.post(
        "/v1/chat/completions",
        content=b'{"model": "gpt-4o", "messages": [',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = raw.post("/v1/chat/completions", content=b"model=gpt-4o", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["error"]["param"] == "Content-Type"
    r = raw.post("/v1/embeddings", content=b"[1,", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_oversize_body_is_413() -> None:
    app = create_app(Settings(strict_responses=True, max_body_bytes=200))
    with TestClient(app, headers={"Authorization": "Bearer sk-test"}) as client:
        big = {**OK, "messages": [{"role": "user", "content": "x" * 500}]}
        r = client.post("/v1/chat/completions", json=big)
        assert r.status_code == 413 and "limit" in r.json()["error"]["message"]
        assert client.post("/v1/chat/completions", json=OK).status_code == 200


def test_missing_key_is_401(app: Any) -> None:
    with TestClient(app) as anon:
        r = anon.post("/v1/chat/completions", json=OK)
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key"
