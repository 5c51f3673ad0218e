"""The 5xx sweep script runs end to end on a couple of operations and reports `5xx 0`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "sweep_5xx.py"


def test_the_sweep_reports_no_server_errors() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--max-examples", "2", "--operation", "chat_completions"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    summary = next(line for line in run.stdout.splitlines() if line.startswith("operations "))
    assert ", 5xx 0 (" in summary and "401×" in summary and "200×" in summary
