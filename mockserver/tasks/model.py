"""Task records, lifecycle steps and `view(record, now)`: a task's state as a pure function of time.

A record is written once at submission (and extended only by an explicit API event such as a
Midjourney modal confirmation); it carries the whole *plan* of the task: the steps it goes through,
each at a fixed offset from submission. What a client sees at any moment is the last step whose
offset has passed, so every process, every restart and every test reading the same record and the
same clock agrees, and nothing ever has to run on a timer.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any


class Phase(enum.StrEnum):
    """What a step means to the engine, whatever the vendor calls it."""

    PENDING = "pending"  # accepted, waiting for a worker (queued)
    RUNNING = "running"  # a worker holds it
    PAUSED = "paused"  # waits for the client (e.g. a Midjourney modal); holds no worker
    SUCCEEDED = "succeeded"  # terminal
    FAILED = "failed"  # terminal

    @property
    def terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED)


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """One state of a task's plan, reached `at_ms` milliseconds (virtual) after submission."""

    at_ms: int
    status: str  # the vendor's own word: "IN_PROGRESS", "processing", "succeed", ...
    phase: Phase
    progress: int = 0  # 0..100
    detail: str | None = None  # e.g. the failure reason

    def to_list(self) -> list[Any]:
        return [self.at_ms, self.status, self.phase.value, self.progress, self.detail]

    @classmethod
    def from_list(cls, item: Sequence[Any]) -> Step:
        return cls(int(item[0]), str(item[1]), Phase(item[2]), int(item[3]), item[4])


@dataclasses.dataclass(frozen=True)
class TaskRecord:
    """Everything stored about a task. Immutable: `extend` makes a new version.

    `request` is the validated request body; `data` holds vendor facts decided at submission (a job
    hash, a seed, the parent's image, ...). `owner` is a hash of the caller's key, `notify_hook` the
    resolved callback URL (None: no callbacks), `queue` the worker pool the task waits in (None: it
    never waits).
    """

    id: str
    vendor: str
    kind: str
    submitted_at: float
    steps: tuple[Step, ...]
    request: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    scenario: str = "success"
    parent: str | None = None
    owner: str = ""
    notify_hook: str | None = None
    queue: str | None = None
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # Offset (ms after submission) at which the task holds a worker of its `queue`; the engine sets it
    # from the pool's admission.
    run_start_ms: int | None = None
    version: int = 1

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"task {self.id}: a plan needs at least one step")
        if self.steps[0].at_ms != 0:
            raise ValueError(f"task {self.id}: the first step is the state at submission (at_ms 0)")
        last = -1
        for step in self.steps:
            if step.at_ms < last:
                raise ValueError(f"task {self.id}: plan steps must be in time order")
            last = step.at_ms

    # -- derived facts the store indexes -----------------------------------------------------
    def step_time(self, index: int) -> float:
        """Absolute virtual time of step `index`."""
        return self.submitted_at + self.steps[index].at_ms / 1000.0

    @property
    def run_start(self) -> float | None:
        """When the task takes a worker of its pool (None: it holds none, e.g. no pool, or the plan
        ends paused)."""
        end = self.run_end
        if self.run_start_ms is None or end is None:
            return None
        return min(end, self.submitted_at + self.run_start_ms / 1000.0)

    @property
    def run_end(self) -> float | None:
        """When the task ends (its terminal step); None while the plan ends paused."""
        if not self.steps[-1].phase.terminal:
            return None
        return self.step_time(len(self.steps) - 1)

    def replanned(self, keep: int, steps: Sequence[Step], **changes: Any) -> TaskRecord:
        """A new version: the first `keep` steps of the plan, then `steps` (and other fields changed)."""
        return dataclasses.replace(self, steps=(*self.steps[:keep], *steps), version=self.version + 1, **changes)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "vendor": self.vendor,
            "kind": self.kind,
            "submitted_at": self.submitted_at,
            "steps": [s.to_list() for s in self.steps],
            "request": dict(self.request),
            "scenario": self.scenario,
            "parent": self.parent,
            "owner": self.owner,
            "notify_hook": self.notify_hook,
            "queue": self.queue,
            "data": dict(self.data),
            "run_start_ms": self.run_start_ms,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TaskRecord:
        return cls(
            id=str(raw["id"]),
            vendor=str(raw["vendor"]),
            kind=str(raw["kind"]),
            submitted_at=float(raw["submitted_at"]),
            steps=tuple(Step.from_list(s) for s in raw["steps"]),
            request=raw.get("request") or {},
            scenario=str(raw.get("scenario") or "success"),
            parent=raw.get("parent"),
            owner=str(raw.get("owner") or ""),
            notify_hook=raw.get("notify_hook"),
            queue=raw.get("queue"),
            data=raw.get("data") or {},
            run_start_ms=None if raw.get("run_start_ms") is None else int(raw["run_start_ms"]),
            version=int(raw.get("version") or 1),
        )


