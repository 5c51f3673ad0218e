"""`TaskEngine`: one emulator's tasks — store, clock, vendors' renderers and the callback dispatcher.

Get it with `engine(state)` from a family's `setup(state)` (the first call builds it and registers
its start-up, shutdown and reset hooks; later calls return the same engine).
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mockserver.errors import ApiError
from mockserver.stores.base import TaskStore, last
from mockserver.tasks import model as task_model
from mockserver.tasks.dispatcher import CallbackDispatcher
from mockserver.tasks.model import Admission, DuplicateTaskId, QueuePolicy, Step, TaskRecord, TaskView
from mockserver.tasks.targets import refused_target

if TYPE_CHECKING:
    from mockserver.settings import Settings
    from mockserver.state import MockState

log = logging.getLogger("mockserver.tasks")

EXT_KEY = "tasks"
# How many times `submit` asks for a fresh id when the proposed one is taken.
_ID_ATTEMPTS = 1000


@dataclasses.dataclass(frozen=True)
class RenderContext:
    """What a renderer may use besides the view: the emulator's public base URL and settings."""

    base_url: str
    settings: Settings


Renderer = Callable[[TaskView, RenderContext], Any]


@dataclasses.dataclass(frozen=True)
class Vendor:
    """How a vendor's tasks look on the wire: `render` is the fetch body; `callback` the callback body
    (defaults to `render`)."""

    name: str
    render: Renderer
    callback: Renderer | None = None


def owner_of(api_key: str) -> str:
    """A stable, non-reversible owner tag for an API key (the gateway scopes tasks per user)."""
    from mockserver.pipeline import normalize_key

    return hashlib.blake2b(normalize_key(api_key).encode(), digest_size=8).hexdigest()


Plan = Sequence[Step] | Callable[[Admission], Sequence[Step]]
ExtendPlan = Callable[[TaskRecord, Admission], Sequence[Step]]


