"""`PlanBuilder`: write a task's plan as a few phrases; timing and progress come out irregular but seeded.

    plan = (
        PlanBuilder(call.rng, instant=engine.instant)
        .step("NOT_START", Phase.PENDING)
        .wait(admission.wait_ms)
        .step("SUBMITTED", Phase.RUNNING, after=(1, 3))
        .climb("IN_PROGRESS", updates=(4, 7), every=(3, 8))
        .step("SUCCESS", Phase.SUCCEEDED, after=(2, 5), progress=100)
        .build()
    )

Delays are virtual seconds (real seconds at `--speed 1`; the clock's speed scales them in real time),
drawn from the RNG so the same seed gives the same plan. With `instant` every delay is zero: the task
reaches its last step the moment it is submitted, yet every step is still there (and still called
back, in order). `scale` stretches every delay (e.g. a slower "relax" mode).
"""

from __future__ import annotations

import random

from mockserver.tasks.model import Phase, Step

Delay = float | tuple[float, float]


class PlanBuilder:
    """Accumulates steps; each phrase starts where the previous one ended."""

    def __init__(self, rng: random.Random, *, instant: bool = False, start_ms: int = 0, scale: float = 1.0) -> None:
        self.rng = rng
        self.instant = instant
        self.scale = scale
        self.t_ms = start_ms
        self._steps: list[Step] = []

    @property
    def progress(self) -> int:
        """Progress of the last step so far (0 before any)."""
        return self._steps[-1].progress if self._steps else 0

    def delay_ms(self, delay: Delay) -> int:
        """A delay drawn from `delay` (seconds, or a (low, high) range) in milliseconds; 0 when instant."""
        lo, hi = delay if isinstance(delay, tuple) else (delay, delay)
        seconds = self.rng.uniform(lo, hi) if hi > lo else lo
        return 0 if self.instant else max(0, round(seconds * 1000 * self.scale))

    def wait(self, ms: int, *, always: bool = False) -> PlanBuilder:
        """Move time on by exactly `ms` virtual milliseconds (e.g. a queue wait), unscaled; skipped when
        instant unless `always` (a deadline outside the job itself, such as a gateway timeout)."""
        if always or not self.instant:
            self.t_ms += max(0, ms)
        return self

    def step(
        self,
        status: str,
        phase: Phase,
        *,
        after: Delay = 0.0,
        progress: int | None = None,
        detail: str | None = None,
    ) -> PlanBuilder:
        """Add one step `after` a delay; `progress` defaults to the previous step's. A step identical to
        the previous one (same status, progress and detail) is skipped: every step is a change."""
        self.t_ms += self.delay_ms(after)
        value = self.progress if progress is None else max(0, min(100, progress))
        if self._steps:
            last = self._steps[-1]
            if (last.status, last.progress, last.detail, last.phase) == (status, value, detail, phase):
                return self
        self._steps.append(Step(self.t_ms, status, phase, value, detail))
        return self

    def climb(
        self,
        status: str,
        *,
        phase: Phase = Phase.RUNNING,
        updates: tuple[int, int] = (4, 7),
        every: Delay = (3.0, 8.0),
        below: int = 100,
        stop_at: int | None = None,
    ) -> PlanBuilder:
        """Progress updates in `status`: between `updates` steps at irregular times (`every` apart) to
        irregular values that rise from the current progress and stay below `below`. With `stop_at`
        the climb ends at the last value not above it (a job that stalls or fails part way)."""
        start = self.progress
        top = below - 1 if stop_at is None else min(below - 1, stop_at)
        count = min(max(0, top - start), self.rng.randint(*updates))
        # Spread the updates over the range, each jittered by up to 40 % of the spacing: rising,
        # irregular, and never bunched at one end (real bots report e.g. 15, 31, 46, 62, 78, 93).
        spacing = (top - start) / (count + 1) if count else 0.0
        last = start
        for i in range(count):
            target = start + spacing * (i + 1) + self.rng.uniform(-0.4, 0.4) * spacing
            value = min(top - (count - 1 - i), max(last + 1, round(target)))
            self.step(status, phase, after=every, progress=value)
            last = value
        return self

    def build(self) -> tuple[Step, ...]:
        if not self._steps:
            raise ValueError("a plan needs at least one step")
        return tuple(self._steps)
