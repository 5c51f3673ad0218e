"""The wheel carries the contracts, and what the Dockerfile runs works outside Docker."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from mockserver.testing import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (found,) = out.glob("*.whl")
    return found


def test_wheel_contains_every_contract(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for file in (ROOT / "contracts").rglob("*.json"):
        rel = file.relative_to(ROOT / "contracts").as_posix()
        assert f"mockserver/_contracts/{rel}" in names, f"{rel} is missing from the wheel"
    assert "pytest_plugin/plugin.py" in names and "mockserver/py.typed" in names


def test_installed_wheel_serves_like_the_dockerfile(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(target)}
    # The Dockerfile's ENTRYPOINT, run from a folder with no source tree, so contracts come from the wheel.
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}", proc)
        assert health["status"] == "ok" and health["operations"] > 0
        code = "import mockserver.contracts as c; p = c.default_root(); print(p); assert '_contracts' in str(p), p"
        check = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        assert httpx.get(f"http://127.0.0.1:{port}/__mock/openapi.json").json()["openapi"] == "3.1.0"
    finally:
        proc.terminate()
        proc.wait(10)
