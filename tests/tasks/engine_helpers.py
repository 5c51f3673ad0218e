"""A task engine with one demo vendor, for the dispatcher tests: build it, submit tasks to it."""

from __future__ import annotations

import random
from typing import Any

from mockserver import tasks
from mockserver.contracts import load_contracts
from mockserver.settings import Settings
from mockserver.state import MockState
from mockserver.stores import open_store
from mockserver.tasks import Phase, PlanBuilder
from mockserver.tasks.engine import RenderContext, TaskEngine, Vendor, engine
from tests.tasks.helpers import START

VENDOR = "test-demo"


def render(view: tasks.TaskView, ctx: RenderContext) -> dict[str, Any]:
    return {"id": view.record.id, "status": view.status, "progress": view.progress, "base": ctx.base_url}


def demo_plan(seed: int) -> tuple[tasks.Step, ...]:
    b = PlanBuilder(random.Random(seed))
    b.step("queued", Phase.PENDING).step("running", Phase.RUNNING, after=(1, 2))
    b.climb("running", updates=(2, 4), every=(1, 3))
    return b.step("done", Phase.SUCCEEDED, after=1, progress=100).build()


def engine_for(**settings: Any) -> TaskEngine:
    config = Settings(speed=0.0, start_time=START, **settings)
    stores = open_store(config.store, speed=config.speed, start=config.start_time)
    vendors = {VENDOR: Vendor(VENDOR, render)}
    state = MockState.build(
        config,
        load_contracts(),
        store=stores.tasks,
        shared=stores.shared,
        clock=stores.clock,
        envelopes={},
        task_vendors=vendors,
    )
    return engine(state)


async def submit(engine: TaskEngine, task_id: str, hook: str) -> tasks.TaskRecord:
    record, _ = await engine.submit(
        vendor=VENDOR,
        kind="demo",
        id=task_id,
        plan=demo_plan(len(task_id) * 7 + int(task_id[1:] or 0)),
        now=engine.now(),
        notify_hook=hook,
    )
    return record
