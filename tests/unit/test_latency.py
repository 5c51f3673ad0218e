"""Latency profiles: parsing and checks, deterministic delays, and paced answers through real clients.

Where real time is the point (a paced stream), tolerances are wide enough for a busy 2-core machine:
the lower bounds are what pacing guarantees (a sleep never ends early), the upper bounds are loose.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.latency import LatencyError, Pace, Profile, load_profiles, output_tokens, parse_profiles, realistic
from mockserver.settings import Settings
from mockserver.testing import serve_in_thread
from pytest_plugin.timing import ameasure_stream, measure_stream

KEY = {"Authorization": "Bearer sk-test"}
# No jitter, no thinking: 300 ms to the first token, then 50 tokens/s (20 ms per one-token event).
STEADY = {
    "default": {"ttft_ms": 300, "tokens_per_second": 50, "jitter": 0, "chunk_tokens": 1},
    "profiles": [{"match": "^fast-", "ttft_ms": 0, "tokens_per_second": 100000, "chunk_tokens": 1}],
}


def _chat(model: str = "gpt-4o-mini", *, stream: bool = False, tokens: int = 30) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "Tell me about the tides of the sea, at length."}],
        "max_tokens": tokens,
        "stream": stream,
    }


@pytest.fixture
def steady_file(tmp_path: Path) -> Path:
    path = tmp_path / "steady.json"
    path.write_text(json.dumps(STEADY))
    return path


# -- profiles ---------------------------------------------------------------------------------


def test_the_packaged_profiles_cover_the_model_lines() -> None:
    profiles = realistic()
    assert profiles.for_model("o3-mini").thinks == "always" and profiles.for_model("o3-mini").thinking_ms
    assert profiles.for_model("gpt-4o-mini").name == "gpt-4o-mini"
    assert profiles.for_model("gpt-4o").name == "gpt-4o"
    assert profiles.for_model("claude-3-5-sonnet-20241022").thinks == "when_asked"
    assert profiles.for_model("deepseek-reasoner").thinks == "always"
    assert profiles.for_model("gemini-2.5-flash").name == "gemini-flash"
    assert profiles.for_model("some-private-model") is profiles.default


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "an object with `default`"),
        ({"profiles": []}, "`default` is required"),
        ({"default": {"ttft_ms": 1, "tokens_per_second": 1}, "extra": 1}, "unknown field 'extra'"),
        ({"default": {"ttft_ms": -1, "tokens_per_second": 1}}, "default.ttft_ms: must be within"),
        ({"default": {"ttft_ms": 1, "tokens_per_second": "fast"}}, "default.tokens_per_second: must be a number"),
        ({"default": {"ttft_ms": 1, "tokens_per_second": 1, "chunk_tokens": 0}}, "default.chunk_tokens"),
        ({"default": {"ttft_ms": 1, "tokens_per_second": 1, "thinking_ms": [5]}}, "default.thinking_ms"),
        ({"default": {"ttft_ms": 1, "tokens_per_second": 1, "thinks": "often"}}, "default.thinks"),
        ({"default": {"ttft_ms": 1, "tokens_per_second": 1, "speed": 2}}, "default: unknown field 'speed'"),
        (
            {"default": {"ttft_ms": 1, "tokens_per_second": 1}, "profiles": [{"ttft_ms": 1, "tokens_per_second": 1}]},
            "profiles[0].match",
        ),
        (
            {"default": {"ttft_ms": 1, "tokens_per_second": 1}, "profiles": [{"match": "(", "ttft_ms": 1}]},
            "profiles[0].match: not a valid regular expression",
        ),
    ],
)
def test_a_bad_profile_document_is_refused_naming_the_field(document: Any, message: str) -> None:
    with pytest.raises(LatencyError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_profiles(document, "mine.json")


def test_profile_files_in_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("default:\n  ttft_ms: 120\n  tokens_per_second: 40\n")
    assert load_profiles(str(tmp_path / "p.yaml")).default.ttft_ms == 120  # type: ignore[union-attr]
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(LatencyError, match=r"bad\.json: not valid json"):
        load_profiles(str(tmp_path / "bad.json"))
    with pytest.raises(LatencyError, match="none, realistic or a profile file"):
        load_profiles(str(tmp_path / "missing.json"))
    assert load_profiles("none") is None


def test_the_cli_refuses_a_bad_latency_setting_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps({"default": {"ttft_ms": 5, "tokens_per_second": 0}}))
    for flags in (["--latency", str(tmp_path / "p.json")], ["--latency", "quick"], ["--latency-scale", "-1"]):
        run = subprocess.run(
            [sys.executable, "-m", "mockserver", "serve", "--port", "0", *flags], capture_output=True, text=True
        )
        assert run.returncode == 2, run.stderr
        assert run.stderr.count("\n") == 1 and run.stderr.startswith("mockserver serve: "), run.stderr


# -- delays -----------------------------------------------------------------------------------


class FakeTime:
    """A clock that moves only when slept on: the delays a pace asks for, without waiting them."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _schedule(pace: Pace, events: int, playback: tuple[float, int] | None = None) -> list[float]:
    fake = FakeTime()

    async def body() -> Any:
        for i in range(events):
            yield i

    async def drain() -> None:
        async for _ in pace.stream(body(), playback=playback, sleep=fake.sleep, clock=fake.clock):
            fake.now += 0.001  # sending an event takes a moment: the next delay makes up for it

    asyncio.run(drain())
    return fake.delays


