"""Chat completions per model family (Gemini tools and images, reasoning models), stubs, docs examples."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import openai
import pytest

from mockserver.content.text import count_tokens
from mockserver.contracts import load_contracts
from tests.openai.payloads import WEATHER_TOOL

CHAT = load_contracts().get("chat_completions")


def _post(raw: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = raw.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _stream(raw: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = raw.post("/v1/chat/completions", json={**body, "stream": True})
    assert r.status_code == 200, r.text
    frames = [f.removeprefix("data: ") for f in r.text.split("\n\n") if f]
    assert frames[-1] == "[DONE]"
    return [json.loads(f) for f in frames[:-1]]


@pytest.mark.parametrize("example", [e for e in CHAT.examples if "request" in e], ids=lambda e: e["name"])
def test_every_docs_example_is_served(raw: Any, example: dict[str, Any]) -> None:
    body = dict(example["request"])
    if "base64," in json.dumps(body):  # the docs truncate their data URL ("/9j/4AAQSkZJRg..."): use a real one
        body = json.loads(re.sub(r"base64,[^\"]*", "base64," + PNG_1PX, json.dumps(body)))
    if body.get("stream"):
        chunks = _stream(raw, body)
        finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
        assert finishes[-1] in ("stop", "tool_calls", "length")
        if body.get("stream_options", {}).get("include_usage"):
            assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    else:
        out = _post(raw, body)
        assert out["choices"][0]["finish_reason"] in ("stop", "tool_calls", "length")


PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAfbLI3wAAAABJRU5ErkJggg=="


def _magic(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {}}}}


def test_gemini_google_search_is_not_a_tool_call(raw: Any) -> None:
    body = {
        "model": "gemini-2.0-flash",
        "messages": [{"role": "user", "content": "What is the latest news about the Gemini API?"}],
        "tools": [_magic("googleSearch")],
    }
    message = _post(raw, body)["choices"][0]["message"]
    assert "tool_calls" not in message and message["content"].startswith("According to recent search results")


def test_gemini_code_execution_folds_code_and_output_into_content(raw: Any) -> None:
    body = {
        "model": "gemini-2.0-flash",
        "messages": [{"role": "user", "content": "Sum some numbers with code."}],
        "tools": [_magic("codeExecution"), WEATHER_TOOL],
        "tool_choice": "none",
    }
    content = _post(raw, body)["choices"][0]["message"]["content"]
    code = re.search(r"```python\n(.*?)\n```", content, re.DOTALL)
    output = re.search(r"```\n(-?\d+)\n```", content)
    assert code and output
    scope: dict[str, Any] = {}
    exec(compile(code.group(1).replace("print(total)", ""), "<code>", "exec"), scope)  # the code the mock 'ran'
    assert scope["total"] == int(output.group(1))


def test_magic_names_are_plain_functions_for_other_models(raw: Any) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "search"}], "tools": [_magic("googleSearch")]}
    assert _post(raw, body)["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "googleSearch"


def test_gemini_url_context_reads_the_urls(raw: Any) -> None:
    body = {
        "model": "gemini-2.5-flash",
        "messages": [{"role": "user", "content": "Summarise https://example.com/post and https://example.org/x"}],
        "tools": [_magic("urlContext")],
    }
    content = _post(raw, body)["choices"][0]["message"]["content"]
    assert "https://example.com/post" in content and "https://example.org/x" in content


def test_gemini_image_model_returns_a_markdown_data_url_png(raw: Any) -> None:
    body = {
        "model": "gemini-2.0-flash-exp-image-generation",
        "messages": [{"role": "user", "content": "Draw a lighthouse at dusk"}],
    }
    out = _post(raw, body)
    match = re.search(r"!\[image\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", out["choices"][0]["message"]["content"])
    assert match
    assert base64.b64decode(match.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    assert out["usage"]["completion_tokens"] > 1290


def test_deepseek_thinking_gives_reasoning_content(raw: Any) -> None:
    body = {
        "model": "deepseek-v3-1-250821",
        "messages": [{"role": "user", "content": "Hello"}],
        "thinking": {"type": "enabled"},
    }
    out = _post(raw, body)
    message = out["choices"][0]["message"]
    assert message["reasoning_content"] and message["content"]
    reasoning = count_tokens(message["reasoning_content"])
    assert out["usage"]["completion_tokens_details"]["reasoning_tokens"] == reasoning
    assert out["usage"]["completion_tokens"] == reasoning + count_tokens(message["content"])
    chunks = _stream(raw, {**body, "stream_options": {"include_usage": True}})
    streamed = "".join(c["choices"][0]["delta"].get("reasoning_content") or "" for c in chunks if c["choices"])
    assert streamed and chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] == count_tokens(streamed)
    plain = _post(raw, {**body, "thinking": {"type": "disabled"}})
    assert "reasoning_content" not in plain["choices"][0]["message"]


def test_o_series_reasoning_is_hidden_but_counted(raw: Any) -> None:
    out = _post(raw, {"model": "o3-mini", "messages": [{"role": "user", "content": "Hi"}]})
    details = out["usage"]["completion_tokens_details"]
    assert "reasoning_content" not in out["choices"][0]["message"] and details["reasoning_tokens"] > 0
    content_tokens = count_tokens(out["choices"][0]["message"]["content"])
    assert out["usage"]["completion_tokens"] == content_tokens + details["reasoning_tokens"]


def test_stub_content_and_tool_calls_apply_streaming_too(sdk: openai.OpenAI, live: Any) -> None:
    import httpx2

    stubs = [
        {"match": "secret code", "content": "The code is 42.", "reasoning": "Recall the code."},
        {"match": "book a table", "tool_calls": [{"name": "book", "arguments": {"people": 4}}]},
    ]
    assert httpx2.post(live.url + "/__mock/stubs", json=stubs).status_code == 201
    out = sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "the secret code?"}])
    assert out.choices[0].message.content == "The code is 42."
    assert out.choices[0].message.model_extra["reasoning_content"] == "Recall the code."  # type: ignore[index]
    stream = sdk.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "the secret code?"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "The code is 42."
    booked = sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "book a table"}])
    call = booked.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert (call.function.name, json.loads(call.function.arguments)) == ("book", {"people": 4})
    assert booked.choices[0].finish_reason == "tool_calls"
    args = ""
    for chunk in sdk.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "book a table"}], stream=True
    ):
        for delta in chunk.choices[0].delta.tool_calls or ():
            args += delta.function.arguments or "" if delta.function else ""
    assert json.loads(args) == {"people": 4}


def test_stub_json_and_finish_reason(raw: Any) -> None:
    raw.post("/__mock/stubs", json={"match": "give json", "json": {"ok": True}, "finish_reason": "content_filter"})
    choice = _post(raw, {"model": "gpt-4o", "messages": [{"role": "user", "content": "give json"}]})["choices"][0]
    assert json.loads(choice["message"]["content"]) == {"ok": True} and choice["finish_reason"] == "content_filter"
