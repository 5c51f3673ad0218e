"""Anthropic Messages through the official anthropic SDK and raw HTTP: text, streaming, tools, web
search, thinking, vision, structured output, stubs and errors in Anthropic's envelope."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import jsonschema_rs
import pytest
from starlette.testclient import TestClient

MODEL = "claude-opus-4-1-20250805"
HEADERS = {"x-api-key": "sk-test", "anthropic-version": "2023-06-01"}
USER = [{"role": "user", "content": "Explain the rust borrow checker briefly"}]
WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["location", "unit"],
    },
}
STOCK = {
    "name": "get_stock_price",
    "description": "Get the stock price for a ticker symbol",
    "input_schema": {"type": "object", "properties": {"ticker": {"type": "string"}}, "required": ["ticker"]},
}
Sse = Callable[[str, str], list[tuple[str | None, Any]]]


def test_create_text_message(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model=MODEL, max_tokens=512, messages=USER)  # type: ignore[arg-type]
    assert message.id.startswith("msg_01") and message.type == "message" and message.role == "assistant"
    assert message.model == MODEL
    assert message.content[0].type == "text" and "borrow" in message.content[0].text.lower()
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_x_api_key_and_version_header(raw: TestClient) -> None:
    body = {"model": MODEL, "max_tokens": 64, "messages": USER}
    assert raw.post("/v1/messages", json=body, headers=HEADERS).status_code == 200
    bad_version = raw.post("/v1/messages", json=body, headers={**HEADERS, "anthropic-version": "latest"})
    assert bad_version.status_code == 400 and "anthropic-version" in bad_version.json()["error"]["message"]


def test_stream_events_conform_and_rebuild_the_message(raw: TestClient, sse_checked: Sse) -> None:
    body = {"model": MODEL, "max_tokens": 512, "messages": USER, "stream": True}
    events = sse_checked("claude_messages", raw.post("/v1/messages", json=body, headers=HEADERS).text)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-1] == "message_stop" and names[-2] == "message_delta"
    assert names[1] == "content_block_start" and names[2] == "ping"
    assert all(data["type"] == name for name, data in events)
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    plain = raw.post("/v1/messages", json={**body, "stream": False}, headers=HEADERS).json()
    assert text and plain["content"][0]["type"] == "text"
    assert events[-2][1]["usage"]["output_tokens"] >= 1


def test_sdk_stream_helper(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model=MODEL, max_tokens=512, messages=USER) as stream:  # type: ignore[arg-type]
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 3
    assert final.content[0].type == "text" and final.content[0].text == "".join(pieces)
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 1


def test_tool_use_input_is_valid_for_the_schema(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model=MODEL,
        max_tokens=512,
        tools=[STOCK, WEATHER],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "What is the weather like in Paris?"}],
    )
    assert message.stop_reason == "tool_use"
    uses = [b for b in message.content if b.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather" and uses[0].id.startswith("toolu_01")
    jsonschema_rs.validate(WEATHER["input_schema"], uses[0].input)
    assert message.content[0].type == "text"  # "I'll use the ... tool" precedes an automatic call


def test_tool_choice_forces_a_tool_and_tool_result_closes_the_loop(claude: anthropic.Anthropic) -> None:
    question = {"role": "user", "content": "Hello there"}
    forced = claude.messages.create(
        model=MODEL,
        max_tokens=512,
        tools=[STOCK, WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "tool", "name": "get_stock_price"},
        messages=[question],  # type: ignore[list-item]
    )
    assert [b.type for b in forced.content] == ["tool_use"]
    use = forced.content[0]
    assert use.type == "tool_use" and use.name == "get_stock_price"
    jsonschema_rs.validate(STOCK["input_schema"], use.input)
    result = {"type": "tool_result", "tool_use_id": use.id, "content": "182.5 USD"}
    answer = claude.messages.create(
        model=MODEL,
        max_tokens=512,
        tools=[STOCK],  # type: ignore[list-item]
        messages=[question, {"role": "assistant", "content": forced.content}, {"role": "user", "content": [result]}],  # type: ignore[list-item]
    )
    assert answer.stop_reason == "end_turn" and answer.content[0].type == "text"


def test_tool_result_for_an_unknown_tool_use_is_refused(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as err:
        claude.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "1"}]}],
        )
    body: Any = err.value.body
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "messages.0.content.0" in body["error"]["message"] and "toolu_x" in body["error"]["message"]


def test_streamed_tool_input_arrives_as_json_deltas(raw: TestClient, sse_checked: Sse) -> None:
    body = {"model": MODEL, "max_tokens": 512, "tools": [WEATHER], "stream": True, "messages": USER}
    body["tool_choice"] = {"type": "any"}
    events = sse_checked("claude_messages", raw.post("/v1/messages", json=body, headers=HEADERS).text)
    start = next(d for n, d in events if n == "content_block_start" and d["content_block"]["type"] == "tool_use")
    assert start["content_block"]["input"] == {}
    partial = "".join(
        d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == start["index"]
    )
    jsonschema_rs.validate(WEATHER["input_schema"], json.loads(partial))
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_web_search_blocks_and_citations(claude: anthropic.Anthropic) -> None:
    tool = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5, "allowed_domains": ["example.org"]}
    message = claude.messages.create(
        model=MODEL,
        max_tokens=1024,
        tools=[tool],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "What's the weather in NYC?"}],
    )
    kinds = [b.type for b in message.content]
    assert kinds[:2] == ["server_tool_use", "web_search_tool_result"]
    server, results = message.content[0], message.content[1]
    assert server.type == "server_tool_use" and server.name == "web_search" and server.input["query"]
    assert results.type == "web_search_tool_result" and results.tool_use_id == server.id
    assert isinstance(results.content, list) and results.content
    urls = {r.url for r in results.content}
    assert all(u.startswith("https://example.org/") for u in urls)
    cited = [c for b in message.content if b.type == "text" for c in b.citations or ()]
    assert cited and all(c.type == "web_search_result_location" and c.url in urls for c in cited)
    assert message.usage.server_tool_use is not None and message.usage.server_tool_use.web_search_requests == 1


def test_extended_thinking_blocks(claude: anthropic.Anthropic, raw: TestClient, sse_checked: Sse) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    message = claude.messages.create(model=MODEL, max_tokens=2048, thinking=thinking, messages=USER)  # type: ignore[arg-type]
    assert [b.type for b in message.content] == ["thinking", "text"]
    block = message.content[0]
    assert block.type == "thinking" and block.thinking and block.signature
    body = {"model": MODEL, "max_tokens": 2048, "thinking": thinking, "messages": USER, "stream": True}
    events = sse_checked("claude_messages", raw.post("/v1/messages", json=body, headers=HEADERS).text)
    deltas = [d["delta"]["type"] for n, d in events if n == "content_block_delta" and d["index"] == 0]
    assert deltas[0] == "thinking_delta" and deltas[-1] == "signature_delta"


def test_thinking_budget_must_stay_below_max_tokens(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as err:
        claude.messages.create(
            model=MODEL,
            max_tokens=1024,
            thinking={"type": "enabled", "budget_tokens": 2048},
            messages=USER,  # type: ignore[arg-type]
        )
    assert "max_tokens" in str(err.value.body)


def test_vision_base64_and_url_images(claude: anthropic.Anthropic, png_b64: Callable[..., str]) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png_b64(64, 32)}}
    linked = {"type": "image", "source": {"type": "url", "url": "https://upload.example.com/cat.jpg"}}
    content = [image, linked, {"type": "text", "text": "What is in these images?"}]
    message = claude.messages.create(model=MODEL, max_tokens=512, messages=[{"role": "user", "content": content}])  # type: ignore[list-item]
    text = message.content[0].text if message.content[0].type == "text" else ""
    assert "64x32 PNG" in text and "upload.example.com" in text
    assert message.usage.input_tokens > 3 + 1200  # 64*32/750 -> 3 tokens, a linked image ~1200


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ({"type": "base64", "media_type": "image/png", "data": "not base64!"}, "source.data"),
        ({"type": "base64", "media_type": "image/gif"}, "data"),
        ({"type": "base64", "media_type": "image/bmp", "data": "AAAA"}, "media_type"),
    ],
)
def test_bad_images_are_refused_naming_the_field(raw: TestClient, source: dict[str, Any], field: str) -> None:
    content = [{"type": "image", "source": source}, {"type": "text", "text": "hi"}]
    body = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": content}]}
    answer = raw.post("/v1/messages", json=body, headers=HEADERS)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and field in error["message"]


def test_image_that_is_not_its_declared_type(raw: TestClient, png_b64: Callable[..., str]) -> None:
    source = {"type": "base64", "media_type": "image/jpeg", "data": png_b64()}
    body = {
        "model": MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": [{"type": "image", "source": source}]}],
    }
    answer = raw.post("/v1/messages", json=body, headers=HEADERS)
    assert answer.status_code == 400 and "image/jpeg" in answer.json()["error"]["message"]


def test_structured_output_matches_the_schema(raw: TestClient) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["name", "tags"],
        "additionalProperties": False,
    }
    body = {
        "model": MODEL,
        "max_tokens": 512,
        "messages": USER,
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
    }
    message = raw.post("/v1/messages", json=body, headers=HEADERS).json()
    jsonschema_rs.validate(schema, json.loads(message["content"][0]["text"]))


def test_stop_sequences_and_max_tokens(raw: TestClient) -> None:
    stub = {"operation": "claude_messages", "content": "First part. STOP here and more"}
    assert raw.post("/__mock/stubs", json=stub).status_code in (200, 201)
    body = {"model": MODEL, "max_tokens": 64, "messages": USER, "stop_sequences": ["STOP"]}
    message = raw.post("/v1/messages", json=body, headers=HEADERS).json()
    assert message["content"][0]["text"] == "First part. "
    assert message["stop_reason"] == "stop_sequence" and message["stop_sequence"] == "STOP"
    short = raw.post("/v1/messages", json={**body, "stop_sequences": [], "max_tokens": 2}, headers=HEADERS).json()
    assert short["stop_reason"] == "max_tokens" and short["usage"]["output_tokens"] <= 2


def test_stubbed_tool_calls_and_reasoning(raw: TestClient) -> None:
    stub = {
        "operation": "claude_messages",
        "tool_calls": [{"name": "lookup", "arguments": '{"q": "x"}'}],
        "reasoning": "Plan first.",
    }
    raw.post("/__mock/stubs", json=stub)
    message = raw.post(
        "/v1/messages", json={"model": MODEL, "max_tokens": 256, "messages": USER}, headers=HEADERS
    ).json()
    assert message["content"][0] == {**message["content"][0], "type": "thinking", "thinking": "Plan first."}
    use = message["content"][-1]
    assert use["type"] == "tool_use" and use["name"] == "lookup" and use["input"] == {"q": "x"}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"temperature": 3}, "temperature"),
        ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
        ({"tools": [{"name": "t"}]}, "input_schema"),
    ],
)
def test_bad_input_is_a_400_in_anthropic_envelope(raw: TestClient, patch: dict[str, Any], field: str) -> None:
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": USER, **patch}
    body = {k: v for k, v in body.items() if v is not None}
    answer = raw.post("/v1/messages", json=body, headers=HEADERS)
    assert answer.status_code == 400
    payload = answer.json()
    assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"
    assert field in payload["error"]["message"]


def test_missing_key_is_an_authentication_error(raw: TestClient) -> None:
    answer = raw.post("/v1/messages", json={"model": MODEL, "max_tokens": 8, "messages": USER})
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "authentication_error"


def test_same_request_after_reset_gives_the_same_message(raw: TestClient) -> None:
    body = {"model": MODEL, "max_tokens": 256, "messages": USER}
    first = raw.post("/v1/messages", json=body, headers=HEADERS).json()
    second = raw.post("/v1/messages", json=body, headers=HEADERS).json()
    raw.post("/__mock/reset")
    again = raw.post("/v1/messages", json=body, headers=HEADERS).json()
    assert first == again and first["id"] != second["id"]


@pytest.mark.anyio
async def test_async_in_process_create_and_stream(aclaude: anthropic.AsyncAnthropic) -> None:
    message = await aclaude.messages.create(model=MODEL, max_tokens=256, messages=USER)  # type: ignore[arg-type]
    assert message.content[0].type == "text"
    events = []
    async with aclaude.messages.stream(model=MODEL, max_tokens=256, messages=USER) as stream:  # type: ignore[arg-type]
        async for event in stream:
            events.append(event.type)
        final = await stream.get_final_message()
    assert events[0] == "message_start" and "content_block_delta" in events
    assert final.content[0].type == "text" and final.stop_reason == "end_turn"


def test_sdk_raw_stream_events_conform(claude: anthropic.Anthropic) -> None:
    from mockserver.contracts import load_contracts

    contract = load_contracts().get("claude_messages")
    tools: Any = [WEATHER, {"type": "web_search_20250305", "name": "web_search"}]
    thinking: Any = {"type": "enabled", "budget_tokens": 1024}
    stream = claude.messages.create(
        model=MODEL, max_tokens=2048, tools=tools, thinking=thinking, messages=USER, stream=True
    )  # type: ignore[arg-type]
    seen = []
    for event in stream:
        data = event.to_dict()
        assert not contract.validate_event(event.type, data), (event.type, data)
        seen.append(event.type)
    assert seen[0] == "message_start" and seen[-1] == "message_stop"


def test_prompt_longer_than_the_context_window(raw: TestClient) -> None:
    body = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "word " * 210_000}]}
    answer = raw.post("/v1/messages", json=body, headers=HEADERS)
    assert answer.status_code == 400 and "prompt is too long" in answer.json()["error"]["message"]


def test_streamed_thinking_parses_with_the_sdk_types(raw: TestClient, sse_checked: Sse) -> None:
    """content_block_start of a thinking block carries `signature` (the SDK's ThinkingBlock requires it),
    and the signature_delta comes right before the block stops."""
    from anthropic.types import RawMessageStreamEvent
    from pydantic import TypeAdapter

    thinking = {"type": "enabled", "budget_tokens": 1024}
    body = {"model": MODEL, "max_tokens": 2048, "thinking": thinking, "messages": USER, "stream": True}
    events = sse_checked("claude_messages", raw.post("/v1/messages", json=body, headers=HEADERS).text)
    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    parsed = [adapter.validate_python(payload) for name, payload in events if name != "ping"]
    start = next(e for e in parsed if e.type == "content_block_start" and e.index == 0)
    assert start.content_block.type == "thinking" and start.content_block.signature == ""
    mine = [(n, d) for n, d in events if d.get("index") == 0]
    assert mine[-2][1]["delta"]["type"] == "signature_delta" and mine[-1][0] == "content_block_stop"


def test_count_tokens_with_the_sdk(claude: anthropic.Anthropic) -> None:
    counted = claude.messages.count_tokens(model=MODEL, messages=USER)  # type: ignore[arg-type]
    message = claude.messages.create(model=MODEL, max_tokens=64, messages=USER)  # type: ignore[arg-type]
    assert counted.input_tokens == message.usage.input_tokens > 0
    system = claude.messages.count_tokens(model=MODEL, system="Be brief and kind.", messages=USER)  # type: ignore[arg-type]
    assert system.input_tokens > counted.input_tokens
    with pytest.raises(anthropic.BadRequestError) as err:
        claude.messages.count_tokens(model=MODEL, messages=[])  # type: ignore[arg-type]
    assert err.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
