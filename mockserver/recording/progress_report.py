"""Progress and summaries for `mockserver verify` and `mockserver record` (see `mockserver.progress`)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from mockserver.contracts import Contracts
from mockserver.progress import Progress, summary_table
from mockserver.recording.cassettes import cassette_files
from mockserver.recording.report import Report
from mockserver.recording.verify import verify_paths


def verify_with_progress(
    paths: Iterable[str | Path], *, contracts: Contracts, stream: IO[str] | None = None, terminal: bool | None = None
) -> Report:
    """`verify_paths` with a progress bar (cassettes, interactions) on a terminal, periodic lines otherwise."""
    targets = list(paths)
    total = sum(len(cassette_files(t)) for t in targets)
    with Progress("verify", total, unit="cassettes", stream=stream, terminal=terminal) as progress:
        return verify_paths(targets, contracts=contracts, on_cassette=lambda _path, _count: progress.advance())


def verify_summary(report: Report, *, stream: IO[str] | None = None, terminal: bool | None = None) -> None:
    """One row per operation: its contract's confidence, interactions, drift findings, result."""
    rows: list[tuple[object, ...]] = [
        (op.operation, op.family, op.confidence, op.interactions, len(op.drift), "ok" if op.ok else "DRIFT")
        for op in sorted(report.operations.values(), key=lambda o: (o.ok, o.operation))
    ]
    rows.extend((label, "-", count, "-", "-", "no contract") for label, count in sorted(report.uncovered.items()))
    title = f"mockserver verify: {report.interactions} interactions in {report.cassettes} cassettes"
    columns = ("operation", "family", "confidence", "interactions", "drift", "result")
    summary_table(title, columns, rows, stream=stream, terminal=terminal)


KINDS = ("recorded", "played", "fallback", "missed")
SUMMARY_ROWS = 20


class RecordProgress:
    """What a recording session did, live: a line per request (with the count, rate and elapsed time),
    and a summary table per request path when the server stops."""

    def __init__(self, *, stream: IO[str] | None = None, terminal: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = terminal
        # Made now so the rate counts from the start of the session; shown from the first request on.
        self.progress = Progress("record", unit="requests", stream=self.stream, terminal=terminal)
        self.showing = False
        self.counts: dict[tuple[str, str], dict[str, int]] = {}

    def event(self, kind: str, method: str, path: str) -> None:
        """`kind` (one of `KINDS`) happened to a request."""
        if not self.showing:  # after the server's own start lines
            self.progress.__enter__()
            self.showing = True
        row = self.counts.setdefault((method, path), dict.fromkeys(KINDS, 0))
        row[kind] += 1
        self.progress.advance(line=f"{kind:8} {method} {path}")

    def close(self) -> None:
        """Stop the live display and print the summary (nothing when no request came)."""
        if not self.showing:
            return
        self.showing = False
        self.progress.__exit__(None, None, None)
        busiest = sorted(self.counts.items(), key=lambda item: (-sum(item[1].values()), item[0]))
        rows: list[tuple[object, ...]] = [
            (f"{method} {path}", *(row[k] for k in KINDS)) for (method, path), row in busiest[:SUMMARY_ROWS]
        ]
        if len(busiest) > SUMMARY_ROWS:  # paths with ids make many rows: keep the table short
            rest = [row for _, row in busiest[SUMMARY_ROWS:]]
            rows.append((f"{len(rest)} other requests", *(sum(row[k] for row in rest) for k in KINDS)))
        rows.append(("total", *(sum(row[k] for row in self.counts.values()) for k in KINDS)))
        title = f"mockserver record: {self.progress.counter()}"
        summary_table(title, ("request", *KINDS), rows, stream=self.stream, terminal=self.terminal)
