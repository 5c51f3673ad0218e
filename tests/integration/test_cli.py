"""The command line: `python -m mockserver serve` on a free port, and the contracts sub-commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.testing import free_port, wait_healthy

PY = sys.executable


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "MOCKSERVER_SEED": "7"}
    proc = subprocess.Popen(
        [PY, "-m", "mockserver", "serve", "--host", "0.0.0.0", "--port", str(port), "--api-key", "sk-cli"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


def test_serve_on_all_interfaces_with_api_key(served: str) -> None:
    assert httpx.get(served + "/v1/models", headers={"Authorization": "Bearer sk-other"}).status_code == 401
    r = httpx.get(served + "/v1/models", headers={"Authorization": "Bearer sk-cli"})
    assert "server" not in r.headers  # the gateway does not announce uvicorn
    assert r.status_code == 200 and r.json()["object"] == "list"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "mockserver", *args], capture_output=True, text=True, timeout=120)


def test_contracts_list_show_openapi(tmp_path: Path) -> None:
    listed = run_cli("contracts", "list")
    assert listed.returncode == 0 and "models_list" in listed.stdout
    shown = run_cli("contracts", "show", "models_list")
    assert shown.returncode == 0 and json.loads(shown.stdout)["path"] == "/v1/models"
    missing = run_cli("contracts", "show", "no_such_op")
    assert missing.returncode == 2 and "no_such_op" in missing.stderr
    out = tmp_path / "openapi.json"
    assert run_cli("contracts", "openapi", "-o", str(out)).returncode == 0
    assert json.loads(out.read_text())["openapi"] == "3.1.0"


def test_bad_env_setting_is_a_clear_error() -> None:
    proc = subprocess.run(
        [PY, "-m", "mockserver", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MOCKSERVER_SEED": "lots"},
    )
    assert proc.returncode == 2 and "MOCKSERVER_SEED" in proc.stderr
