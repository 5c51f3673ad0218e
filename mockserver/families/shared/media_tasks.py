"""What the video, music and asynchronous-image vendors share: scenarios, plans, lookups, envelopes.

Each vendor module (kling, runway, luma, pika, veo, minimax, seedance, suno, replicate) knows its own
wire format; this module holds the parts that are the same for all of them:

- `scenario_for`: which path a task takes — success, refused at submission (`rejected`), stopped by
  content moderation while generating (`moderated`), or a vendor failure part way (`failed`) —
  chosen by a prompt marker, a banned word or a fault rule, deterministically.
- `Lifecycle` + `build_plan`: a vendor's status words and timings turned into an engine plan.
- `submit_task` / `find_task`: the engine calls every vendor makes (tasks are scoped per API key, as
  the gateway scopes them per user).
- `vendor_envelope`: an error envelope that answers gateway-level refusals (401, 403, 429, 503, unknown
  routes) in new-api's OpenAI shape and everything else in the vendor's own.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import re
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.responses import Response

from mockserver.content.text import banned_word
from mockserver.errors import ApiError, Envelope, openai_envelope
from mockserver.pipeline import Call
from mockserver.tasks.engine import TaskEngine, engine, owner_of
from mockserver.tasks.model import Admission, Phase, Step, TaskRecord
from mockserver.tasks.plans import PlanBuilder

SUCCESS = "success"
REJECTED = "reject"
MODERATED = "moderation"
FAILED = "fail"
SCENARIOS = (SUCCESS, REJECTED, MODERATED, FAILED)

# `[mock:reject]`, `[mock:moderation]`, `[mock:fail]` (optionally `=reason`), as the Midjourney
# family spells its markers.
_MARKER = re.compile(r"\[mock:([a-z-]+)(?:=([^\]]*))?\]", re.IGNORECASE)

# Statuses the gateway's own middleware answers (OpenAI envelope) before any vendor relay runs.
GATEWAY_STATUSES = frozenset({401, 403, 429, 503})
GATEWAY_CODES = frozenset({"not_found", "method_not_allowed", "model_not_found"})


# ---------------------------------------------------------------------------------------------
# Scenarios


@dataclasses.dataclass(frozen=True)
class Scenario:
    """The path a task takes and, optionally, the reason it gives (a marker's `=reason` or the banned
    word that triggered a refusal)."""

    name: str = SUCCESS
    reason: str | None = None

    def refusal(self, message: str) -> str:
        """`message`, naming what was flagged when known."""
        return f"{message} (flagged: {self.reason!r})" if self.reason else message


def scenario_for(call: Call, *texts: Any) -> Scenario:
    """The path a new task takes: a fault rule's `scenario` wins, then a `[mock:...]` marker, then a
    banned word (`--banned-words`, refused at submission) in `texts`."""
    fault = call.fault
    if fault is not None and fault.scenario in SCENARIOS:
        custom = fault.message if fault.message != "fault injected by mockserver" else None
        return Scenario(fault.scenario, custom)
    text = " ".join(t for t in texts if isinstance(t, str))
    for match in _MARKER.finditer(text):
        name = match.group(1).lower()
        if name in SCENARIOS:
            return Scenario(name, (match.group(2) or "").strip() or None)
    word = banned_word(text, call.settings.banned_words)
    return Scenario(REJECTED, word) if word else Scenario()


# ---------------------------------------------------------------------------------------------
# Plans


@dataclasses.dataclass(frozen=True)
class Lifecycle:
    """A vendor's lifecycle: the words it uses and how long each part takes (virtual seconds).

    `waiting` are the statuses a task shows before generation starts, in order, each held for the
    matching `waits` range; `running` is shown while generating (`run_seconds`), with `updates`
    progress steps (None: one step, for vendors that report no progress).
    """

    waiting: tuple[str, ...]
    running: str
    succeeded: str
    failed: str
    waits: tuple[tuple[float, float], ...]
    run_seconds: tuple[float, float]
    updates: tuple[int, int] | None = None


def split(total_ms: int, parts: int, rng: random.Random) -> list[int]:
    """`total_ms` cut into `parts` irregular positive pieces (seeded)."""
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    scale = total_ms / sum(weights)
    pieces = [max(1, round(w * scale)) for w in weights]
    pieces[-1] = max(1, total_ms - sum(pieces[:-1]))
    return pieces


def build_plan(
    lifecycle: Lifecycle,
    rng: random.Random,
    *,
    instant: bool,
    scenario: Scenario,
    failure: str,
    moderation: str,
    scale: float = 1.0,
    start_ms: int = 0,
) -> tuple[Step, ...]:
    """The steps of one task: waiting statuses, generation (with progress), then success or failure.

    `moderation` tasks stop near the end of generation (the output check), `fail` ones about half way;
    the failed step's `detail` is the scenario's own reason, else `moderation` or `failure`.
    """
    builder = PlanBuilder(rng, instant=instant, start_ms=start_ms, scale=scale)
    after: tuple[float, float] = (0.0, 0.0)
    for status, hold in zip(lifecycle.waiting, lifecycle.waits, strict=True):
        builder.step(status, Phase.PENDING, after=after)
        after = hold
    builder.step(lifecycle.running, Phase.RUNNING, after=after, progress=1)
    run_ms = builder.delay_ms(lifecycle.run_seconds)
    stop_fraction = {MODERATED: rng.uniform(0.8, 0.95), FAILED: rng.uniform(0.4, 0.6)}.get(scenario.name, 1.0)
    end_ms = round(run_ms * stop_fraction)
    top = round(99 * stop_fraction)
    if lifecycle.updates is not None and end_ms > 0:
        count = min(rng.randint(*lifecycle.updates), max(0, top - 2))
        values = sorted(rng.sample(range(2, top), count)) if count else []
        pieces = split(end_ms, len(values) + 1, rng)
        for value, piece in zip(values, pieces, strict=False):
            builder.wait(piece).step(lifecycle.running, Phase.RUNNING, progress=value)
        builder.wait(pieces[-1])
    else:
        builder.wait(end_ms)
    if scenario.name in (SUCCESS, REJECTED):
        builder.step(lifecycle.succeeded, Phase.SUCCEEDED, progress=100)
    else:
        reason = scenario.reason or (moderation if scenario.name == MODERATED else failure)
        builder.step(lifecycle.failed, Phase.FAILED, progress=100, detail=reason)
    return builder.build()


# ---------------------------------------------------------------------------------------------
# Engine calls


def task_engine(call: Call) -> TaskEngine:
    return engine(call.state)


async def submit_task(
    call: Call,
    *,
    vendor: str,
    kind: str,
    new_id: Callable[[random.Random], str],
    plan: Sequence[Step] | Callable[[Admission], Sequence[Step]],
    request: Mapping[str, Any],
    scenario: Scenario,
    hook: str | None = None,
    data: Mapping[str, Any] | None = None,
    parent: str | None = None,
) -> TaskRecord:
    """Store a task for the caller (`hook`: the task's own callback URL; None for vendors without one)."""
    tasks = task_engine(call)
    rng = call.rng
    record, _ = await tasks.submit(
        vendor=vendor,
        kind=kind,
        id=lambda attempt: new_id(rng),
        plan=plan,
        now=call.now,
        request=request,
        owner=owner_of(call.api_key),
        notify_hook=hook,
        scenario=scenario.name,
        parent=parent,
        data=data,
    )
    return record


async def find_task(call: Call, task_id: str, vendor: str, kinds: Sequence[str] | None = None) -> TaskRecord | None:
    """The caller's task `task_id` of `vendor` (and one of `kinds`), or None — another key's task is
    as unknown as a missing one."""
    record = await task_engine(call).get(task_id)
    if record is None or record.vendor != vendor or (kinds is not None and record.kind not in kinds):
        return None
    if record.owner and record.owner != owner_of(call.api_key):
        return None
    return record


@dataclasses.dataclass(frozen=True)
class TaskVendor:
    """One task vendor's words and timings, and the steps every one of its handlers takes: refuse a
    banned prompt, plan and store a task, find one, answer with its current view."""

    name: str
    lifecycle: Lifecycle
    failure: str
    moderation: str

    def scenario(
        self, call: Call, *texts: Any, field: str, refusal: str, code: str | int | None = "sensitive_words_detected"
    ) -> Scenario:
        """The path the task will take; a `rejected` one is refused now, naming `field`."""
        scenario = scenario_for(call, *texts)
        if scenario.name == REJECTED:
            raise ApiError(400, scenario.refusal(refusal), param=field, code=code)
        return scenario

    async def submit(
        self,
        call: Call,
        *,
        kind: str,
        scenario: Scenario,
        request: Mapping[str, Any],
        new_id: Callable[[random.Random], str] = lambda rng: uuid4(rng),
        hook: str | None = None,
        data: Mapping[str, Any] | None = None,
        parent: str | None = None,
        lifecycle: Lifecycle | None = None,
        rng: random.Random | None = None,
        scale: float = 1.0,
    ) -> TaskRecord:
        """Plan the task on this vendor's lifecycle (or `lifecycle`, stretched by `scale`) and store it."""
        plan = build_plan(
            lifecycle or self.lifecycle,
            rng or call.rng,
            instant=task_engine(call).instant,
            scenario=scenario,
            failure=self.failure,
            moderation=self.moderation,
            scale=scale,
        )
        return await submit_task(
            call,
            vendor=self.name,
            kind=kind,
            new_id=new_id,
            plan=plan,
            request=request,
            scenario=scenario,
            hook=hook,
            data=data,
            parent=parent,
        )

    async def find(self, call: Call, task_id: str, kinds: Sequence[str] | None = None) -> TaskRecord | None:
        return await find_task(call, task_id, self.name, kinds)

    def answer(self, call: Call, record: TaskRecord) -> Response:
        """The task's current view in the vendor's wire format."""
        return call.json(task_engine(call).render(record, call.now))


def callback_hook(call: Call, own: Any) -> str | None:
    """A task's callback URL: its own (when a non-empty string), else the global `--notify-hook`."""
    return task_engine(call).hook(own if isinstance(own, str) else None)


# ---------------------------------------------------------------------------------------------
# Ids, times


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def token(rng: random.Random, count: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choices(alphabet, k=count))


def digits(rng: random.Random, count: int) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choices(string.digits, k=count - 1))


