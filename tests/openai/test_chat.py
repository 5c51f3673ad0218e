"""Chat completions through the official openai SDK: text, n, limits, streaming, tools, structured output."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import pytest
from pydantic import BaseModel

from mockserver.content.text import count_tokens
from tests.openai.payloads import ORDER_TOOL, WEATHER_TOOL

USER = [{"role": "user", "content": "Explain how octopuses change colour."}]


def test_plain_completion_has_consistent_usage(sdk: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "You are terse."}, *USER]
    out = sdk.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
    assert out.object == "chat.completion" and out.id.startswith("chatcmpl-") and out.model == "gpt-4o"
    choice = out.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    content = choice.message.content or ""
    assert "octopuses" in content.lower() or "colour" in content.lower()
    usage = out.usage
    assert usage is not None
    assert usage.completion_tokens == count_tokens(content)
    # 3 per message + 3 to prime the reply, plus the text of each message.
    assert usage.prompt_tokens == 3 + 2 * 3 + count_tokens("You are terse.") + count_tokens(USER[0]["content"])
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_n_choices_are_indexed_and_counted(sdk: openai.OpenAI) -> None:
    out = sdk.chat.completions.create(model="gpt-4o", messages=USER, n=3)  # type: ignore[arg-type]
    assert [c.index for c in out.choices] == [0, 1, 2]
    assert out.usage is not None
    assert out.usage.completion_tokens == sum(count_tokens(c.message.content or "") for c in out.choices)


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_token_limit_gives_length(sdk: openai.OpenAI, field: str) -> None:
    out = sdk.chat.completions.create(model="gpt-4o", messages=USER, **{field: 5})  # type: ignore[call-overload]
    assert out.choices[0].finish_reason == "length"
    assert out.usage.completion_tokens == 5 == count_tokens(out.choices[0].message.content)


def test_stop_sequence_cuts_the_reply(raw: Any) -> None:
    raw.post("/__mock/stubs", json={"match": "stop-test", "content": "alpha beta gamma delta"})
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "stop-test"}], "stop": ["gamma", "zeta"]}
    out = raw.post("/v1/chat/completions", json=body).json()
    assert out["choices"][0]["message"]["content"] == "alpha beta "
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"]["completion_tokens"] == count_tokens("alpha beta ")


def test_stream_with_usage_chunk(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}
    )  # type: ignore[call-overload]
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == count_tokens(text)
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1


def test_stream_without_usage_and_done_terminator(raw: Any) -> None:
    r = raw.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": USER, "stream": True, "n": 2})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in r.text.split("\n\n") if f]
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    assert all("usage" not in c for c in chunks)
    assert {c["choices"][0]["index"] for c in chunks} == {0, 1}
    assert sum(1 for c in chunks if c["choices"][0]["finish_reason"]) == 2


def _weather_args(call: Any) -> dict[str, Any]:
    args = json.loads(call.function.arguments)
    jsonschema.validate(args, WEATHER_TOOL["function"]["parameters"])
    return args  # type: ignore[no-any-return]


def test_auto_tool_call_arguments_match_schema(sdk: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "What is the weather like in Boston today?"}]
    out = sdk.chat.completions.create(model="gpt-4o", messages=messages, tools=[ORDER_TOOL, WEATHER_TOOL])  # type: ignore[arg-type, list-item]
    choice = out.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]  # type: ignore[index]
    assert call.id.startswith("call_") and call.type == "function"
    assert call.function.name == "get_current_weather"  # picked by relevance to the prompt
    _weather_args(call)


def test_forced_and_required_tool_choice(sdk: openai.OpenAI) -> None:
    tools: Any = [WEATHER_TOOL, ORDER_TOOL]
    forced = sdk.chat.completions.create(
        model="gpt-4o",
        messages=USER,  # type: ignore[arg-type]
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "get_delivery_date"}},
    )
    call = forced.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_delivery_date"
    jsonschema.validate(json.loads(call.function.arguments), ORDER_TOOL["function"]["parameters"])
    required = sdk.chat.completions.create(model="gpt-4o", messages=USER, tools=tools, tool_choice="required")  # type: ignore[arg-type]
    assert required.choices[0].finish_reason == "tool_calls"


def test_tool_choice_none_and_tool_result_give_text(sdk: openai.OpenAI) -> None:
    ask = [{"role": "user", "content": "Weather in Paris?"}]
    none = sdk.chat.completions.create(model="gpt-4o", messages=ask, tools=[WEATHER_TOOL], tool_choice="none")  # type: ignore[arg-type, list-item]
    assert none.choices[0].message.tool_calls is None and none.choices[0].finish_reason == "stop"
    first = sdk.chat.completions.create(model="gpt-4o", messages=ask, tools=[WEATHER_TOOL])  # type: ignore[arg-type, list-item]
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    follow_up = [
        *ask,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'},
    ]
    final = sdk.chat.completions.create(model="gpt-4o", messages=follow_up, tools=[WEATHER_TOOL])  # type: ignore[arg-type, list-item]
    assert final.choices[0].finish_reason == "stop" and final.choices[0].message.content


def test_streamed_tool_call_fragments_join_to_valid_arguments(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "weather in Hanoi"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        tool_choice="required",
        stream=True,
    )
    names: dict[int, str] = {}
    args: dict[int, str] = {}
    fragments = 0
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or ():
            if delta.function and delta.function.name:
                names[delta.index] = delta.function.name
            if delta.function and delta.function.arguments:
                fragments += 1
                args[delta.index] = args.get(delta.index, "") + delta.function.arguments
    assert finish == "tool_calls" and names == {0: "get_current_weather"} and fragments > 1
    jsonschema.validate(json.loads(args[0]), WEATHER_TOOL["function"]["parameters"])


def test_legacy_functions_give_function_call(raw: Any) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "weather in Rome"}],
        "functions": [WEATHER_TOOL["function"]],
        "function_call": {"name": "get_current_weather"},
    }
    out = raw.post("/v1/chat/completions", json=body).json()["choices"][0]
    assert out["finish_reason"] == "function_call"
    jsonschema.validate(
        json.loads(out["message"]["function_call"]["arguments"]), WEATHER_TOOL["function"]["parameters"]
    )


SCHEMA = {
    "type": "object",
    "properties": {
        "is_violating": {"type": "boolean"},
        "category": {"type": ["string", "null"], "enum": ["violence", "sexual", "self_harm", None]},
        "scores": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}, "minItems": 2},
        "meta": {
            "type": "object",
            "properties": {"lang": {"type": "string", "enum": ["en", "vi"]}},
            "required": ["lang"],
        },
    },
    "required": ["is_violating", "category", "scores", "meta"],
    "additionalProperties": False,
}


def test_json_schema_output_validates(sdk: openai.OpenAI) -> None:
    out = sdk.chat.completions.create(
        model="gpt-4.1-2025-04-14",
        messages=[{"role": "user", "content": "How do I prepare for a job interview?"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "compliance", "schema": SCHEMA, "strict": True},
        },
    )
    jsonschema.validate(json.loads(out.choices[0].message.content or ""), SCHEMA)


class Weather(BaseModel):
    city: str
    temperature_c: float
    conditions: list[str]


@pytest.mark.anyio
async def test_sdk_parse_with_pydantic_model(asdk: openai.AsyncOpenAI) -> None:
    out = await asdk.chat.completions.parse(
        model="gpt-4o", messages=[{"role": "user", "content": "Weather in Oslo"}], response_format=Weather
    )
    parsed = out.choices[0].message.parsed
    assert isinstance(parsed, Weather) and parsed.conditions


def test_json_object_mode(raw: Any) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Reply in JSON about tea."}],
        "response_format": {"type": "json_object"},
    }
    content = raw.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert isinstance(json.loads(content), dict)


PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAfbLI3wAAAABJRU5ErkJggg=="


@pytest.mark.anyio
async def test_vision_parts_are_answered_and_counted(asdk: openai.AsyncOpenAI) -> None:
    content: Any = [
        {"type": "text", "text": "What is in these images?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"}},
    ]
    out = await asdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": content}])
    assert "image" in (out.choices[0].message.content or "")
    assert out.usage is not None
    assert out.usage.prompt_tokens == 6 + count_tokens("What is in these images?") + 85 + 765


@pytest.mark.anyio
async def test_async_stream(asdk: openai.AsyncOpenAI) -> None:
    stream = await asdk.chat.completions.create(model="claude-sonnet-4-20250514", messages=USER, stream=True)  # type: ignore[arg-type]
    pieces = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    assert len(pieces) > 3 and "".join(pieces).strip()


def test_logprobs(raw: Any) -> None:
    body = {"model": "gpt-4o", "messages": USER, "logprobs": True, "top_logprobs": 2}
    choice = raw.post("/v1/chat/completions", json=body).json()["choices"][0]
    tokens = choice["logprobs"]["content"]
    assert "".join(t["token"] for t in tokens) == choice["message"]["content"]
    assert all(t["logprob"] <= 0 and len(t["top_logprobs"]) == 2 for t in tokens)


def test_streamed_legacy_function_call_and_logprobs(raw: Any) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "weather in Rome"}],
        "functions": [WEATHER_TOOL["function"]],
        "stream": True,
    }
    frames = [f.removeprefix("data: ") for f in raw.post("/v1/chat/completions", json=body).text.split("\n\n") if f]
    deltas = [json.loads(f)["choices"][0] for f in frames[:-1]]
    calls = [d["delta"]["function_call"] for d in deltas if "function_call" in d["delta"]]
    assert calls[0]["name"] == "get_current_weather" and deltas[-1]["finish_reason"] == "function_call"
    arguments = json.loads("".join(c.get("arguments", "") for c in calls))
    jsonschema.validate(arguments, WEATHER_TOOL["function"]["parameters"])
    body = {"model": "gpt-4o", "messages": USER, "stream": True, "logprobs": True, "top_logprobs": 1}
    frames = [f.removeprefix("data: ") for f in raw.post("/v1/chat/completions", json=body).text.split("\n\n") if f]
    chunks = [json.loads(f)["choices"][0] for f in frames[:-1]]
    with_text = [c for c in chunks if c["delta"].get("content")]
    assert with_text and all(c["logprobs"]["content"][0]["token"] == c["delta"]["content"] for c in with_text)


@pytest.mark.anyio
async def test_async_client_over_a_live_server(live: Any) -> None:
    async with openai.AsyncOpenAI(base_url=live.url + "/v1", api_key="sk-test", max_retries=0) as client:
        out = await client.chat.completions.create(model="gpt-4o", messages=USER, n=2)  # type: ignore[arg-type]
        assert len(out.choices) == 2
        stream = await client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)  # type: ignore[arg-type]
        assert "".join([c.choices[0].delta.content or "" async for c in stream])
