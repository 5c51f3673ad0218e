"""The `record` and `replay` commands as real processes: hard-kill atomicity, serving, flag errors."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from mockserver.cli import main
from mockserver.recording import Cassette, Interaction, RecordedRequest, RecordedResponse, load_cassette, save_cassette
from mockserver.testing import ThreadedServer, free_port


def _start(args: list[str], cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("MOCKSERVER__SETTINGS_JSON", None)
    log = cwd / f"{args[0]}-{port}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", *args, "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"mockserver {args[0]} exited: {log.read_text()}")
        try:
            httpx.get(url + "/__mock/cassettes", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"mockserver {args[0]} did not start")


def _seed(path: Path, n: int) -> None:
    """A cassette big enough that every rewrite takes a while (so a kill can land inside one)."""
    items = [
        Interaction(
            RecordedRequest("POST", f"https://h/seed/{i}", {"content-type": ["application/json"]}, b'{"i": %d}' % i),
            RecordedResponse(200, {"content-type": ["application/json"]}, b'{"pad": "' + b"x" * 400 + b'"}'),
        )
        for i in range(n)
    ]
    save_cassette(path, Cassette(items))


def test_a_hard_killed_recorder_leaves_every_cassette_parseable(tmp_path: Path, live_gateway: ThreadedServer) -> None:
    cassette = tmp_path / "cassettes" / "session.yaml"
    _seed(cassette, 2000)
    counts = [2000]
    rng = random.Random(7)
    for _ in range(3):
        proc, url = _start(
            ["record", "--upstream", live_gateway.url, "--cassettes", str(cassette), "--record-mode", "new_episodes"],
            tmp_path,
        )
        stop = threading.Event()
        answered = threading.Event()  # the recorder answers only once the interaction is on disk

        def hammer(
            worker: int, url: str = url, stop: threading.Event = stop, answered: threading.Event = answered
        ) -> None:
            with httpx.Client(base_url=url, timeout=5) as client:
                n = 0
                while not stop.is_set():
                    n += 1
                    try:
                        client.post("/echo", json={"worker": worker, "n": n, "t": time.monotonic()})
                    except httpx.HTTPError:
                        return
                    answered.set()

        workers = [threading.Thread(target=hammer, args=(w,)) for w in range(4)]
        for w in workers:
            w.start()
        assert answered.wait(60), "the recorder answered nothing"
        time.sleep(rng.uniform(0.0, 0.5))  # then a real, random moment: the point is not to pick it
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        stop.set()
        for w in workers:
            w.join(10)
        recorded = load_cassette(cassette)  # must parse, whatever the moment of the kill
        assert len(recorded) >= counts[-1]
        counts.append(len(recorded))
        for leftover in cassette.parent.glob(".*.tmp"):  # a write cut short leaves only a hidden temp file
            leftover.unlink()
    assert counts[1] > counts[0] and counts[2] > counts[1] and counts[3] > counts[2], counts  # written each round


def test_replay_command_serves_a_folder(tmp_path: Path) -> None:
    item = Interaction(
        RecordedRequest("POST", "https://api.yescale.io/v1/chat/completions", {}, b'{"model": "m"}'),
        RecordedResponse(200, {"content-type": ["application/json"]}, b'{"ok": true}'),
    )
    save_cassette(tmp_path / "c" / "one.yaml", Cassette([item]))
    proc, url = _start(["replay", "--cassettes", str(tmp_path / "c"), "--match-on", "method,path"], tmp_path)
    try:
        hit = httpx.post(url + "/v1/chat/completions", json={"model": "other"})  # body not matched on
        assert hit.status_code == 200 and hit.json() == {"ok": True}
        miss = httpx.get(url + "/v1/models")
        assert miss.status_code == 404 and "No recorded interaction matches GET /v1/models" in miss.text
        status = httpx.get(url + "/__mock/cassettes").json()
        assert status["played"] == 1 and len(status["misses"]) == 1
    finally:
        proc.terminate()
        proc.wait(10)


def test_flag_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--cassettes", str(tmp_path), "--match-on", "method,bogus"]) == 2
    assert "unknown matcher" in capsys.readouterr().err
    assert main(["replay", "--cassettes", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["replay", "--cassettes", str(tmp_path), "--redact-pattern", "(x"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["record", "--record-mode", "sometimes"])
    assert exc.value.code == 2


def test_commands_build_their_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mockserver.cli

    started: list[tuple[str, object]] = []
    monkeypatch.setattr(
        mockserver.cli, "run_server", lambda factory, settings: started.append((factory, settings)) or 0
    )
    monkeypatch.setenv("MOCKSERVER_REDACT_HEADERS", "X-Team,X-Other")
    monkeypatch.chdir(tmp_path)
    assert (
        main(["record", "--upstream", "http://127.0.0.1:9", "--cassettes", "c.yaml", "--ignore-body-field", "user"])
        == 0
    )
    factory, settings = started[-1]
    assert factory == "mockserver.recording.commands:proxy_app"
    assert settings.record_mode == "all"  # type: ignore[attr-defined]  # the recorder's default
    assert settings.redact_headers == ("X-Team", "X-Other")  # type: ignore[attr-defined]  # from the environment
    assert settings.ignore_body_fields == ("user",)  # type: ignore[attr-defined]
    assert main(["record", "--cassettes", "c.yaml", "--record-mode", "new_episodes"]) == 0
    assert started[-1][1].record_mode == "new_episodes"  # type: ignore[attr-defined]
    assert main(["replay", "--cassettes", ".", "--replay-speed", "2", "--fallback", "emulate"]) == 0
    factory, settings = started[-1]
    assert factory == "mockserver.recording.commands:replay_app"
    assert (settings.replay_speed, settings.fallback) == (2.0, "emulate")  # type: ignore[attr-defined]