def test_a_pace_waits_ttft_then_one_gap_per_event() -> None:
    profile = Profile("p", ttft_ms=400, tokens_per_second=50, jitter=0.1, chunk_tokens=2)
    delays = _schedule(Pace(profile, random.Random(1), thinks=False), 51)
    assert 0.36 <= delays[0] <= 0.44
    gaps = delays[1:]
    assert len(gaps) == 50 and all(0.035 <= g <= 0.043 for g in gaps)  # 2 tokens at 50/s = 40 ms ± 10%, less 1 ms
    assert abs(sum(gaps) / len(gaps) - 0.039) < 0.004


def test_thinking_comes_before_the_first_token_when_the_model_thinks() -> None:
    thinker = Profile("r", ttft_ms=100, tokens_per_second=50, thinking_ms=(2000, 3000), thinks="when_asked")
    assert Pace(thinker, random.Random(1), thinks=False).first_s == pytest.approx(0.1)
    assert 2.1 <= Pace(thinker, random.Random(1), thinks=True).first_s <= 3.1
    always = Profile("o", ttft_ms=100, tokens_per_second=50, thinking_ms=(2000, 3000), thinks="always")
    assert Pace(always, random.Random(1), thinks=False).first_s >= 2.1


def test_scale_multiplies_every_delay() -> None:
    profile = Profile("p", ttft_ms=400, tokens_per_second=50)
    assert _schedule(Pace(profile, random.Random(1), thinks=False, scale=0.5), 3) == pytest.approx([0.2, 0.009, 0.009])
    assert _schedule(Pace(profile, random.Random(1), thinks=False, scale=0), 3) == []  # nothing to wait for


def test_the_same_call_gets_the_same_delays() -> None:
    app = create_app(Settings(latency="realistic", speed=0.0))
    state = app.state.mock
    body = _chat("claude-3-5-sonnet-20241022")
    raw = json.dumps(body).encode()

    def delays() -> list[float]:
        first = state.pace_for("chat_completions", body["model"], body, raw, None)
        again = state.pace_for("chat_completions", body["model"], body, raw, None)
        return [first.first_s, first.gap(), again.first_s, again.gap()]

    once = delays()
    assert once[0] != once[2]  # a repeated call is another draw, as its answer is
    asyncio.run(state.reset())
    assert delays() == once  # ... and the same sequence after a reset or a restart


