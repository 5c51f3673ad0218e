"""Same seed + same calls ⇒ byte-identical answers (stopped clock); another seed ⇒ other answers.

The plain chat completion, the commonest answer, is checked on many varied bodies: reproducible,
conforming to its contract (strict mode), usage that counts the text, and `max_tokens` cuts.
"""

from __future__ import annotations

import random
import re
from typing import Any

import orjson
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.content.text import count_tokens
from mockserver.settings import Settings
from tests.openai.payloads import WEATHER_TOOL

CALLS: list[tuple[str, str, Any]] = [
    ("POST", "/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "n": 2}),
    ("POST", "/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "n": 2}),
    (
        "POST",
        "/v1/chat/completions",
        {
            "model": "deepseek-reasoner",
            "messages": [{"role": "user", "content": "Weather?"}],
            "tools": [WEATHER_TOOL],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
    ("POST", "/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": ["a", "b"], "logprobs": 2}),
    ("POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": ["x y", "z"], "encoding_format": "base64"}),
    ("GET", "/v1/models", None),
    ("GET", "/yescale/apikeylist", None),
    ("GET", "/yescale/logs", None),
    ("GET", "/yescale/user", None),
    ("GET", "/v1/dashboard/billing/usage", None),
]


def _run(seed: int) -> list[bytes]:
    app = create_app(Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0, seed=seed))
    out = []
    with TestClient(app, headers={"Authorization": "Bearer dash-token"}) as client:
        for method, path, body in CALLS:
            r = client.request(method, path, json=body)
            assert r.status_code == 200, (path, r.text)
            out.append(r.content)
    return out


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    first, second, other = _run(7), _run(7), _run(8)
    assert first == second
    # Repeating a call gives a new answer (per-call counter), still reproducible across runs.
    assert first[0] != first[1]
    assert other[0] != first[0] and other[2] != first[2] and other[3] != first[3]
    # Embeddings are a function of the text and the model only, like a real embedding model's.
    assert other[4] == first[4]


MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-20250514", "gemini-2.0-flash", "deepseek-chat", "my-own-model")
WORDS = (
    "octopus",
    "tide",
    "harbour",
    "lantern",
    "compiler",
    "garden",
    "violin",
    "glacier",
    "theorem",
    "the",
    "a",
    "of",
    "and",
    "why",
    "how",
    "is",
)


def plain_bodies(count: int) -> list[dict[str, Any]]:
    """Varied plain-text chat bodies: system or developer prompts, earlier turns, names, empty and
    non-ASCII content, no limit or limits that cut (both limit fields at once too)."""
    rng = random.Random(11)
    bodies: list[dict[str, Any]] = []
    for i in range(count):
        messages: list[dict[str, Any]] = []
        if i % 3:
            messages.append({"role": rng.choice(["system", "developer"]), "content": "Be brief, «please»."})
        for _ in range(i % 3):
            messages.append({"role": "user", "content": " ".join(rng.sample(WORDS, 4))})
            messages.append({"role": "assistant", "content": None if i % 5 == 0 else "Noted, tide first."})
        prompt = rng.choice(["", "Hi", "北京今天天气怎么样?", " ".join(rng.choices(WORDS, k=rng.randint(1, 60)))])
        user: dict[str, Any] = {"role": "user", "content": prompt}
        if i % 7 == 0:
            user["name"] = "ana"
        messages.append(user)
        body: dict[str, Any] = {"model": MODELS[i % len(MODELS)], "messages": messages}
        limit = rng.choice([None, 1, 3, 12, 40, 500])
        if limit is not None:
            body[rng.choice(["max_tokens", "max_completion_tokens"])] = limit
        if i % 11 == 0:
            body["max_tokens"], body["max_completion_tokens"] = 30, 9
        if i % 2:
            body["temperature"] = 0.5
        bodies.append(body)
    return bodies


BODIES = plain_bodies(60)


def _answers(bodies: list[Any], seed: int = 7) -> list[bytes]:
    """Each body's answer from a fresh strict-mode app (a non-conforming answer would be a 500)."""
    app = create_app(Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0, seed=seed))
    with TestClient(app, headers={"Authorization": "Bearer sk-test"}) as client:
        responses = [
            client.post("/v1/chat/completions", content=b, headers={"Content-Type": "application/json"})
            if isinstance(b, bytes)
            else client.post("/v1/chat/completions", json=b)
            for b in bodies
        ]
    assert [r.status_code for r in responses] == [200] * len(bodies), [
        r.text for r in responses if r.status_code != 200
    ]
    return [r.content for r in responses]


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """OpenAI's cookbook count: 3 per message, 3 to prime the reply, one more per name."""
    total = 3
    for message in messages:
        total += 3 + count_tokens(message.get("content") or "")
        if "name" in message:
            total += 1 + count_tokens(message["name"])
    return total


def test_plain_answers_repeat_across_runs_and_differ_across_calls() -> None:
    calls = BODIES + BODIES  # every body twice: the second call is a new answer
    first, second, other = _answers(calls), _answers(calls), _answers(calls, seed=8)
    assert first == second
    assert all(a != b for a, b in zip(first[: len(BODIES)], first[len(BODIES) :], strict=True))
    assert sum(a != b for a, b in zip(first, other, strict=True)) == len(calls)


def test_plain_answers_conform_and_count_their_tokens() -> None:
    contract = create_app(Settings()).state.mock.contracts.by_id["chat_completions"]
    for body, raw in zip(BODIES, _answers(BODIES), strict=True):
        out = orjson.loads(raw)
        assert contract.validate_response(200, out) == []
        assert re.fullmatch(r"chatcmpl-[A-Za-z0-9]{29}", out["id"]) and out["model"] == body["model"]
        (choice,) = out["choices"]
        content = choice["message"]["content"]
        usage = out["usage"]
        assert usage["completion_tokens"] == count_tokens(content) > 0
        assert usage["prompt_tokens"] == _prompt_tokens(body["messages"])
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        limits = [body[k] for k in ("max_tokens", "max_completion_tokens") if k in body]
        if choice["finish_reason"] == "length":
            # cut at exactly the smaller limit, possibly mid-word
            assert limits and usage["completion_tokens"] == min(limits)
        else:
            assert choice["finish_reason"] == "stop" and content.endswith(".")  # a whole reply
            assert not limits or usage["completion_tokens"] <= min(limits)
        if limits and min(limits) <= 3:
            assert choice["finish_reason"] == "length"  # every reply is longer than three tokens


def test_the_answer_depends_on_the_body_not_its_spelling() -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Tell me about tides"}], "max_tokens": 30}
    spaced = (
        b'{ "max_tokens" : 30,\n "messages": [{"content": "Tell me about tides", "role": "user"}], "model": "gpt-4o"}'
    )
    assert _answers([body, body]) == _answers([spaced, orjson.dumps(body)])