class TaskEngine:
    """Submits, extends, finds and renders tasks; runs the callback dispatcher while the app runs."""

    def __init__(self, state: MockState) -> None:
        settings = state.settings
        self.state = state
        # The store and its clock were opened together (`stores.open_store`), by whoever built the state.
        self.store: TaskStore = state.store
        self.vendors: Mapping[str, Vendor] = state.task_vendors
        self.dispatcher = CallbackDispatcher(
            self.store,
            self.now,
            self.callback_payload,
            attempts=settings.callback_retries,
            timeout=settings.callback_timeout,
            refresh=state.refresh if state.shared.shared else None,
        )
        state.on_startup.append(self.start)
        state.on_shutdown.append(self.stop)
        state.on_reset.append(self.reset)

    # -- lifecycle of the engine itself ------------------------------------------------------------
    async def start(self) -> None:
        adopt = getattr(self.store, "adopt_instance", None)
        if adopt is not None:  # a shared file: claims name this process; a crashed predecessor's are freed
            await adopt(self.settings.port)
        await self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()
        await self.store.close()

    async def reset(self) -> None:
        """Forget every task and delivery (POST /__mock/reset)."""
        self.dispatcher.cancel_deliveries()
        await self.store.clear()

    # -- time ------------------------------------------------------------------------------------
    def now(self) -> float:
        return self.state.clock.now()

    @property
    def instant(self) -> bool:
        """`--instant`: plans should put every step at submission."""
        return bool(self.state.clock.instant)

    @property
    def settings(self) -> Settings:
        return self.state.settings

    def hook(self, task_hook: str | None, field: str | None = None) -> str | None:
        """The callback URL for a task: its own hook, else the global `--notify-hook`, else None.

        An http(s) hook whose host the settings do not allow (`--callback-allow`; by default anything
        but link-local, multicast and unspecified addresses) is refused here, at submit, with a 400
        naming `field`, so the callbacks log never tells a refused target from an unreachable one.
        """
        url = (task_hook or "").strip() or self.settings.notify_hook or None
        if url:
            why = refused_target(url, self.settings.callback_allow)
            if why is not None:
                raise ApiError(400, f"callback URL {url!r} is not allowed: {why}", param=field, code="callback_refused")
        return url

    # -- tasks -----------------------------------------------------------------------------------
    async def submit(
        self,
        *,
        vendor: str,
        kind: str,
        id: str | Callable[[int], str | Awaitable[str]],
        plan: Plan,
        now: float,
        request: Mapping[str, Any] | None = None,
        owner: str = "",
        notify_hook: str | None = None,
        scenario: str = "success",
        parent: str | None = None,
        data: Mapping[str, Any] | None = None,
        queue: QueuePolicy | None = None,
    ) -> tuple[TaskRecord, Admission]:
        """Store a new task and return it with the pool's admission.

        `id` is the id or a function of the attempt number (0, 1, ...) proposing one (or awaiting one:
        ids drawn from the shared state); a taken id makes the engine ask again. `plan` is the steps
        (offsets from submission) or a function of the admission returning them — a queued task's plan
        must keep it pending for `admission.wait_ms`.
        Raises `QueueFull` when the pool's waiting room is full (nothing is stored).
        """
        propose = id if callable(id) else (lambda attempt: id if attempt == 0 else f"{id}-{attempt}")
        for attempt in range(_ID_ATTEMPTS):
            proposed = propose(attempt)
            task_id = await proposed if inspect.isawaitable(proposed) else proposed

            def build(admission: Admission, task_id: str = task_id) -> TaskRecord:
                steps = plan(admission) if callable(plan) else plan
                return TaskRecord(
                    id=task_id,
                    vendor=vendor,
                    kind=kind,
                    submitted_at=now,
                    steps=tuple(steps),
                    request=dict(request or {}),
                    scenario=scenario,
                    parent=parent,
                    owner=owner,
                    notify_hook=notify_hook,
                    queue=queue.key if queue else None,
                    data=dict(data or {}),
                    run_start_ms=admission.wait_ms if queue else None,
                )

            try:
                record, admission = await self.store.submit(build, queue, now)
            except DuplicateTaskId:
                continue
            if record.notify_hook:
                self.dispatcher.wake()
            submitted = self.state.ext.get("task_submitted")  # the gateway charges the call that submitted it
            if submitted is not None:
                charged = submitted(record)
                if inspect.isawaitable(charged):  # the gateway's hook is async when its key store is
                    await charged
            return record, admission
        raise RuntimeError(f"no free task id after {_ID_ATTEMPTS} attempts")

    async def extend(
        self,
        task_id: str,
        *,
        plan: ExtendPlan,
        now: float,
        queue: QueuePolicy | None = None,
        **changes: Any,
    ) -> tuple[TaskRecord, Admission]:
        """Give a task a new future (e.g. a paused task the client has just confirmed).

        The steps reached by `now` stay; the unreached rest of the plan is replaced by
        `plan(record, admission)`, whose offsets count from the *original* submission and must not
        be earlier than now (`elapsed_ms(record, now)`). `changes` replace record fields (e.g. `data`,
        `request`); with `queue` the task takes a worker of that pool (possibly after a wait). KeyError
        when the task is unknown.
        """

        def build(old: TaskRecord, admission: Admission) -> TaskRecord:
            start = task_model.elapsed_ms(old, now)
            new_steps = list(plan(old, admission))
            if new_steps and new_steps[0].at_ms < start:
                raise ValueError(f"task {task_id}: new steps must not start in the past")
            fields = dict(changes)
            if queue is not None:
                fields.setdefault("queue", queue.key)
                fields.setdefault("run_start_ms", start + admission.wait_ms)
            return old.replanned(task_model.view(old, now).index + 1, new_steps, **fields)

        record, admission = await self.store.extend(task_id, build, queue, now)
        if record.notify_hook:
            self.dispatcher.wake()
        return record, admission

    async def get(self, task_id: str) -> TaskRecord | None:
        return await self.store.get(task_id)

    async def get_many(self, ids: Iterable[str]) -> list[TaskRecord]:
        return await self.store.get_many(ids)

    async def records(
        self, *, vendor: str | None = None, owner: str | None = None, limit: int | None = None
    ) -> list[TaskRecord]:
        return await self.store.records(vendor=vendor, owner=owner, limit=limit)

    # -- views -------------------------------------------------------------------------------------
    def view(self, record: TaskRecord, now: float | None = None) -> TaskView:
        return task_model.view(record, self.now() if now is None else now)

    def context(self) -> RenderContext:
        return RenderContext(self.settings.base_url, self.settings)

    def render(self, record: TaskRecord, now: float | None = None) -> Any:
        """The task as its vendor's fetch endpoint shows it at `now` (default: the clock's now)."""
        return self.vendors[record.vendor].render(self.view(record, now), self.context())

    def callback_payload(self, record: TaskRecord, index: int) -> Any:
        """The body of the callback for step `index` (the task as it was when it reached that step)."""
        vendor = self.vendors[record.vendor]
        return (vendor.callback or vendor.render)(task_model.view_at(record, index), self.context())

    # -- the control API (/__mock/tasks, /__mock/callbacks) ----------------------------------------
    def describe(self, record: TaskRecord, now: float, *, plan: bool = False) -> dict[str, Any]:
        """One task for the control API: engine-level facts, the vendor's own view, and the plan."""
        current = task_model.view(record, now)
        out: dict[str, Any] = {
            "id": record.id,
            "vendor": record.vendor,
            "kind": record.kind,
            "status": current.status,
            "phase": current.phase.value,
            "progress": current.progress,
            "submitted_at": record.submitted_at,
            "started_at": current.started_at,
            "finished_at": current.finished_at,
            "scenario": record.scenario,
            "parent": record.parent,
            "notify_hook": record.notify_hook,
            "steps": len(record.steps),
            "view": self.vendors[record.vendor].render(current, self.context())
            if record.vendor in self.vendors
            else None,
        }
        if plan:
            out["plan"] = [
                {
                    "at": record.step_time(i),
                    "after_seconds": step.at_ms / 1000.0,
                    "status": step.status,
                    "phase": step.phase.value,
                    "progress": step.progress,
                    "detail": step.detail,
                    "reached": i <= current.index,
                }
                for i, step in enumerate(record.steps)
            ]
            out["request"] = dict(record.request)
            out["data"] = dict(record.data)
        return out

    async def control_tasks(
        self, *, vendor: str | None = None, status: str | None = None, limit: int | None = None
    ) -> Any:
        """`{"tasks": [...], "count", "total", "now"}`: `total` tasks match, the last `limit` are listed."""
        now = self.now()
        items = [self.describe(r, now) for r in await self.store.records(vendor=vendor)]
        if status:
            wanted = status.lower()
            items = [t for t in items if wanted in (str(t["status"]).lower(), str(t["phase"]))]
        shown = last(items, limit)
        return {"tasks": shown, "count": len(shown), "total": len(items), "now": round(now, 3)}

    async def control_task(self, task_id: str) -> Any:
        record = await self.store.get(task_id)
        return None if record is None else self.describe(record, self.now(), plan=True)

    async def control_callbacks(self, *, task: str | None = None, limit: int | None = None) -> Any:
        entries = await self.store.attempts(task=task, limit=limit)
        return {"callbacks": entries, "count": len(entries), **(await self.store.attempt_totals())}


def engine(state: MockState) -> TaskEngine:
    """The task engine of `state`, built on first use (call it from a family's `setup(state)`)."""
    existing = state.ext.get(EXT_KEY)
    if isinstance(existing, TaskEngine):
        return existing
    built = TaskEngine(state)
    state.ext[EXT_KEY] = built
    return built
