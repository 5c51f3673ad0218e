"""Progress of long commands: a rich bar on a terminal, plain lines with count, rate and elapsed elsewhere."""

from __future__ import annotations

import io
import itertools

from mockserver.progress import Progress, rate_text, summary_table
from mockserver.recording.progress_report import RecordProgress


def fake_clock(step: float = 0.5):  # type: ignore[no-untyped-def]
    ticks = itertools.count()
    return lambda: next(ticks) * step


def test_plain_lines_carry_the_count_rate_and_elapsed_time() -> None:
    out = io.StringIO()
    with Progress("fuzz", 4, unit="runs", stream=out, clock=fake_clock()) as progress:
        progress.advance(line="ok   chat_completions (positive): 200×5")
        progress.advance(line="FAIL embeddings_create (positive): 500×1")
    lines = out.getvalue().splitlines()
    assert lines == [
        "ok   chat_completions (positive): 200×5  [1/4 runs, 2.0 runs/s, 0.5s]",
        "FAIL embeddings_create (positive): 500×1  [2/4 runs, 2.0 runs/s, 1.0s]",
    ]
    assert "\x1b[" not in out.getvalue()  # no terminal codes in logs


def test_plain_ticks_without_a_result_are_throttled_but_the_last_one_prints() -> None:
    out = io.StringIO()
    with Progress("verify", 10, unit="cassettes", stream=out, interval=2.0, clock=fake_clock(0.5)) as progress:
        for _ in range(10):
            progress.advance()
    lines = out.getvalue().splitlines()
    assert 2 <= len(lines) < 10
    assert lines[-1].startswith("verify: 10/10 cassettes, ")


def test_a_terminal_gets_a_live_bar_and_results_above_it() -> None:
    out = io.StringIO()
    with Progress("fuzz", 2, unit="runs", stream=out, terminal=True) as progress:
        progress.advance(line="ok   chat_completions (positive): 200×5")
        progress.advance(line="ok   models_list (positive): 200×5")
    text = out.getvalue()
    assert "ok   chat_completions (positive): 200×5" in text
    assert "\x1b[" in text  # drawn with terminal codes
    assert "2/2" in text
    assert "\x1b[2Kfuzz: 2/2 runs, " in text.splitlines()[-1]  # the figures stay once the bar is gone


def test_summary_table_plain_and_rich() -> None:
    plain = io.StringIO()
    summary_table("title", ("operation", "result"), [("chat_completions", "ok"), ("x", "FAIL")], stream=plain)
    assert plain.getvalue().splitlines() == [
        "title",
        "operation         result",
        "----------------  ------",
        "chat_completions  ok",
        "x                 FAIL",
    ]
    rich = io.StringIO()
    summary_table("title", ("operation", "result"), [("chat_completions", "ok")], stream=rich, terminal=True)
    assert "chat_completions" in rich.getvalue() and "┃" in rich.getvalue()


def test_rate_text() -> None:
    assert rate_text(0, 0.0, "runs") == "– runs/s"
    assert rate_text(3, 2.0, "runs") == "1.5 runs/s"
    assert rate_text(1000, 2.0, "runs") == "500 runs/s"


def test_record_progress_prints_each_request_and_a_bounded_summary() -> None:
    out = io.StringIO()
    record = RecordProgress(stream=out, terminal=False)
    record.close()
    assert out.getvalue() == ""  # no request, nothing to say
    record.event("recorded", "POST", "/v1/chat/completions")
    record.event("played", "POST", "/v1/chat/completions")
    for n in range(25):
        record.event("missed", "GET", f"/mj/task/{n}/fetch")
    record.close()
    text = out.getvalue()
    assert text.startswith("recorded POST /v1/chat/completions  [1 requests, ")
    table = text[text.index("mockserver record: 27 requests") :].splitlines()
    assert table[1].split() == ["request", "recorded", "played", "fallback", "missed"]
    assert table[3].split() == ["POST", "/v1/chat/completions", "1", "1", "0", "0"]
    assert table[-2].split() == ["6", "other", "requests", "0", "0", "0", "6"]
    assert table[-1].split() == ["total", "1", "1", "0", "25"]


def test_verify_prints_progress_and_a_summary_table_on_stderr(capsys) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from mockserver.cli import main

    here = Path(__file__).parents[1] / "recording"
    assert main(["verify", str(here / "fixtures" / "vcr_yescale.yaml"), "--contracts", str(here / "contracts")]) in (
        0,
        1,
    )
    out, err = capsys.readouterr()
    assert out.startswith("mockserver verify: ")  # the report itself is unchanged, on stdout
    assert "verify: 1/1 cassettes, " in err
    table = err[err.index("mockserver verify: 4 interactions in 1 cassettes") :].splitlines()
    assert table[1].split() == ["operation", "family", "confidence", "interactions", "drift", "result"]
    assert table[3].split() == ["chat_completions", "openai", "inferred", "3", "3", "DRIFT"]
    assert main(["verify", str(here / "fixtures"), "-q", "--contracts", str(here / "contracts")]) in (0, 1)
    assert "cassettes, " not in capsys.readouterr().err  # --quiet: drift and the result line only


def test_fuzz_prints_counted_lines_and_a_summary_table(capsys) -> None:  # type: ignore[no-untyped-def]
    from mockserver.app import create_app
    from mockserver.cli import main
    from mockserver.settings import Settings
    from mockserver.testing import serve_in_thread

    with serve_in_thread(create_app(Settings(speed=0.0))) as server:
        code = main(["fuzz", "--target", server.url, "--operation", "models_list", "--max-examples", "2", "--negative"])
    out = capsys.readouterr().out
    assert code == 0
    assert "ok   models_list (positive): " in out and "  [1/2 runs, " in out
    table = out[out.index("mockserver fuzz: 2 runs against") :].splitlines()
    assert table[1].split() == ["operation", "kind", "cases", "statuses", "result"]
    assert table[3].split()[:2] == ["models_list", "positive"] and table[3].split()[-1] == "ok"


def test_the_replay_server_tells_its_observer_and_prints_the_summary_at_shutdown() -> None:
    from pathlib import Path

    from starlette.testclient import TestClient

    from mockserver.recording.server import create_replay_app
    from mockserver.settings import Settings

    fixture = Path(__file__).parents[1] / "recording" / "fixtures" / "vcr_yescale.yaml"
    app = create_replay_app(Settings(cassettes=str(fixture)))
    out = io.StringIO()
    app.observer = RecordProgress(stream=out, terminal=False)
    with TestClient(app) as client:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi"}], "temperature": 0}
        client.post("/v1/chat/completions", json=body)
        client.get("/v1/nothing")
        assert "mockserver record:" not in out.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("played   POST /v1/chat/completions  [1 requests, ")
    assert lines[1].startswith("missed   GET /v1/nothing  [2 requests, ")
    assert lines[-1].split() == ["total", "0", "1", "0", "1"]
