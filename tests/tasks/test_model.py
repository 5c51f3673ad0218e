"""The pure parts of the task engine: records, views, plans and the worker-pool arithmetic."""

from __future__ import annotations

import itertools
import random

import pytest

from mockserver.stores.base import admit
from mockserver.tasks import Admission, Phase, PlanBuilder, QueueFull, QueuePolicy, Step, TaskRecord, view, view_at


def record(*steps: Step, submitted_at: float = 100.0, **kw: object) -> TaskRecord:
    return TaskRecord(id="t1", vendor="demo", kind="x", submitted_at=submitted_at, steps=steps, **kw)  # type: ignore[arg-type]


PLAN = (
    Step(0, "queued", Phase.PENDING),
    Step(1500, "running", Phase.RUNNING, 0),
    Step(4000, "running", Phase.RUNNING, 40),
    Step(9000, "done", Phase.SUCCEEDED, 100),
)


def test_view_is_the_last_step_reached() -> None:
    rec = record(*PLAN)
    assert view(rec, 100.0).status == "queued"
    assert view(rec, 101.499).status == "queued"
    assert view(rec, 101.5).status == "running"
    assert view(rec, 104.2).progress == 40
    done = view(rec, 500.0)
    assert done.terminal and done.phase is Phase.SUCCEEDED
    assert done.started_at == pytest.approx(101.5) and done.finished_at == pytest.approx(109.0)
    assert view(rec, 50.0).index == 0  # before submission: the submitted state
    assert view_at(rec, 2).progress == 40 and view_at(rec, 2).at == pytest.approx(104.0)
    with pytest.raises(IndexError):
        view_at(rec, 4)


def test_float_clock_reaches_a_step_exactly_at_its_time() -> None:
    rec = record(*PLAN, submitted_at=1_750_000_000.0)
    now = 1_750_000_000.0
    for _ in range(3):
        now += 0.5  # 1.5 s in float steps
    assert view(rec, now).status == "running"


def test_record_rules_and_round_trip() -> None:
    with pytest.raises(ValueError, match="at least one step"):
        record()
    with pytest.raises(ValueError, match="at_ms 0"):
        record(Step(10, "x", Phase.PENDING))
    with pytest.raises(ValueError, match="time order"):
        record(Step(0, "a", Phase.PENDING), Step(10, "b", Phase.RUNNING), Step(5, "c", Phase.SUCCEEDED))
    rec = record(*PLAN, request={"prompt": "x"}, data={"seed": 3}, notify_hook="http://h", run_start_ms=0, queue="q")
    assert TaskRecord.from_dict(rec.to_dict()) == rec
    assert rec.run_start == pytest.approx(100.0) and rec.run_end == pytest.approx(109.0)
    paused = record(Step(0, "MODAL", Phase.PAUSED), run_start_ms=0)
    assert paused.run_start is None and paused.run_end is None
    replanned = rec.replanned(2, [Step(5000, "failed", Phase.FAILED, detail="boom")])
    assert [s.status for s in replanned.steps] == ["queued", "running", "failed"] and replanned.version == 2


def test_plan_builder_is_seeded_irregular_and_instant_collapses_time() -> None:
    def build(seed: int, instant: bool = False) -> tuple[Step, ...]:
        b = PlanBuilder(random.Random(seed), instant=instant)
        b.step("queued", Phase.PENDING).wait(2000)
        b.step("running", Phase.RUNNING, after=(1, 3)).climb("running", updates=(5, 7), every=(2, 6))
        return b.step("done", Phase.SUCCEEDED, after=1, progress=100).build()

    plan = build(7)
    assert plan == build(7) and plan != build(8)
    progress = [s.progress for s in plan if s.status == "running"]
    assert progress[0] == 0 and progress == sorted(progress) and len(set(progress)) == len(progress)
    assert 5 <= len(progress) - 1 <= 7 and max(progress) < 100
    gaps = {b.at_ms - a.at_ms for a, b in itertools.pairwise(plan[1:])}
    assert len(gaps) > 1
    assert plan[1].at_ms >= 3000  # the wait, then 1-3 s
    instant = build(7, instant=True)
    assert [s.status for s in instant] == [s.status for s in plan]
    assert {s.at_ms for s in instant} == {0}


def test_plan_builder_skips_a_step_that_changes_nothing_and_always_waits() -> None:
    b = PlanBuilder(random.Random(1), instant=True)
    b.step("a", Phase.RUNNING, progress=5).step("a", Phase.RUNNING, progress=5)
    b.wait(1000).wait(60_000, always=True).step("b", Phase.FAILED)
    plan = b.build()
    assert [(s.status, s.at_ms) for s in plan] == [("a", 0), ("b", 60_000)]
    b2 = PlanBuilder(random.Random(1), scale=2.0)
    assert b2.delay_ms(3.0) == 6000
    stalled = PlanBuilder(random.Random(2)).climb("x", updates=(10, 10), stop_at=30).build()
    assert max(s.progress for s in stalled) <= 30


def test_pool_admission_is_fifo() -> None:
    policy = QueuePolicy("p", concurrency=2, size=2)
    assert admit(policy, 0.0, [], 0) == Admission(0, 0)
    assert admit(policy, 0.0, [30.0], 0) == Admission(0, 0)
    # two running (end 30, 50): the newcomer takes the first worker to free up
    assert admit(policy, 10.0, [50.0, 30.0], 0) == Admission(0, 20_000)
    # plus one waiting (it takes the worker freed at 30, ends at 70): the next one gets 50's worker
    assert admit(policy, 10.0, [50.0, 30.0, 70.0], 1) == Admission(1, 40_000)
    with pytest.raises(QueueFull) as full:
        admit(policy, 10.0, [50.0, 30.0, 70.0, 90.0], 2)
    assert full.value.waiting == 2
