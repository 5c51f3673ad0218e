"""`SharedClock`: the virtual clock kept in a `SqliteStore`, so every process on the file shares it."""

from __future__ import annotations

import time
from collections.abc import Callable

from mockserver.clock import VirtualClock
from mockserver.stores.sqlite import SqliteStore


class SharedClock(VirtualClock):
    """A virtual clock kept in a `SqliteStore`: now = anchor + (wall time since anchor) × speed + offset.

    Every process sharing the file reads the same anchor, speed and offset, so they agree on the time;
    `advance` in one process moves the clock of all of them, and a restarted server resumes the time
    its tasks were planned on.
    """

    def __init__(
        self,
        store: SqliteStore,
        *,
        speed: float = 1.0,
        start: float | None = None,
        instant: bool = False,
        wall: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(speed=speed, start=start, instant=instant)
        self._store = store
        self._wall = wall
        self._start_setting = start
        store.clock_init(start=start, speed=speed, wall=wall())

    def _row(self) -> tuple[float, float, float, float]:
        row = self._store.clock_row()
        if row is None:  # the file was wiped under us: start again
            self._store.clock_init(start=self._start_setting, speed=self.speed, wall=self._wall())
            row = self._store.clock_row()
            assert row is not None
        return row

    def now(self) -> float:
        anchor_real, anchor_virtual, speed, offset = self._row()
        return anchor_virtual + (self._wall() - anchor_real) * speed + offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._store.clock_advance(seconds)
        return self.now()

    @property
    def offset(self) -> float:
        return self._row()[3]

    def reset(self) -> None:
        self._store.clock_reset(start=self._start_setting, speed=self.speed, wall=self._wall())

    def describe(self) -> dict[str, float | bool]:
        anchor_real, anchor_virtual, speed, offset = self._row()
        return {
            "now": round(anchor_virtual + (self._wall() - anchor_real) * speed + offset, 3),
            "speed": speed,
            "offset": round(offset, 3),
            "instant": self.instant,
            "shared": True,
        }