def elapsed_ms(record: TaskRecord, now: float) -> int:
    """Whole virtual milliseconds since submission (a hair of slack absorbs float rounding)."""
    return math.floor((now - record.submitted_at) * 1000.0 + 1e-3)


@dataclasses.dataclass(frozen=True)
class TaskView:
    """A task as of one moment: the record and the index of the step it has reached."""

    record: TaskRecord
    index: int

    @property
    def step(self) -> Step:
        return self.record.steps[self.index]

    @property
    def status(self) -> str:
        return self.step.status

    @property
    def phase(self) -> Phase:
        return self.step.phase

    @property
    def progress(self) -> int:
        return self.step.progress

    @property
    def detail(self) -> str | None:
        return self.step.detail

    @property
    def terminal(self) -> bool:
        return self.step.phase.terminal

    @property
    def at(self) -> float:
        """Absolute virtual time the current step was reached."""
        return self.record.step_time(self.index)

    @property
    def started_at(self) -> float | None:
        """When the first running step was reached (None if not yet)."""
        for i in range(self.index + 1):
            if self.record.steps[i].phase is Phase.RUNNING:
                return self.record.step_time(i)
        return None

    @property
    def finished_at(self) -> float | None:
        return self.at if self.terminal else None

    def reached(self, status: str) -> bool:
        """Whether the task has been in `status` at some step up to now."""
        return any(s.status == status for s in self.record.steps[: self.index + 1])


def _at_ms(step: Step) -> int:
    return step.at_ms


def view(record: TaskRecord, now: float) -> TaskView:
    """The task as it is at virtual time `now`: the last step whose time has come (step 0 at least)."""
    index = bisect.bisect_right(record.steps, elapsed_ms(record, now), key=_at_ms) - 1
    return TaskView(record, max(0, index))


def view_at(record: TaskRecord, index: int) -> TaskView:
    """The task as it was when it reached step `index` (what a callback for that step carries)."""
    if not 0 <= index < len(record.steps):
        raise IndexError(f"task {record.id} has no step {index}")
    return TaskView(record, index)


def reached_index(record: TaskRecord, now: float) -> int:
    """Index of the last step reached at `now`."""
    return view(record, now).index


@dataclasses.dataclass(frozen=True)
class QueuePolicy:
    """A worker pool: `concurrency` tasks run at once, at most `size` wait; `key` names the pool."""

    key: str
    concurrency: int
    size: int


@dataclasses.dataclass(frozen=True)
class Admission:
    """What the pool said when the task arrived: how many were waiting ahead, and how long until a
    worker is free (0 when one is free now)."""

    ahead: int = 0
    wait_ms: int = 0


class QueueFull(Exception):
    """The pool's waiting room is full; the task was not stored."""

    def __init__(self, waiting: int) -> None:
        super().__init__(f"queue full ({waiting} waiting)")
        self.waiting = waiting


class DuplicateTaskId(Exception):
    """A record with this id is already stored."""
