"""Same seed + same calls ⇒ byte-identical answers (stopped clock); another seed ⇒ other answers."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.families.openai import chat
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


def test_short_path_answers_exactly_like_the_general_path(monkeypatch: Any) -> None:

    bodies = [
        {
            "model": "gpt-4o",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        },
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "Tell me about tides"}], "max_tokens": 7},
        {"model": "claude-sonnet-4-20250514", "messages": [{"role": "user", "content": "x"}], "temperature": 0.2},
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "developer", "content": "Answer in French, s'il vous plaît — «court»."},
                {"role": "user", "content": "Qu'est-ce qu'une marée ? \u2603 \"quoted\"\n"},
                {"role": "assistant", "content": None},
                {"role": "user", "content": "Et la lune?", "name": "ana"},
            ],
            "max_completion_tokens": 30,
            "max_tokens": 12,
        },
        {"model": "my-private-model", "messages": [{"role": "user", "content": ""}], "max_completion_tokens": 1},
    ]
    calls = bodies + bodies  # the second round is answered from the remembered plans

    def answers() -> list[bytes]:
        app = create_app(Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0))
        with TestClient(app, headers={"Authorization": "Bearer sk-test"}) as client:
            responses = [client.post("/v1/chat/completions", json=body) for body in calls]
        # strict mode checks every answer against the contract, the short path's assembled JSON included
        assert [r.status_code for r in responses] == [200] * len(calls)
        return [r.content for r in responses]

    monkeypatch.setattr(chat, "_PLANS", {})
    short = answers()
    assert sum(plan is not None for plan in chat._PLANS.values()) == len(bodies)
    monkeypatch.setattr(chat, "_PLANS", {})
    monkeypatch.setattr(chat, "_plan", lambda call: None)
    general = answers()
    assert general == short
    assert short[0] != short[len(bodies)]  # a repeated call still gets a new answer


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=40), prompt=st.sampled_from(["", "Hi", "Tell me about octopus tides", "¿Qué?"])
)
def test_reply_from_a_block_is_the_reply_the_rng_draws(key: bytes, prompt: str) -> None:
    from mockserver.families.openai.common import fast_reply, id_bytes, id_letters, random_id, reply_lead
    from mockserver.keyed_random import KeyedRandom, first_block

    rng = KeyedRandom(key)
    content, tokens = fast_reply(rng, prompt)  # type: ignore[arg-type]
    expected_id = random_id(rng, "", 29)  # type: ignore[arg-type]
    block = first_block(key)
    got_content, got_tokens, used = fast_reply.from_bits(block, reply_lead(prompt))
    assert (got_content, got_tokens) == (content, tokens)
    raw = ((block >> used) & ((1 << 8 * id_bytes(29)) - 1)).to_bytes(id_bytes(29), "little")
    assert used <= 64 * 5 and id_letters(raw, 29).decode() == expected_id


def test_plans_are_kept_for_small_bodies_only_and_within_their_bound(monkeypatch: Any) -> None:

    monkeypatch.setattr(chat, "_PLANS", {})
    monkeypatch.setattr(chat, "_MAX_PLANS", 3)
    app = create_app(Settings(speed=0.0))
    with TestClient(app, headers={"Authorization": "Bearer sk-test"}) as client:
        long = {"model": "gpt-4o", "messages": [{"role": "user", "content": "tides " * 1000}]}
        first, again = (client.post("/v1/chat/completions", json=long) for _ in range(2))
        assert first.status_code == again.status_code == 200 and first.json()["id"] != again.json()["id"]
        assert chat._PLANS == {}
        for i in range(4):
            body = {"model": "gpt-4o", "messages": [{"role": "user", "content": f"question {i}"}]}
            assert client.post("/v1/chat/completions", json=body).status_code == 200
        assert len(chat._PLANS) == 1  # the fourth plan found the dict full and started it afresh
