"""Two-step agent loops in each of the four formats: a tool call with arguments from the prompt, the
tool's result sent back, and a final text answer that uses the result (finish reason "stop" or the
format's equivalent). Also: `tool_choice` required / named honoured, parallel calls when several
tools fit, and a stub still overrides what the prompt implies.
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

QUESTION = "What's the weather in Hanoi?"
RESULT = {"temperature": 31, "condition": "sunny"}
WEATHER_PARAMS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
}
TIME_PARAMS: dict[str, Any] = {
    "type": "object",
    "properties": {"timezone": {"type": "string"}},
    "required": ["timezone"],
}
CHAT_TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather now", "parameters": WEATHER_PARAMS},
    },
    {"type": "function", "function": {"name": "get_time", "description": "Local time", "parameters": TIME_PARAMS}},
]


def _chat(target: Target) -> openai.OpenAI:
    return openai.OpenAI(base_url=target.openai_url, api_key=target.api_key, max_retries=0)


def test_chat_completions_loop(target: Target) -> None:
    client = _chat(target)
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    first = client.chat.completions.create(model="gpt-4o", messages=messages, tools=CHAT_TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather"]
    assert json.loads(calls[0].function.arguments)["city"] == "Hanoi"
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": calls[0].id, "content": json.dumps(RESULT)})
    final = client.chat.completions.create(model="gpt-4o", messages=messages, tools=CHAT_TOOLS)
    assert final.choices[0].finish_reason == "stop"
    assert not final.choices[0].message.tool_calls
    assert "31" in (final.choices[0].message.content or "")
    assert "sunny" in (final.choices[0].message.content or "")


def test_chat_tool_choice_required_and_named_after_a_result(target: Target) -> None:
    client = _chat(target)
    first = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": QUESTION}], tools=CHAT_TOOLS
    )
    call = (first.choices[0].message.tool_calls or [])[0]
    messages: list[Any] = [
        {"role": "user", "content": QUESTION},
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(RESULT)},
    ]
    again = client.chat.completions.create(model="gpt-4o", messages=messages, tools=CHAT_TOOLS, tool_choice="required")
    assert again.choices[0].finish_reason == "tool_calls"
    named = client.chat.completions.create(
        model="gpt-4o",
        messages=messages,
        tools=CHAT_TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert [c.function.name for c in named.choices[0].message.tool_calls or []] == ["get_time"]


def test_chat_parallel_tool_calls(target: Target) -> None:
    client = _chat(target)
    messages: list[Any] = [{"role": "user", "content": "What's the weather and the local time in Tokyo?"}]
    both = client.chat.completions.create(model="gpt-4o", messages=messages, tools=CHAT_TOOLS)
    names = [c.function.name for c in both.choices[0].message.tool_calls or []]
    assert names == ["get_weather", "get_time"]
    one = client.chat.completions.create(model="gpt-4o", messages=messages, tools=CHAT_TOOLS, parallel_tool_calls=False)
    assert len(one.choices[0].message.tool_calls or []) == 1
    streamed: dict[int, list[str]] = {}
    for chunk in client.chat.completions.create(model="gpt-4o", messages=messages, tools=CHAT_TOOLS, stream=True):
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = streamed.setdefault(delta.index, ["", ""])
            entry[0] += (delta.function and delta.function.name) or ""
            entry[1] += (delta.function and delta.function.arguments) or ""
    assert [name for name, _ in streamed.values()] == names
    assert json.loads(streamed[0][1])["city"] == "Tokyo"


def test_chat_stub_overrides_the_prompt(target: Target) -> None:
    target.handle.stub(
        match="Hanoi", tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "celsius"}}]
    )
    reply = _chat(target).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": QUESTION}], tools=CHAT_TOOLS
    )
    assert json.loads((reply.choices[0].message.tool_calls or [])[0].function.arguments)["city"] == "Oslo"


def test_responses_loop(target: Target) -> None:
    client = _chat(target)
    tools: list[Any] = [{"type": "function", "name": "get_weather", "parameters": WEATHER_PARAMS, "strict": True}]
    first = client.responses.create(model="gpt-4o", input=QUESTION, tools=tools)
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and json.loads(calls[0].arguments)["city"] == "Hanoi"
    output = {"type": "function_call_output", "call_id": calls[0].call_id, "output": json.dumps(RESULT)}
    final = client.responses.create(model="gpt-4o", previous_response_id=first.id, input=[output], tools=tools)
    assert final.status == "completed"
    assert [item.type for item in final.output] == ["message"]
    assert "31" in final.output_text and "sunny" in final.output_text


def test_anthropic_loop(target: Target) -> None:
    client = anthropic.Anthropic(base_url=target.url, api_key=target.api_key, max_retries=0)
    tools: list[Any] = [{"name": "get_weather", "description": "Weather now", "input_schema": WEATHER_PARAMS}]
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    first = client.messages.create(model="claude-sonnet-4-5", max_tokens=512, messages=messages, tools=tools)
    assert first.stop_reason == "tool_use"
    use = next(b for b in first.content if b.type == "tool_use")
    assert use.input["city"] == "Hanoi"  # type: ignore[index]
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append(
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": json.dumps(RESULT)}]}
    )
    final = client.messages.create(model="claude-sonnet-4-5", max_tokens=512, messages=messages, tools=tools)
    assert final.stop_reason == "end_turn"
    text = "".join(b.text for b in final.content if b.type == "text")
    assert "31" in text and "sunny" in text
    forced = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=512, messages=messages, tools=tools, tool_choice={"type": "any"}
    )
    assert forced.stop_reason == "tool_use"


def test_gemini_loop(target: Target) -> None:
    client = genai.Client(api_key=target.api_key, http_options=types.HttpOptions(base_url=target.url))
    declaration = types.FunctionDeclaration(
        name="get_weather", description="Weather now", parameters_json_schema=WEATHER_PARAMS
    )
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[declaration])])
    contents: list[Any] = [types.Content(role="user", parts=[types.Part(text=QUESTION)])]
    first = client.models.generate_content(model="gemini-2.5-flash", contents=contents, config=config)
    calls = first.function_calls or []
    assert len(calls) == 1 and (calls[0].args or {})["city"] == "Hanoi"
    contents.append(first.candidates[0].content)  # type: ignore[index]
    contents.append(
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response=RESULT)])
    )
    final = client.models.generate_content(model="gemini-2.5-flash", contents=contents, config=config)
    assert not final.function_calls
    assert final.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    assert "31" in (final.text or "") and "sunny" in (final.text or "")


def test_parallel_calls_in_responses_and_anthropic(target: Target) -> None:
    question = "What's the weather and the local time in Tokyo?"
    responses_tools: list[Any] = [
        {"type": "function", "name": "get_weather", "parameters": WEATHER_PARAMS},
        {"type": "function", "name": "get_time", "parameters": TIME_PARAMS},
    ]
    client = _chat(target)
    both = client.responses.create(model="gpt-4o", input=question, tools=responses_tools)
    assert [i.name for i in both.output if i.type == "function_call"] == ["get_weather", "get_time"]
    one = client.responses.create(model="gpt-4o", input=question, tools=responses_tools, parallel_tool_calls=False)
    assert len([i for i in one.output if i.type == "function_call"]) == 1

    claude = anthropic.Anthropic(base_url=target.url, api_key=target.api_key, max_retries=0)
    tools: list[Any] = [
        {"name": "get_weather", "input_schema": WEATHER_PARAMS},
        {"name": "get_time", "input_schema": TIME_PARAMS},
    ]
    messages: list[Any] = [{"role": "user", "content": question}]
    message = claude.messages.create(model="claude-sonnet-4-5", max_tokens=512, messages=messages, tools=tools)
    assert [b.name for b in message.content if b.type == "tool_use"] == ["get_weather", "get_time"]
    single = claude.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=512,
        messages=messages,
        tools=tools,
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
    )
    assert len([b for b in single.content if b.type == "tool_use"]) == 1


def test_answers_are_deterministic(target: Target) -> None:
    client = _chat(target)
    messages: list[Any] = [{"role": "user", "content": "Compare the weather in Toronto, Dallas and Lima."}]
    first = client.chat.completions.create(model="gpt-4o", messages=messages, tools=CHAT_TOOLS)
    target.handle.reset()
    second = client.chat.completions.create(model="gpt-4o", messages=messages, tools=CHAT_TOOLS)
    assert first.model_dump() == second.model_dump()
    calls = [(c.function.name, json.loads(c.function.arguments)) for c in first.choices[0].message.tool_calls or []]
    assert [(name, args["city"]) for name, args in calls] == [
        ("get_weather", "Toronto"),
        ("get_weather", "Dallas"),
        ("get_weather", "Lima"),
    ]


def test_forced_tools_after_a_result_in_responses_and_gemini(target: Target) -> None:
    client = _chat(target)
    tools: list[Any] = [
        {"type": "function", "name": "get_weather", "parameters": WEATHER_PARAMS},
        {"type": "function", "name": "get_time", "parameters": TIME_PARAMS},
    ]
    first = client.responses.create(model="gpt-4o", input=QUESTION, tools=tools)
    call = next(i for i in first.output if i.type == "function_call")
    output: list[Any] = [{"type": "function_call_output", "call_id": call.call_id, "output": json.dumps(RESULT)}]
    named = client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=output,
        tools=tools,
        tool_choice={"type": "function", "name": "get_time"},
    )
    assert [i.name for i in named.output if i.type == "function_call"] == ["get_time"]
    required = client.responses.create(
        model="gpt-4o", previous_response_id=first.id, input=output, tools=tools, tool_choice="required"
    )
    assert [i.type for i in required.output] == ["function_call"]

    gemini = genai.Client(api_key=target.api_key, http_options=types.HttpOptions(base_url=target.url))
    declaration = types.FunctionDeclaration(name="get_weather", parameters_json_schema=WEATHER_PARAMS)
    contents: list[Any] = [
        types.Content(role="user", parts=[types.Part(text=QUESTION)]),
        types.Content(role="model", parts=[types.Part.from_function_call(name="get_weather", args={"city": "Hanoi"})]),
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response=RESULT)]),
    ]
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[declaration])],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
    )
    forced = gemini.models.generate_content(model="gemini-2.5-flash", contents=contents, config=config)
    assert [c.name for c in forced.function_calls or []] == ["get_weather"]