def iso(ts: float, *, micros: bool = True) -> str:
    """`2024-07-01T07:35:13.498660Z` (or with milliseconds only)."""
    moment = datetime.datetime.fromtimestamp(ts, tz=datetime.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return (text if micros else text[:-3]) + "Z"


def ms(ts: float) -> int:
    return round(ts * 1000)


# ---------------------------------------------------------------------------------------------
# Envelopes


def bare_message(err: ApiError) -> str:
    """An error's message without the pipeline's `invalid request: <field>: ` prefix (for envelopes that
    name the field separately)."""
    prefix = f"invalid request: {err.param}: " if err.param else "invalid request: "
    return err.message[len(prefix) :] if err.message.startswith(prefix) else err.message


def vendor_envelope(own: Callable[[ApiError, str], tuple[int, Any]]) -> Envelope:
    """An envelope answering gateway-level refusals like new-api's middleware and the rest like `own`."""

    def envelope(err: ApiError, request_id: str) -> tuple[int, Any]:
        if err.status in GATEWAY_STATUSES or err.code in GATEWAY_CODES:
            return openai_envelope(err, request_id)
        return own(err, request_id)

    return envelope


_TASK_ERROR_CODES = {400: "invalid_request", 404: "task_not_exist", 413: "invalid_request", 415: "invalid_request"}


def task_error(err: ApiError, request_id: str) -> tuple[int, Any]:
    """new-api's task error `{"code", "message", "data": null}` (Suno, Luma, Pika relays)."""
    code = err.code if isinstance(err.code, str) and err.code and err.code != "invalid_json" else None
    if code is None:
        code = _TASK_ERROR_CODES.get(err.status, "internal_error" if err.status >= 500 else "invalid_request")
    return err.status, {"code": code, "message": err.message, "data": None}
