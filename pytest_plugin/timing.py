"""Measure how a stream arrives: time to its first event and the gaps between events.

For tests of a chat UI or a load profile against `--latency realistic` (or a recorded cassette with
its timing)::

    stream = client.chat.completions.create(..., stream=True)
    timing = measure_stream(stream)
    assert timing.first_event < 2.0 and 0.005 < timing.mean_gap < 0.05
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterable, Iterable
from typing import Any


@dataclasses.dataclass(frozen=True)
class StreamTiming:
    """When each event of a stream arrived, in seconds after the measurement started."""

    arrivals: tuple[float, ...]
    events: tuple[Any, ...] = dataclasses.field(repr=False)

    @property
    def first_event(self) -> float:
        """Time to the first event (the stream's TTFT as the client sees it)."""
        return self.arrivals[0] if self.arrivals else float("nan")

    @property
    def gaps(self) -> tuple[float, ...]:
        """Seconds between consecutive events."""
        return tuple(b - a for a, b in zip(self.arrivals, self.arrivals[1:], strict=False))

    @property
    def mean_gap(self) -> float:
        gaps = self.gaps
        return sum(gaps) / len(gaps) if gaps else float("nan")

    @property
    def total(self) -> float:
        return self.arrivals[-1] if self.arrivals else 0.0


def measure_stream(stream: Iterable[Any], *, started: float | None = None) -> StreamTiming:
    """Consume `stream` (an SDK stream, `httpx` `iter_lines()`, ...), noting when each event came.

    `started` is a `time.perf_counter()` taken before the request was sent, to include the wait for the
    response head; by default the clock starts when this is called."""
    start = time.perf_counter() if started is None else started
    arrivals: list[float] = []
    events: list[Any] = []
    for event in stream:
        arrivals.append(time.perf_counter() - start)
        events.append(event)
    return StreamTiming(tuple(arrivals), tuple(events))


async def ameasure_stream(stream: AsyncIterable[Any], *, started: float | None = None) -> StreamTiming:
    """`measure_stream` for async streams."""
    start = time.perf_counter() if started is None else started
    arrivals: list[float] = []
    events: list[Any] = []
    async for event in stream:
        arrivals.append(time.perf_counter() - start)
        events.append(event)
    return StreamTiming(tuple(arrivals), tuple(events))
