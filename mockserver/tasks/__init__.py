"""The asynchronous task engine every task vendor (Midjourney, Suno, Kling, Runway, ...) builds on.

The one idea: **a task's state is a pure function of its record and the clock**, `view(record, now)`.
At submission the vendor module writes the task's whole *plan* — the steps it will go through, each at
a fixed offset from submission — into a `TaskRecord`. Nothing runs on a timer and nothing is updated
as time passes: whoever reads the record at virtual time `now` sees the last step whose offset has
passed. So several server processes on one store, a restarted server, and a test that advances the
virtual clock instead of sleeping all agree by construction.

Using it from a family module::

    from mockserver.tasks import Phase, PlanBuilder, QueuePolicy, TaskView
    from mockserver.tasks.engine import RenderContext, Vendor, engine, owner_of

    def render(view: TaskView, ctx: RenderContext) -> dict:   # the vendor's task JSON
        return {"task_id": view.record.id, "status": view.status, "progress": view.progress, ...}

    FAMILY = Family(..., task_vendors=[Vendor("kling", render)])  # declared, read by the registry

    async def submit(call):
        tasks = engine(call.state)                     # `create_app` built it (start/stop/reset hooks)
        def plan(admission):                           # offsets from submission; queued tasks wait first
            b = PlanBuilder(call.rng, instant=tasks.instant)
            b.step("submitted", Phase.PENDING)             # step 0: the state at submission (offset 0)
            b.wait(admission.wait_ms)                      # a full pool: stay pending until a worker frees
            b.step("processing", Phase.RUNNING, after=(2, 5))
            b.climb("processing", updates=(3, 6), every=(4, 9))
            b.step("succeed", Phase.SUCCEEDED, after=(3, 6), progress=100)
            return b.build()
        record, admission = await tasks.submit(
            vendor="kling", kind="text2video", id=call.new_id(length=20), plan=plan, now=call.now,
            request=call.body, owner=owner_of(call.api_key),
            notify_hook=tasks.hook(call.body.get("callback_url"), "callback_url"),
            data={"seed": call.rng.randrange(2**31)},   # anything the renderer needs later
            queue=QueuePolicy("kling", concurrency=5, size=50),   # optional; QueueFull when full
        )
        return call.json(tasks.render(record, call.now))

    async def fetch(call):
        record = await engine(call.state).get(call.path_params["id"])   # None -> the vendor's "not found" error
        return call.json(engine(call.state).render(record, call.now))

Pieces:

- `Step(at_ms, status, phase, progress, detail)`: one state; `status` is the vendor's word, `phase`
  (`Phase.PENDING | RUNNING | PAUSED | SUCCEEDED | FAILED`) what it means to the engine. Step 0 is the
  state at submission and is never called back; every later step is a change and is called back.
- `PlanBuilder`: irregular, seeded timing and progress (`step`, `climb`, `wait`); `instant=True`
  (`--instant`) puts every step at offset 0, `scale=` stretches delays. Delays are virtual seconds,
  i.e. real seconds at `--speed 1`; the clock's speed scales them in real time.
- `TaskRecord`: id, vendor, kind, request, submitted_at, steps, scenario, parent, owner, notify_hook,
  queue, data, run_start_ms, version. Immutable; `engine.extend` replaces the unreached future of
  the plan (a new version), e.g. when a paused task is confirmed.
- `view(record, now) -> TaskView` (`status`, `phase`, `progress`, `detail`, `terminal`, `at`,
  `started_at`, `finished_at`); `view_at(record, i)` is the view as of step i (a callback's body).
- `QueuePolicy(key, concurrency, size)`: a FIFO worker pool shared by every process on the store.
  `engine.submit(queue=...)` admits the task atomically: `Admission(ahead, wait_ms)`, or raises
  `QueueFull`. The plan must stay pending for `wait_ms`. Occupancy is derived from records alone.
- `tasks.engine.engine(state) -> TaskEngine`: `submit`, `extend`, `get`, `get_many`, `records` (all async: the
  store may be Redis), `view`, `render`, `hook` (task hook, else `--notify-hook`), `instant`, `now`.
- Stores (`--store`, `mockserver.stores`): `memory` (default) or `sqlite:///PATH` (survives restarts;
  several processes share tasks, worker pools, callback claims and the virtual clock).
- Callbacks: the dispatcher POSTs the vendor's `callback` renderer (default: the fetch body) for
  every step after step 0 to `record.notify_hook`, in plan order per task, each step exactly once
  across processes, with `--callback-retries` attempts, back-off and `--callback-timeout`; every
  attempt is logged (`GET /__mock/callbacks`).
"""

from __future__ import annotations

from mockserver.tasks.model import (
    Admission,
    DuplicateTaskId,
    Phase,
    QueueFull,
    QueuePolicy,
    Step,
    TaskRecord,
    TaskView,
    elapsed_ms,
    view,
    view_at,
)
from mockserver.tasks.plans import PlanBuilder

# The engine (`mockserver.tasks.engine`) is imported from its module: it needs the stores, which need
# the model above, so this package stays a leaf that any layer can import.
__all__ = [
    "Admission",
    "DuplicateTaskId",
    "Phase",
    "PlanBuilder",
    "QueueFull",
    "QueuePolicy",
    "Step",
    "TaskRecord",
    "TaskView",
    "elapsed_ms",
    "view",
    "view_at",
]
