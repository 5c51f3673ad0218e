"""Every subcommand refuses bad input in one line with the right exit code, before anything binds."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mockserver.cli import main

PY = sys.executable


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml of ours
    for name in list(os.environ):
        if name.startswith("MOCKSERVER_"):
            monkeypatch.delenv(name)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


BAD = [
    (["serve", "--port", "99999"], "mockserver serve: --port must be 0..65535 (got 99999)"),
    (["serve", "--port", "-1"], "mockserver serve: --port must be 0..65535 (got -1)"),
    (["serve", "--port", "eighty"], "mockserver serve: --port must be a whole number (got 'eighty')"),
    (["serve", "--speed", "-1"], "mockserver serve: --speed must be >= 0 (got -1.0)"),
    (["serve", "--speed", "nan"], "mockserver serve: --speed must be a finite number (got nan)"),
    (
        ["serve", "--store", "postgres://db"],
        "mockserver serve: --store must be memory, sqlite:///PATH or redis://HOST:PORT/DB[?prefix=NAME] (got",
    ),
    (["serve", "--store", "redis://h:1/zero"], "mockserver serve: --store is not a usable Redis URL: the database"),
    (["serve", "--store", "redis://h/0?prefx=a"], "mockserver serve: --store is not a usable Redis URL: unknown param"),
    (["serve", "--store", "sqlite:///no/such/dir/x.db"], "mockserver serve: --store sqlite:///PATH: the folder no"),
    (["serve", "--stubs", "missing-folder"], "mockserver serve: --stubs names a folder that does not exist"),
    (["serve", "--max-body-bytes", "0"], "mockserver serve: --max-body-bytes must be >= 1 (got 0)"),
    (["serve", "--workers", "0"], "mockserver serve: --workers must be >= 1 (got 0)"),
    (["serve", "--public-url", "example.com"], "mockserver serve: --public-url must be an http(s) URL"),
    (["serve", "--notify-hook", "ftp://x"], "mockserver serve: --notify-hook must be an http(s) URL"),
    (["serve", "--callback-timeout", "0"], "mockserver serve: --callback-timeout must be > 0 (got 0.0)"),
    (["serve", "--callback-lease", "-1"], "mockserver serve: --callback-lease must be > 0 (got -1.0)"),
    (
        ["serve", "--callback-lease", "10", "--callback-retries", "2"],
        "mockserver serve: --callback-lease must be longer than a delivery can take (10.5 s with --callback-retries 2"
        " and --callback-timeout 5), or a slow delivery would be taken over and sent twice (got 10.0)",
    ),
    (["serve", "--log-level", "loud"], "mockserver serve: --log-level must be one of critical, error, warning"),
    (["serve", "--host", "no such host"], "mockserver serve: --host must be a host name or address"),
    (["record", "--upstream", "notaurl"], "mockserver record: --upstream must be an http(s) URL with a host"),
    (["record", "--port", "70000"], "mockserver record: --port must be 0..65535 (got 70000)"),
    (["record", "--record-mode", "sometimes"], "mockserver record: --record-mode must be one of once, new_episodes"),
    (["record", "--match-on", "method,bogus"], "mockserver record: unknown matcher(s) bogus"),
    (["replay", "--cassettes", "nowhere"], "mockserver replay: nowhere does not exist"),
    (["replay", "--cassettes", ".", "--replay-speed", "-2"], "mockserver replay: --replay-speed must be >= 0"),
    (["replay", "--cassettes", ".", "--port", "65536"], "mockserver replay: --port must be 0..65535 (got 65536)"),
    (["verify", "nowhere.yaml"], "mockserver verify: nowhere.yaml does not exist"),
    (["verify", ".", "--contracts", "nowhere"], "mockserver verify: --contracts nowhere is not a folder"),
    (["contracts", "show", "chat_completion"], "mockserver contracts show: unknown operation 'chat_completion'"),
    (["contracts", "openapi", "-o", "no/dir/x.json"], "mockserver contracts openapi: cannot write -o no/dir/x.json"),
    (["fuzz", "--target", "notaurl"], "mockserver fuzz: --target must be an http(s) URL"),
    (["fuzz", "--target", "http://127.0.0.1:9", "--max-examples", "0"], "mockserver fuzz: --max-examples must be"),
    (["fuzz", "--target", "http://127.0.0.1:9", "--timeout", "0"], "mockserver fuzz: --timeout must be > 0"),
    (
        ["fuzz", "--target", "http://127.0.0.1:9", "--operation", "chat_completion"],
        "mockserver fuzz: unknown operation(s): 'chat_completion' (closest",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_values_are_one_line_and_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own refusals (type, choices)
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(message), err
    assert "Traceback" not in err


def test_env_and_pyproject_values_are_named_by_their_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOCKSERVER_PORT", "99999")
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == "mockserver serve: MOCKSERVER_PORT must be 0..65535 (got 99999)\n"
    monkeypatch.delenv("MOCKSERVER_PORT")
    (tmp_path / "pyproject.toml").write_text("[tool.mockserver]\nspeed = -3\n")
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == "mockserver serve: [tool.mockserver] speed must be >= 0 (got -3.0)\n"


def test_fuzz_against_a_closed_port_is_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    port = _closed_port()
    assert main(["fuzz", "--target", f"http://127.0.0.1:{port}", "--operation", "models_list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mockserver fuzz: cannot reach --target http://127.0.0.1:{port}: connection failed")
    assert err.count("\n") == 1 and "NotSet" not in err


def test_a_bad_stub_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stubs").mkdir()
    (tmp_path / "stubs" / "a.json").write_text(json.dumps({"operation": "chat_completion", "content": "x"}))
    assert main(["serve", "--port", "0", "--stubs", "stubs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a.json: operation: unknown operation 'chat_completion'" in err


@pytest.mark.parametrize("command", ["replay", "record"])
def test_a_broken_cassette_is_one_line(tmp_path: Path, command: str) -> None:
    (tmp_path / "bad.yaml").write_text("interactions: [\n")
    args = [command, "--cassettes", "bad.yaml", "--port", "0", "--upstream", "http://127.0.0.1:9"]
    if command == "record":
        args += ["--record-mode", "new_episodes"]
    else:
        args = args[:-2]
    proc = subprocess.run([PY, "-m", "mockserver", *args], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    last = proc.stderr.splitlines()[-1]
    assert last.startswith(f"mockserver {command}: bad.yaml: not valid YAML") and "Traceback" not in proc.stderr
    assert "listening on" not in proc.stderr


def test_a_port_in_use_is_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for command in (["serve"], ["replay", "--cassettes", "."], ["record", "--upstream", "http://127.0.0.1:9"]):
            assert main([*command, "--port", str(port)]) == 1
            err = capsys.readouterr().err
            assert f"port {port} on 127.0.0.1 is already in use" in err.splitlines()[-1]
            assert "listening on" not in err and "Traceback" not in err


def test_listening_is_announced_after_binding_with_the_real_port(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [PY, "-m", "mockserver", "serve", "--port", "0"], cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("mockserver listening on http://127.0.0.1:") and not line.endswith(":0\n")
        url = line.split(" on ", 1)[1].strip()
        # Bound and listening: the connection waits in the backlog even if uvicorn is still starting.
        assert httpx.get(url + "/__mock/health", timeout=30).json()["status"] == "ok"
        media = httpx.post(
            url + "/v1/images/generations",
            json={"prompt": "a cat", "model": "dall-e-3"},
            headers={"Authorization": "Bearer sk-x"},
            timeout=30,
        ).json()["data"][0]["url"]
        assert media.startswith(url)  # links carry the real port, not 0
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()
