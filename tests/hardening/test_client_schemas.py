"""Client-supplied schemas: bounded generation, and a 400 naming the keyword for invalid ones, in each family."""

from __future__ import annotations

import random
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.content import fake_json
from mockserver.content.fake_json import SchemaError


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"type": "array", "maxItems": "abc"}, "maxItems"),
        ({"type": "array", "minItems": "x"}, "minItems"),
        ({"type": "string", "minLength": 50_000_000}, "minLength"),
        ({"type": "string", "minLength": -1}, "minLength"),
        ({"type": "number", "minimum": 1e308}, "minimum"),
        ({"type": "integer", "maximum": 1e300}, "maximum"),
        ({"type": "object", "minProperties": 10**9}, "minProperties"),
        ({"type": "object", "properties": []}, "properties"),
        ({"type": "object", "properties": {"a": {}}, "required": "a"}, "required"),
        ({"enum": {"a": 1}}, "enum"),
        ({"anyOf": {"type": "string"}}, "anyOf"),
    ],
)
def test_invalid_or_oversized_schemas_raise_naming_the_keyword(schema: dict[str, Any], keyword: str) -> None:
    with pytest.raises(SchemaError) as caught:
        fake_json.generate(schema, random.Random(0))
    assert caught.value.keyword == keyword and caught.value.status == 400
    assert keyword in str(caught.value)


def test_nested_counts_are_bounded_in_total() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(5):
        schema = {"type": "array", "minItems": 50, "items": schema}
    with pytest.raises(SchemaError, match="values"):
        fake_json.generate(schema, random.Random(0))
    many_chars = {"type": "array", "minItems": 1000, "items": {"type": "string", "minLength": 5000}}
    with pytest.raises(SchemaError, match="characters"):
        fake_json.generate(many_chars, random.Random(0))


def test_schemas_within_the_limits_still_generate() -> None:
    schema = {"type": "object", "properties": {"tags": {"type": "array", "minItems": 3, "items": {"type": "string"}}}}
    value = fake_json.generate(schema, random.Random(0))
    assert len(value["tags"]) >= 3
    assert len(fake_json.generate({"type": "string", "minLength": 10_000}, random.Random(0))) == 10_000


BAD = {"type": "object", "properties": {"xs": {"type": "array", "maxItems": "abc"}}, "required": ["xs"]}
HUGE = {"type": "object", "properties": {"s": {"type": "string", "minLength": 50_000_000}}, "required": ["s"]}


@pytest.mark.parametrize(("schema", "keyword"), [(BAD, "maxItems"), (HUGE, "minLength")])
def test_openai_chat_answers_400_in_its_envelope(client: TestClient, schema: dict[str, Any], keyword: str) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    }
    answer = client.post("/v1/chat/completions", json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == keyword and keyword in error["message"]
    tools = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}],
        "tool_choice": "required",
    }
    answer = client.post("/v1/chat/completions", json=tools)
    assert answer.status_code == 400 and answer.json()["error"]["param"] == keyword


def test_gemini_response_schema_answers_400_in_its_envelope(client: TestClient) -> None:
    body = {
        "contents": [{"parts": [{"text": "hi"}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseSchema": HUGE},
    }
    answer = client.post("/v1beta/models/gemini-2.0-flash:generateContent", json=body, headers={"x-goog-api-key": "k"})
    assert answer.status_code == 400, answer.text
    assert "minLength" in answer.json()["error"]["message"]
    assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_anthropic_and_responses_answer_400(client: TestClient) -> None:
    answer = client.post(
        "/v1/responses",
        json={
            "model": "gpt-4o",
            "input": "hi",
            "text": {"format": {"type": "json_schema", "name": "x", "schema": BAD}},
        },
    )
    assert answer.status_code == 400, answer.text
    assert "maxItems" in answer.text
