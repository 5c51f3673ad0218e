"""Recorded timing, replayed: `--replay-timing none|recorded|scale:X` (and the older `--replay-speed`)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from mockserver.recording import create_replay_app
from mockserver.recording.cassettes import save_cassette
from mockserver.recording.model import Cassette, Chunk, Interaction, RecordedRequest, RecordedResponse
from mockserver.recording.replay import replay_speed
from mockserver.settings import Settings
from mockserver.testing import serve_in_thread

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True}
EVENTS = [b'data: {"n": %d}\n\n' % i for i in range(5)] + [b"data: [DONE]\n\n"]
# The head came 0.2 s after the request; the events 0.1 s apart after it.
OFFSETS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]


def _cassette(folder: Path, *, timed: bool = True) -> None:
    body = b"".join(EVENTS)
    response = RecordedResponse(
        status=200,
        headers={"content-type": ["text/event-stream"]},
        body=body,
        chunks=[Chunk(at, len(e)) for at, e in zip(OFFSETS, EVENTS, strict=True)] if timed else None,
        elapsed=0.2 if timed else None,
    )
    request = RecordedRequest(
        "POST",
        "https://api.yescale.io/v1/chat/completions",
        {"content-type": ["application/json"]},
        json.dumps(BODY).encode(),
    )
    save_cassette(folder / "chat.yaml", Cassette([Interaction(request, response, operation="chat_completions")]))


def _arrivals(folder: Path, timing: str) -> list[float]:
    app = create_replay_app(Settings(cassettes=str(folder), replay_timing=timing))
    with serve_in_thread(app) as server:
        started = time.perf_counter()
        with httpx.stream("POST", server.url + "/v1/chat/completions", json=BODY) as answer:
            assert answer.status_code == 200
            arrivals = [time.perf_counter() - started for line in answer.iter_lines() if line.startswith("data:")]
    assert len(arrivals) == len(EVENTS)
    return arrivals


def test_recorded_timing_replays_within_ten_percent(tmp_path: Path) -> None:
    _cassette(tmp_path)
    arrivals = _arrivals(tmp_path, "recorded")
    # The head waits its recorded 0.2 s (never less; a first request also pays the server's warm-up) ...
    assert 0.2 * 0.97 <= arrivals[0] <= 0.2 * 1.1 + 0.15, arrivals
    # ... and the events keep their recorded spacing, within 10%.
    for got, want in zip(arrivals[1:], OFFSETS[1:], strict=True):
        assert want * 0.97 <= got - arrivals[0] <= want * 1.1 + 0.01, (arrivals, OFFSETS)


def test_scale_multiplies_the_recorded_delays(tmp_path: Path) -> None:
    _cassette(tmp_path)
    arrivals = _arrivals(tmp_path, "scale:0.5")
    assert arrivals[0] >= 0.1 * 0.97 and 0.25 * 0.97 <= arrivals[-1] - arrivals[0] <= 0.25 * 1.1 + 0.01


def test_none_and_untimed_cassettes_replay_at_once(tmp_path: Path) -> None:
    _cassette(tmp_path)
    assert _arrivals(tmp_path, "none")[-1] < 0.2
    untimed = tmp_path / "untimed"
    untimed.mkdir()
    _cassette(untimed, timed=False)  # a VCR.py cassette keeps no timing
    assert _arrivals(untimed, "recorded")[-1] < 0.2


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(replay_timing="slow"), "must be none, recorded or scale:X"),
        (Settings(replay_timing="scale:-1"), "must be none, recorded or scale:X"),
        (Settings(replay_timing="scale:abc"), "must be none, recorded or scale:X"),
        (Settings(replay_timing="recorded", replay_speed=2.0), "give one"),
    ],
)
def test_bad_replay_timing_is_refused(settings: Settings, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replay_speed(settings)


def test_replay_speeds() -> None:
    assert replay_speed(Settings()) == 0.0
    assert replay_speed(Settings(replay_timing="recorded")) == 1.0
    assert replay_speed(Settings(replay_timing="scale:0.5")) == 2.0
    assert replay_speed(Settings(replay_timing="scale:0")) == 0.0
    assert replay_speed(Settings(replay_speed=3.0)) == 3.0


def test_the_replay_command_refuses_bad_timing_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "mockserver", "replay", "--cassettes", str(tmp_path), "--replay-timing", "later"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
