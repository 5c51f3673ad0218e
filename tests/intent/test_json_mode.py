"""JSON mode without a schema field, in each format: the answer takes the shape the conversation names
(chat `json_object`, Responses `text.format: json_object`, Gemini `application/json` without a
schema, an Anthropic `{` prefill), keeps the generic object when nothing is named, and a stub wins.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from tests.intent.targets import Target

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "population": {"type": "integer", "minimum": 0},
        "sights": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["city", "population", "sights"],
}
SYSTEM = "Reply in JSON matching this schema: " + json.dumps(SCHEMA)
QUESTION = "Tell me about Lisbon, which has 545000 residents."


def _check(document: Any) -> None:
    assert document["city"] == "Lisbon"
    assert document["population"] == 545000
    assert document["sights"] and all(isinstance(s, str) for s in document["sights"])


def _openai(target: Target) -> openai.OpenAI:
    return openai.OpenAI(base_url=target.openai_url, api_key=target.api_key, max_retries=0)


def test_chat_json_object(target: Target) -> None:
    messages: list[Any] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    reply = _openai(target).chat.completions.create(
        model="gpt-4o", messages=messages, response_format={"type": "json_object"}
    )
    _check(json.loads(reply.choices[0].message.content or ""))


def test_chat_json_object_with_nothing_named_keeps_the_generic_object(target: Target) -> None:
    messages: list[Any] = [{"role": "user", "content": "Give me some JSON about Lisbon."}]
    reply = _openai(target).chat.completions.create(
        model="gpt-4o", messages=messages, response_format={"type": "json_object"}
    )
    assert set(json.loads(reply.choices[0].message.content or "")) == {"answer", "keywords"}


def test_chat_streamed_json_object(target: Target) -> None:
    messages: list[Any] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    stream = _openai(target).chat.completions.create(
        model="gpt-4o", messages=messages, response_format={"type": "json_object"}, stream=True
    )
    _check(json.loads("".join(c.choices[0].delta.content or "" for c in stream if c.choices)))


def test_plain_chat_asking_for_a_json_block(target: Target) -> None:
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUESTION + " Put the JSON in a ```json code block."},
    ]
    content = _openai(target).chat.completions.create(model="gpt-4o", messages=messages).choices[0].message.content
    assert content and content.startswith("```json\n") and content.endswith("\n```")
    _check(json.loads(content.removeprefix("```json\n").removesuffix("\n```")))


def test_plain_chat_mentioning_json_without_a_shape_is_text(target: Target) -> None:
    messages: list[Any] = [{"role": "user", "content": "What is JSON?"}]
    content = _openai(target).chat.completions.create(model="gpt-4o", messages=messages).choices[0].message.content
    assert content and not content.lstrip().startswith("{")


def test_stub_overrides_the_implied_shape(target: Target) -> None:
    target.handle.stub(match="Lisbon", json={"city": "Porto"})
    messages: list[Any] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    reply = _openai(target).chat.completions.create(
        model="gpt-4o", messages=messages, response_format={"type": "json_object"}
    )
    assert json.loads(reply.choices[0].message.content or "") == {"city": "Porto"}


def test_responses_json_object(target: Target) -> None:
    reply = _openai(target).responses.create(
        model="gpt-4o", instructions=SYSTEM, input=QUESTION, text={"format": {"type": "json_object"}}
    )
    _check(json.loads(reply.output_text))


def test_gemini_json_without_a_schema(target: Target) -> None:
    client = genai.Client(api_key=target.api_key, http_options=types.HttpOptions(base_url=target.url))
    config = types.GenerateContentConfig(system_instruction=SYSTEM, response_mime_type="application/json")
    reply = client.models.generate_content(model="gemini-2.5-flash", contents=QUESTION, config=config)
    _check(json.loads(reply.text or ""))


def test_anthropic_prefill(target: Target) -> None:
    client = anthropic.Anthropic(base_url=target.url, api_key=target.api_key, max_retries=0)
    message = client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=512,
        system=SYSTEM,
        messages=[{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "{"}],
    )
    text = "".join(b.text for b in message.content if b.type == "text")
    assert not text.startswith("{")
    _check(json.loads("{" + text))


@pytest.mark.parametrize(
    "schema",
    [
        '{"type": "array", "items": {}, "minItems": "two"}',
        '{"type": "object", "properties": {"n": {"type": "integer", "minimum": 1e40}}, "required": ["n"]}',
        '{"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}, "prefixItems": {"x": 1}}',
        '{"$ref": "#", "$defs": {}}',
    ],
)
def test_a_broken_schema_in_the_words_gives_the_generic_object(target: Target, schema: str) -> None:
    messages: list[Any] = [{"role": "user", "content": f"Answer in JSON matching {schema}"}]
    reply = _openai(target).chat.completions.create(
        model="gpt-4o", messages=messages, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(reply.choices[0].message.content or ""), dict)


def test_anthropic_structured_outputs_beta_field(target: Target) -> None:
    client = anthropic.Anthropic(base_url=target.url, api_key=target.api_key, max_retries=0)
    message = client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=512,
        messages=[{"role": "user", "content": QUESTION}],
        extra_headers={"anthropic-beta": "structured-outputs-2025-11-13"},
        extra_body={"output_format": {"type": "json_schema", "schema": SCHEMA}},
    )
    _check(json.loads("".join(b.text for b in message.content if b.type == "text")))
    with pytest.raises(anthropic.BadRequestError, match="output_format"):
        client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=512,
            messages=[{"role": "user", "content": QUESTION}],
            extra_body={"output_format": {"type": "json_object"}},
        )
