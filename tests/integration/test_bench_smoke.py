"""The chat benchmark still runs end to end (a short run: no figure is checked, only that it reports)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_chat.py"


def test_chat_benchmark_reports_both_ratios() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--seconds", "0.3", "--rounds", "1", "--connections", "4"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "ratio generated / bare = " in run.stdout
    assert "ratio stub / bare      = " in run.stdout
    assert "errors 0" in run.stdout