def test_output_tokens_reads_every_formats_usage() -> None:
    assert output_tokens({"usage": {"completion_tokens": 7}}) == 7
    assert output_tokens({"usage": {"output_tokens": 9}}) == 9
    assert output_tokens({"usageMetadata": {"candidatesTokenCount": 4, "thoughtsTokenCount": 2}}) == 6
    assert output_tokens({"object": "list"}) == 0


# -- through the app --------------------------------------------------------------------------


def test_unpaced_by_default_and_a_bad_header_is_a_400() -> None:
    with TestClient(create_app(Settings(speed=0.0)), headers=KEY) as client:
        bad = client.post("/v1/chat/completions", json=_chat(), headers={"x-mock-latency": "slow"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "x-mock-latency"
        assert client.get("/__mock/latency").json() == {"latency": "none", "scale": 1.0, "overridden": False}


def test_the_control_api_sets_latency_until_reset() -> None:
    with TestClient(create_app(Settings(speed=0.0)), headers=KEY) as client:
        assert client.post("/__mock/latency", json={"mode": "fast"}).json()["error"]["param"] == "mode"
        assert client.post("/__mock/latency", json={"mode": "none", "pace": 1}).json()["error"]["param"] == "pace"
        assert client.post("/__mock/latency", json={"mode": "none", "scale": -1}).status_code == 400
        on = client.post("/__mock/latency", json={"mode": "realistic", "scale": 0.25}).json()
        assert on == {"latency": "realistic", "scale": 0.25, "overridden": True}
        client.post("/__mock/reset")
        assert client.get("/__mock/latency").json()["overridden"] is False


def test_a_non_streamed_answer_waits_ttft_plus_tokens_over_rate(steady_file: Path) -> None:
    with TestClient(create_app(Settings(latency=str(steady_file), speed=0.0)), headers=KEY) as client:
        started = time.perf_counter()
        answer = client.post("/v1/chat/completions", json=_chat(tokens=10))
        spent = time.perf_counter() - started
    tokens = answer.json()["usage"]["completion_tokens"]
    assert spent >= 0.3 + tokens / 50 - 0.01  # 300 ms + tokens at 50/s, never less
    assert spent < 5


def test_a_streamed_chat_keeps_the_profiles_pace_through_the_openai_sdk(steady_file: Path) -> None:
    app = create_app(Settings(latency=str(steady_file), speed=0.0))
    with serve_in_thread(app) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test")
        started = time.perf_counter()
        stream = client.chat.completions.create(**_chat(stream=True, tokens=40))
        timing = measure_stream(stream, started=started)
        fast = client.chat.completions.create(**_chat("fast-model", stream=True, tokens=40))
        quick = measure_stream(fast)
    assert len(timing.arrivals) > 10
    assert 0.29 <= timing.first_event < 2.0
    assert 0.019 <= timing.mean_gap < 0.06  # 20 ms per event, never faster
    assert quick.total < timing.total / 3  # another model line, another profile


def test_the_header_turns_pacing_on_and_off_per_request(steady_file: Path) -> None:
    with TestClient(create_app(Settings(latency=str(steady_file), speed=0.0)), headers=KEY) as client:
        started = time.perf_counter()
        client.post("/v1/chat/completions", json=_chat(tokens=5), headers={"x-mock-latency": "none"})
        assert time.perf_counter() - started < 0.25  # the server's 300 ms TTFT was skipped
    with TestClient(create_app(Settings(speed=0.0)), headers=KEY) as client:
        started = time.perf_counter()
        client.post("/v1/chat/completions", json=_chat(tokens=5), headers={"x-mock-latency": "realistic"})
        assert time.perf_counter() - started >= 0.34  # gpt-4o-mini's realistic TTFT, less its jitter


def test_every_format_is_paced(steady_file: Path) -> None:
    calls = [
        ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "Once", "max_tokens": 5, "stream": True}),
        ("/v1/responses", {"model": "gpt-4o", "input": "Hi", "max_output_tokens": 16, "stream": True}),
        (
            "/v1/messages",
            {
                "model": "claude-3-5-haiku-20241022",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": "Hi"}],
                "stream": True,
            },
        ),
        ("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", {"contents": [{"parts": [{"text": "Hi"}]}]}),
        ("/v1beta/models/gemini-2.0-flash:generateContent", {"contents": [{"parts": [{"text": "Hi"}]}]}),
        ("/v1/audio/speech", {"model": "tts-1", "input": "Hello there", "voice": "alloy"}),
    ]
    with TestClient(create_app(Settings(latency=str(steady_file), speed=0.0)), headers=KEY) as client:
        for path, body in calls:
            started = time.perf_counter()
            answer = client.post(path, json=body, headers={"x-api-key": "sk-test", "x-goog-api-key": "sk-test"})
            assert answer.status_code == 200, (path, answer.text)
            assert time.perf_counter() - started >= 0.29, path  # at least the 300 ms TTFT


