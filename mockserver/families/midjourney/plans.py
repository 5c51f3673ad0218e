"""Midjourney lifecycles: how long each kind of job takes and which path it takes (success, failure part
way, timeout, rejection), written as task-engine plans.

Durations are virtual seconds (real seconds at `--speed 1`) for fast mode; turbo halves them, relax
multiplies them by 2.5. A grid job (imagine, variation, reroll, blend, zoom, pan, vary) takes about
30–60 s with five or so irregular progress updates; an upscale 8–15 s; describe and shorten 5–12 s; a
video about 1–2 min.
"""

from __future__ import annotations

import dataclasses
import random

from mockserver.families.midjourney.text import DEFAULT_FAIL_REASON, DEFAULT_REJECT_REASON, Scenario
from mockserver.families.midjourney.wire import (
    FAILURE_STATUS,
    GATEWAY_TIMEOUT_REASON,
    IN_PROGRESS,
    MODAL,
    NOT_START,
    SUBMITTED,
    SUCCESS_STATUS,
    TIMEOUT_REASON,
)
from mockserver.tasks import Admission, Phase, PlanBuilder, Step
from mockserver.tasks.plans import Delay

MODE_SCALE = {"turbo": 0.5, "fast": 1.0, "relax": 2.5}
# midjourney-proxy fails a job still running this long after it started (timeoutMinutes = 5).
JOB_TIMEOUT_MS = 5 * 60 * 1000
# new-api fails a task that has not finished an hour after submission (a modal never confirmed).
GATEWAY_TIMEOUT_MS = 60 * 60 * 1000


@dataclasses.dataclass(frozen=True)
class Timing:
    """One kind of job: waits between its states (seconds) and how many progress updates it shows."""

    dispatch: Delay  # NOT_START -> SUBMITTED (Discord accepts the interaction)
    start: Delay  # SUBMITTED -> IN_PROGRESS 0% (the bot's first message)
    updates: tuple[int, int]  # progress messages
    every: Delay  # between progress messages
    finish: Delay  # last progress -> SUCCESS


TIMINGS: dict[str, Timing] = {
    "grid": Timing(dispatch=(1.0, 3.0), start=(2.0, 6.0), updates=(4, 7), every=(3.0, 8.0), finish=(2.0, 6.0)),
    "upscale": Timing(dispatch=(1.0, 2.0), start=(1.0, 3.0), updates=(0, 2), every=(2.0, 4.0), finish=(2.0, 5.0)),
    "upscale2x": Timing(dispatch=(1.0, 3.0), start=(2.0, 5.0), updates=(3, 6), every=(5.0, 10.0), finish=(3.0, 6.0)),
    "text": Timing(dispatch=(1.0, 2.0), start=(2.0, 4.0), updates=(0, 0), every=0.0, finish=(2.0, 6.0)),
    "swap": Timing(dispatch=(1.0, 2.0), start=(2.0, 4.0), updates=(1, 3), every=(2.0, 5.0), finish=(2.0, 4.0)),
    "video": Timing(dispatch=(1.0, 3.0), start=(3.0, 6.0), updates=(5, 9), every=(6.0, 14.0), finish=(3.0, 8.0)),
}


def _run(b: PlanBuilder, timing: Timing, scenario: Scenario, rng: random.Random) -> tuple[Step, ...]:
    """From the moment a worker holds the job: SUBMITTED, IN_PROGRESS with rising progress, then the end
    the scenario chooses."""
    if scenario.name == "reject":
        b.step(FAILURE_STATUS, Phase.FAILED, after=timing.dispatch, detail=scenario.reason or DEFAULT_REJECT_REASON)
        return b.build()
    b.step(SUBMITTED, Phase.RUNNING, after=timing.dispatch, progress=0)
    started = b.t_ms
    b.step(IN_PROGRESS, Phase.RUNNING, after=timing.start, progress=0)
    updates = (max(1, timing.updates[0]), max(1, timing.updates[1]))
    if scenario.name == "fail":
        b.climb(IN_PROGRESS, updates=updates, every=timing.every or (2.0, 5.0), stop_at=rng.randint(25, 70))
        b.step(FAILURE_STATUS, Phase.FAILED, after=(2.0, 6.0), detail=scenario.reason or DEFAULT_FAIL_REASON)
    elif scenario.name == "timeout":
        b.climb(IN_PROGRESS, updates=updates, every=timing.every or (2.0, 5.0), stop_at=rng.randint(15, 60))
        b.wait(started + JOB_TIMEOUT_MS - b.t_ms)
        b.step(FAILURE_STATUS, Phase.FAILED, detail=scenario.reason or TIMEOUT_REASON)
    else:
        b.climb(IN_PROGRESS, updates=timing.updates, every=timing.every)
        b.step(SUCCESS_STATUS, Phase.SUCCEEDED, after=timing.finish, progress=100)
    return b.build()


def job_plan(
    timing: str, scenario: Scenario, admission: Admission, rng: random.Random, *, instant: bool, mode: str = "fast"
) -> tuple[Step, ...]:
    """A new job: NOT_START (queued for `admission.wait_ms` if the pool is busy), then `_run`."""
    b = PlanBuilder(rng, instant=instant, scale=MODE_SCALE.get(mode, 1.0))
    b.step(NOT_START, Phase.PENDING)
    b.wait(admission.wait_ms)
    return _run(b, TIMINGS[timing], scenario, rng)


def modal_plan(rng: random.Random, *, instant: bool) -> tuple[Step, ...]:
    """A job that needs the client's input first: MODAL from submission until `/mj/submit/modal`; the
    gateway gives up on it after an hour."""
    b = PlanBuilder(rng, instant=instant)
    b.step(MODAL, Phase.PAUSED)
    b.wait(GATEWAY_TIMEOUT_MS, always=True)
    b.step(FAILURE_STATUS, Phase.FAILED, detail=GATEWAY_TIMEOUT_REASON)
    return b.build()


def resume_plan(
    timing: str,
    scenario: Scenario,
    admission: Admission,
    rng: random.Random,
    *,
    start_ms: int,
    instant: bool,
    mode: str = "fast",
) -> tuple[Step, ...]:
    """The rest of a confirmed modal job, from `start_ms` (now, after submission): wait for a worker, run."""
    b = PlanBuilder(rng, instant=instant, start_ms=start_ms, scale=MODE_SCALE.get(mode, 1.0))
    b.wait(admission.wait_ms)
    return _run(b, TIMINGS[timing], scenario, rng)


def done_plan() -> tuple[Step, ...]:
    """Finished at submission (an upload)."""
    return (Step(0, SUCCESS_STATUS, Phase.SUCCEEDED, 100),)
