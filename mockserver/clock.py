"""The virtual clock every timestamp and task lifecycle reads: real time × speed + manual offset."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """What the emulator needs from a clock."""

    def now(self) -> float:
        """Virtual unix time in seconds."""
        ...

    def advance(self, seconds: float) -> float:
        """Move virtual time forward by `seconds`; return the new time."""
        ...


class VirtualClock:
    """Virtual time = start + (real seconds since creation × speed) + offset.

    `monotonic` is the real-time source: `time.monotonic` for one process; processes sharing a store
    use wall time (`time.time`), the one reading they have in common, and load each other's `params()`.

    `speed` 0 stops the clock so only `advance` moves it: with a fixed `start` every timestamp is
    reproducible. `instant` is a flag the task engine reads (tasks finish on submission); the clock
    itself is unaffected.
    """

    def __init__(
        self,
        *,
        speed: float = 1.0,
        start: float | None = None,
        instant: bool = False,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._mono = monotonic or time.monotonic
        self._origin_real = self._mono()
        self.start = time.time() if start is None else float(start)
        self.speed = float(speed)
        self.instant = instant
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.start + (self._mono() - self._origin_real) * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    @property
    def real(self) -> Callable[[], float]:
        """The real-time source (see the class docstring)."""
        return self._mono

    def params(self) -> dict[str, float]:
        """What the time is computed from, as kept in the settings document (`load` reads it back)."""
        with self._lock:
            return {
                "anchor_real": self._origin_real,
                "anchor_virtual": self.start,
                "speed": self.speed,
                "offset": self._offset,
            }

    def load(self, params: dict[str, float]) -> None:
        """Take the time from `params` (another process's `params()`, read from a shared store)."""
        with self._lock:
            self._origin_real = float(params["anchor_real"])
            self.start = float(params["anchor_virtual"])
            self.speed = float(params["speed"])
            self._offset = float(params["offset"])

    def describe(self) -> dict[str, float | bool]:
        return {
            "now": round(self.now(), 3),
            "speed": self.speed,
            "offset": round(self._offset, 3),
            "instant": self.instant,
        }