def test_speech_streams_at_playback_rate() -> None:
    document = {"default": {"ttft_ms": 0, "tokens_per_second": 100000}}
    pace = Pace(parse_profiles(document, "t").default, random.Random(1), thinks=False)
    delays = _schedule(pace, 5, playback=(2.0, 5))
    assert delays == pytest.approx([0.399, 0.399, 0.399, 0.399])  # 5 chunks spread over 2 s of audio


def test_a_slow_moment_does_not_push_later_events_back() -> None:
    pace = Pace(Profile("p", ttft_ms=100, tokens_per_second=100), random.Random(1), thinks=False)
    fake = FakeTime()

    async def drain() -> None:
        sent = 0
        async for _ in pace.stream(_items(6), sleep=fake.sleep, clock=fake.clock):
            sent += 1
            if sent == 2:
                fake.now += 0.035  # a stall worth three and a half events

    asyncio.run(drain())
    # After the stall the events that were due go out at once, then the pace resumes on schedule.
    assert fake.delays == pytest.approx([0.1, 0.01, 0.005])


async def _items(n: int) -> Any:
    for i in range(n):
        yield i


def test_a_client_that_goes_away_ends_a_paced_stream_at_once(steady_file: Path) -> None:
    slow = {"default": {"ttft_ms": 0, "tokens_per_second": 2, "chunk_tokens": 1}}
    steady_file.write_text(json.dumps(slow))  # 500 ms per event: the whole stream would take many seconds
    app = create_app(Settings(latency=str(steady_file), speed=0.0))
    body = json.dumps(_chat(stream=True, tokens=40)).encode()
    messages: list[dict[str, Any]] = []
    received = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not messages:
            messages.append({})
            return {"type": "http.request", "body": body, "more_body": False}
        await received.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            received.set()  # the first event arrived; the client leaves

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"authorization", b"Bearer sk-test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }

    async def scenario() -> None:
        before = len(asyncio.all_tasks())
        await asyncio.wait_for(app(scope, receive, send), timeout=10)
        await asyncio.sleep(0)
        assert len(asyncio.all_tasks()) <= before  # nothing left running

    asyncio.run(scenario())


def test_the_plugin_helper_measures_async_streams() -> None:
    async def events() -> Any:
        for _ in range(3):
            await asyncio.sleep(0.01)
            yield "e"

    timing = asyncio.run(ameasure_stream(events()))
    assert len(timing.gaps) == 2 and timing.first_event >= 0.009 and timing.mean_gap >= 0.009


def test_httpx_lines_can_be_measured(steady_file: Path) -> None:
    app = create_app(Settings(latency=str(steady_file), speed=0.0))
    with (
        serve_in_thread(app) as server,
        httpx.stream(
            "POST", server.url + "/v1/chat/completions", json=_chat(stream=True, tokens=8), headers=KEY
        ) as answer,
    ):
        timing = measure_stream(line for line in answer.iter_lines() if line.startswith("data:"))
    assert timing.events[-1] == "data: [DONE]" and timing.mean_gap >= 0.015
