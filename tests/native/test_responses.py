"""The OpenAI Responses API through the openai SDK and raw HTTP: text, streaming, function tools and
chaining by previous_response_id, structured output, reasoning, web search, limits and errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import openai
import pytest
from pydantic import BaseModel
from starlette.testclient import TestClient

MODEL = "gpt-4o"
AUTH = {"Authorization": "Bearer sk-test"}
Sse = Callable[[str, str], list[tuple[str | None, Any]]]
WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}


def test_create_with_text_input_and_instructions(oai: openai.OpenAI) -> None:
    bare = oai.responses.create(model=MODEL, input="Tell me about unicorns")
    response = oai.responses.create(model=MODEL, input="Tell me about unicorns", instructions="Talk like a pirate.")
    assert response.id.startswith("resp_") and response.object == "response" and response.status == "completed"
    assert "unicorns" in response.output_text.lower()
    message = response.output[0]
    assert message.type == "message" and message.role == "assistant" and message.id.startswith("msg_")
    assert response.instructions == "Talk like a pirate."
    assert response.usage and bare.usage
    assert response.usage.input_tokens > bare.usage.input_tokens  # instructions count
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


def test_structured_item_input(oai: openai.OpenAI) -> None:
    items: Any = [
        {"role": "developer", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "input_text", "text": "Describe volcanoes"}]},
    ]
    response = oai.responses.create(model=MODEL, input=items)
    assert "volcanoes" in response.output_text.lower()


def test_raw_stream_conforms_event_by_event(raw: TestClient, sse_checked: Sse) -> None:
    body = {"model": MODEL, "input": "Tell me about unicorns", "stream": True}
    events = sse_checked("responses_create", raw.post("/v1/responses", json=body, headers=AUTH).text)
    names = [name for name, _ in events]
    assert names[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert names[-1] == "response.completed" and "[DONE]" not in names
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert all(d["type"] == name for name, d in events)
    text = "".join(d["delta"] for n, d in events if n == "response.output_text.delta")
    done = next(d for n, d in events if n == "response.output_text.done")
    assert text == done["text"] and events[-1][1]["response"]["output"][0]["content"][0]["text"] == text
    assert len({d["response"]["id"] for n, d in events if "response" in d}) == 1


def test_sdk_stream_helper(oai: openai.OpenAI) -> None:
    with oai.responses.stream(model=MODEL, input="Tell me about unicorns") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(deltas) > 3 and "".join(deltas) == final.output_text
    assert final.usage and final.usage.output_tokens > 0


def test_function_call_then_chained_output(oai: openai.OpenAI) -> None:
    first = oai.responses.create(model=MODEL, input="What's the weather in Paris?", tools=[WEATHER])  # type: ignore[list-item]
    call = first.output[0]
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id.startswith("call_")
    jsonschema_rs.validate(WEATHER["parameters"], json.loads(call.arguments))
    output = {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 18}'}
    second = oai.responses.create(model=MODEL, previous_response_id=first.id, input=[output], tools=[WEATHER])  # type: ignore[list-item]
    assert second.previous_response_id == first.id and second.output[0].type == "message"
    assert "paris" in second.output_text.lower()  # the first turn's question is remembered


def test_streamed_function_call_arguments(raw: TestClient, sse_checked: Sse) -> None:
    body = {"model": MODEL, "input": "weather?", "tools": [WEATHER], "tool_choice": "required", "stream": True}
    events = sse_checked("responses_create", raw.post("/v1/responses", json=body, headers=AUTH).text)
    added = next(d for n, d in events if n == "response.output_item.added")
    assert added["item"]["type"] == "function_call" and added["item"]["arguments"] == ""
    joined = "".join(d["delta"] for n, d in events if n == "response.function_call_arguments.delta")
    done = next(d for n, d in events if n == "response.function_call_arguments.done")
    assert joined == done["arguments"] and done["name"] == "get_weather"
    jsonschema_rs.validate(WEATHER["parameters"], json.loads(joined))


def test_chaining_errors_name_the_field(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        oai.responses.create(model=MODEL, previous_response_id="resp_unknown", input="hi")
    body: Any = err.value.body
    assert body["param"] == "previous_response_id" and body["code"] == "previous_response_not_found"
    first = oai.responses.create(model=MODEL, input="hello")
    with pytest.raises(openai.BadRequestError) as err:
        oai.responses.create(
            model=MODEL,
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": "call_nope", "output": "1"}],
        )
    assert "call_nope" in str(err.value)


def test_unstored_responses_cannot_be_continued_and_reset_forgets(oai: openai.OpenAI, raw: TestClient) -> None:
    unstored = oai.responses.create(model=MODEL, input="hello", store=False)
    with pytest.raises(openai.BadRequestError):
        oai.responses.create(model=MODEL, previous_response_id=unstored.id, input="again")
    stored = oai.responses.create(model=MODEL, input="hello")
    assert oai.responses.create(model=MODEL, previous_response_id=stored.id, input="again").status == "completed"
    raw.post("/__mock/reset")
    with pytest.raises(openai.BadRequestError):
        oai.responses.create(model=MODEL, previous_response_id=stored.id, input="again")


class Event(BaseModel):
    name: str
    date: str
    participants: list[str]


def test_parse_with_a_pydantic_text_format(oai: openai.OpenAI) -> None:
    parsed = oai.responses.parse(model=MODEL, input="Alice and Bob meet on Friday", text_format=Event)
    assert isinstance(parsed.output_parsed, Event) and parsed.output_parsed.participants


def test_json_schema_and_json_object_formats(raw: TestClient) -> None:
    schema = {
        "type": "object",
        "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1}},
        "required": ["score"],
    }
    fmt = {"format": {"type": "json_schema", "name": "score", "schema": schema, "strict": True}}
    answer = raw.post("/v1/responses", json={"model": MODEL, "input": "rate it", "text": fmt}, headers=AUTH).json()
    jsonschema_rs.validate(schema, json.loads(answer["output"][0]["content"][0]["text"]))
    assert answer["text"]["format"]["name"] == "score"
    plain = {"format": {"type": "json_object"}}
    refused = raw.post("/v1/responses", json={"model": MODEL, "input": "rate it", "text": plain}, headers=AUTH)
    assert refused.status_code == 400 and "json" in refused.json()["error"]["message"]
    ok = raw.post("/v1/responses", json={"model": MODEL, "input": "rate it as JSON", "text": plain}, headers=AUTH)
    assert isinstance(json.loads(ok.json()["output"][0]["content"][0]["text"]), dict)


def test_reasoning_models_emit_reasoning_items(raw: TestClient, sse_checked: Sse) -> None:
    body = {"model": "o4-mini", "input": "Why is the sky blue?", "reasoning": {"effort": "high", "summary": "auto"}}
    answer = raw.post("/v1/responses", json=body, headers=AUTH).json()
    reasoning = answer["output"][0]
    assert reasoning["type"] == "reasoning" and reasoning["summary"][0]["type"] == "summary_text"
    assert answer["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    events = sse_checked(
        "responses_create", raw.post("/v1/responses", json={**body, "stream": True}, headers=AUTH).text
    )
    names = [n for n, _ in events]
    assert "response.reasoning_summary_text.delta" in names and "response.reasoning_summary_part.done" in names
    refused = raw.post(
        "/v1/responses", json={"model": MODEL, "input": "x", "reasoning": {"effort": "low"}}, headers=AUTH
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "reasoning.effort"
    hot = raw.post("/v1/responses", json={"model": "o3", "input": "x", "temperature": 0.2}, headers=AUTH)
    assert hot.status_code == 400 and hot.json()["error"]["param"] == "temperature"


def test_web_search_call_and_url_citations(oai: openai.OpenAI) -> None:
    response = oai.responses.create(
        model=MODEL, input="Latest news about fusion power", tools=[{"type": "web_search_preview"}]
    )
    kinds = [item.type for item in response.output]
    assert kinds == ["web_search_call", "message"]
    message = response.output[1]
    assert message.type == "message"
    part = message.content[0]
    assert part.type == "output_text" and part.annotations
    for note in part.annotations:
        assert note.type == "url_citation" and note.url.startswith("https://")
        assert 0 <= note.start_index < note.end_index <= len(part.text)


def test_max_output_tokens_makes_it_incomplete(raw: TestClient, sse_checked: Sse) -> None:
    body = {"model": MODEL, "input": "Tell me a long story about dragons", "max_output_tokens": 16}
    answer = raw.post("/v1/responses", json=body, headers=AUTH).json()
    assert answer["status"] == "incomplete" and answer["incomplete_details"] == {"reason": "max_output_tokens"}
    assert answer["usage"]["output_tokens"] <= 16
    events = sse_checked(
        "responses_create", raw.post("/v1/responses", json={**body, "stream": True}, headers=AUTH).text
    )
    assert events[-1][0] == "response.incomplete"
    low = raw.post("/v1/responses", json={**body, "max_output_tokens": 4}, headers=AUTH)
    assert low.status_code == 400 and low.json()["error"]["param"] == "max_output_tokens"


def test_stubs_apply(raw: TestClient) -> None:
    raw.post("/__mock/stubs", json={"operation": "responses_create", "content": "Stubbed reply."})
    answer = raw.post("/v1/responses", json={"model": MODEL, "input": "hi"}, headers=AUTH).json()
    assert answer["output"][0]["content"][0]["text"] == "Stubbed reply."
    raw.post(
        "/__mock/stubs",
        json={"operation": "responses_create", "tool_calls": [{"name": "lookup", "arguments": {"q": 1}}]},
    )
    answer = raw.post("/v1/responses", json={"model": MODEL, "input": "hi"}, headers=AUTH).json()
    assert answer["output"][0]["name"] == "lookup" and json.loads(answer["output"][0]["arguments"]) == {"q": 1}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"input": None}, "input"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"temperature": 5}, "temperature"),
        ({"tools": [{"type": "function"}]}, "tools[0].name"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(raw: TestClient, patch: dict[str, Any], field: str) -> None:
    body: dict[str, Any] = {"model": MODEL, "input": "hi", **patch}
    body = {k: v for k, v in body.items() if v is not None}
    answer = raw.post("/v1/responses", json=body, headers=AUTH)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and field in (error["param"] or "") + error["message"]


@pytest.mark.anyio
async def test_async_in_process(aoai: openai.AsyncOpenAI) -> None:
    response = await aoai.responses.create(model=MODEL, input="Tell me about unicorns")
    assert response.output_text
    async with aoai.responses.stream(model=MODEL, input="Tell me about unicorns", tools=[WEATHER]) as stream:  # type: ignore[list-item]
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    assert final.output[0].type == "function_call"


def test_sdk_raw_stream_events_conform(oai: openai.OpenAI) -> None:
    from mockserver.contracts import load_contracts

    contract = load_contracts().get("responses_create")
    seen = []
    for tools in ([WEATHER], [{"type": "web_search_preview"}]):
        stream = oai.responses.create(
            model="o4-mini",
            input="Weather?",
            tools=tools,
            reasoning={"summary": "auto"},
            stream=True,  # type: ignore[arg-type]
        )
        for event in stream:
            data = event.to_dict()
            assert not contract.validate_event(event.type, data), (event.type, data)
            seen.append(event.type)
    assert seen[0] == "response.created" and seen[-1] == "response.completed"
    for kind in ("reasoning_summary_text.delta", "function_call_arguments.delta", "web_search_call.searching"):
        assert f"response.{kind}" in seen
    assert "response.output_text.annotation.added" in seen
