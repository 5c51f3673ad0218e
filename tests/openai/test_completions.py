"""Legacy completions: default max_tokens 16, n per prompt, echo, stop, logprobs, streaming."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from mockserver.content.text import count_tokens


def test_default_limit_is_16_tokens(sdk: openai.OpenAI) -> None:
    out = sdk.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test")
    assert out.object == "text_completion" and out.id.startswith("cmpl-")
    choice = out.choices[0]
    assert choice.finish_reason == "length" and count_tokens(choice.text) == 16
    assert out.usage is not None and out.usage.completion_tokens == 16
    assert out.usage.prompt_tokens == count_tokens("Say this is a test")


def test_prompt_list_times_n_and_echo(raw: Any) -> None:
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": ["One", "Two"], "n": 2, "echo": True, "max_tokens": 200}
    out = raw.post("/v1/completions", json=body).json()
    assert [c["index"] for c in out["choices"]] == [0, 1, 2, 3]
    assert [c["text"][:3] for c in out["choices"]] == ["One", "One", "Two", "Two"]
    assert all(c["finish_reason"] == "stop" for c in out["choices"])
    assert out["usage"]["completion_tokens"] == sum(count_tokens(c["text"][3:]) for c in out["choices"])


def test_logprobs_offsets_point_into_the_text(raw: Any) -> None:
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "Hi", "logprobs": 3, "echo": True, "max_tokens": 8}
    choice = raw.post("/v1/completions", json=body).json()["choices"][0]
    lp = choice["logprobs"]
    assert len(lp["tokens"]) == 8 and all(len(t) == 3 for t in lp["top_logprobs"])
    for token, offset in zip(lp["tokens"], lp["text_offset"], strict=True):
        assert choice["text"][offset : offset + len(token)] == token


def test_token_prompts(raw: Any) -> None:
    out = raw.post("/v1/completions", json={"model": "davinci-002", "prompt": [[1, 2, 3], [4, 5]]}).json()
    assert out["usage"]["prompt_tokens"] == 5 and len(out["choices"]) == 2


@pytest.mark.anyio
async def test_stream_with_usage(asdk: openai.AsyncOpenAI) -> None:
    stream = await asdk.completions.create(
        model="gpt-3.5-turbo-instruct",
        prompt="Write a haiku",
        max_tokens=30,
        stream=True,
        stream_options={"include_usage": True},
    )
    events = [e async for e in stream]
    text = "".join(e.choices[0].text for e in events if e.choices)
    assert events[-1].choices == [] and events[-1].usage is not None
    assert events[-1].usage.completion_tokens == count_tokens(text)
    assert [e.choices[0].finish_reason for e in events if e.choices][-1] in ("stop", "length")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "gpt-3.5-turbo-instruct"}, "prompt"),
        ({"model": "gpt-3.5-turbo-instruct", "prompt": "x", "n": 3, "best_of": 2}, "best_of"),
        ({"model": "gpt-3.5-turbo-instruct", "prompt": "x", "logprobs": 9}, "logprobs"),
        (
            {"model": "gpt-3.5-turbo-instruct", "prompt": "x", "stream_options": {"include_usage": True}},
            "stream_options",
        ),
    ],
)
def test_bad_completion_requests(raw: Any, body: dict[str, Any], param: str) -> None:
    r = raw.post("/v1/completions", json=body)
    assert r.status_code == 400 and r.json()["error"]["param"] == param


def test_content_stub_fixes_the_completion(raw: Any) -> None:
    raw.post("/__mock/stubs", json={"operation": "completions_create", "content": " fixed words"})
    out = raw.post("/v1/completions", json={"model": "gpt-3.5-turbo-instruct", "prompt": "x", "n": 2}).json()
    assert [c["text"] for c in out["choices"]] == [" fixed words", " fixed words"]
    assert out["usage"]["completion_tokens"] == 2 * count_tokens(" fixed words")
