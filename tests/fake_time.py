"""A stand-in for real time that moves only when the code under test sleeps on it.

Code that holds a request for N real seconds (Replicate's `Prefer: wait`, a replay at recorded speed) can
then be tested without waiting: patch the modules' `time` and `asyncio` names with this clock's and read
`slept` / `naps` afterwards.
"""

from __future__ import annotations

import asyncio
import time
import types


class FakeTime:
    """Monotonic time that advances by exactly what `sleep` is asked for, and not otherwise."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0
        self.naps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds
        self.naps.append(seconds)
        await asyncio.sleep(0)  # still let other tasks run, as a real sleep would

    def time_module(self) -> types.SimpleNamespace:
        """What a module's `time` name may be replaced with (wall-clock `time()` stays real)."""
        return types.SimpleNamespace(monotonic=self.monotonic, time=time.time)

    def asyncio_module(self) -> types.SimpleNamespace:
        """What a module's `asyncio` name may be replaced with: asyncio, but sleeping on this clock."""
        return types.SimpleNamespace(**{**vars(asyncio), "sleep": self.sleep})
