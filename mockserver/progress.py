"""Progress for long commands (`verify`, `fuzz`, `record`): a live bar on a terminal, plain lines in logs.

On a terminal (`rich`): a bar with the count, the rate and the elapsed time, result lines printed above
it, and a summary table at the end. Anywhere else (CI logs, pipes): one plain line per result with the
same count, rate and elapsed time, at most one line per `interval` seconds for bare ticks, and the
summary as an aligned text table.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import IO, Any


def is_terminal(stream: IO[str]) -> bool:
    """Whether `stream` is an interactive terminal (never in CI logs or pipes)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def rate_text(done: int, elapsed: float, unit: str) -> str:
    """`"12.3 unit/s"` — the rate so far (`–` before anything took measurable time)."""
    if elapsed <= 0:
        return f"– {unit}/s"
    rate = done / elapsed
    return f"{rate:.1f} {unit}/s" if rate < 100 else f"{rate:.0f} {unit}/s"


def elapsed_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}" if minutes else f"{seconds:.1f}s"


class Progress:
    """Counts finished items of a long command and shows it (see the module docstring)."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "items",
        stream: IO[str] | None = None,
        terminal: bool | None = None,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = is_terminal(self.stream) if terminal is None else terminal
        self.interval = interval
        self.clock = clock
        self.done = 0
        self.started = clock()
        self._last_line = self.started
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.terminal:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            console = Console(file=self.stream, force_terminal=True)
            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, rate="")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            # The bar goes away with the run; its figures stay as one line.
            print(f"{self.label}: {self.counter()}", file=self.stream, flush=True)

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def counter(self, now: float | None = None) -> str:
        """`"3/8 items, 2.1 items/s, 4.2s"` (as of `now`, default the clock's now)."""
        elapsed = (self.clock() if now is None else now) - self.started
        of = f"/{self.total}" if self.total is not None else ""
        return f"{self.done}{of} {self.unit}, {rate_text(self.done, elapsed, self.unit)}, {elapsed_text(elapsed)}"

    def advance(self, count: int = 1, line: str | None = None) -> None:
        """`count` more items done; `line` (a result worth keeping) is printed above the bar or, in plain
        mode, with the counter after it. Plain ticks without a line print at most every `interval` s."""
        self.done += count
        now = self.clock()
        if self._bar is not None:
            if line is not None:
                self._bar.console.print(line, markup=False, highlight=False)
            rate = rate_text(self.done, now - self.started, self.unit)
            self._bar.update(self._task, completed=self.done, rate=rate)
            return
        finished = self.total is not None and self.done >= self.total
        if line is None and not finished and now - self._last_line < self.interval:
            return
        self._last_line = now
        text = f"{line}  [{self.counter(now)}]" if line is not None else f"{self.label}: {self.counter(now)}"
        print(text, file=self.stream, flush=True)


def summary_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    stream: IO[str] | None = None,
    terminal: bool | None = None,
) -> None:
    """Print a final summary: a rich table on a terminal, aligned plain text otherwise."""
    out = stream if stream is not None else sys.stderr
    if is_terminal(out) if terminal is None else terminal:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(str(cell) for cell in row))
        Console(file=out, force_terminal=True).print(table)
        return
    cells = [[str(c) for c in columns], *([str(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [title]
    for n, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    print("\n".join(lines), file=out, flush=True)
