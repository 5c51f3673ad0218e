"""What every Midjourney submission shares: task ids, the account's worker pool, parent look-ups and
`submit_job`, which admits a job to the pool and answers with the submit envelope."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from mockserver import tasks
from mockserver.content.text import banned_word
from mockserver.families.midjourney.plans import job_plan, modal_plan
from mockserver.families.midjourney.text import Scenario
from mockserver.families.midjourney.wire import (
    BANNED,
    BANNED_PROMPT,
    EXISTED,
    FAILURE,
    MODAL_WAITING,
    NO_ACCOUNT,
    NOT_FOUND,
    QUEUE_FULL,
    QUEUE_REJECTED,
    QUEUED,
    SUBMIT_SUCCESS,
    SUCCESS,
    SYSTEM_ERROR,
    VENDOR,
    account_ids,
    relay_error,
    submit_result,
)
from mockserver.pipeline import Call
from mockserver.tasks import Admission, QueuePolicy, TaskRecord, TaskView
from mockserver.tasks.engine import engine as task_engine
from mockserver.tasks.engine import owner_of

# The shared state's id sequence of Midjourney task ids.
EXT_KEY = "midjourney"
# Modal actions the gateway answers with code 21 (others are rewritten to 1, as new-api does).
MODAL_CODE_21 = frozenset({"CUSTOM_ZOOM", "INPAINT"})


async def new_task_id(call: Call) -> str:
    """midjourney-proxy's id: milliseconds since the epoch and three random digits (16 digits), bumped
    past the last id handed out when the virtual clock has not moved — by the shared state, so workers
    and replicas on one store never hand out the same id."""
    candidate = int(call.now * 1000) * 1000 + call.rng.randint(0, 999)
    return str(await call.state.shared.next_id(EXT_KEY, candidate))


def job_hash(call: Call) -> str:
    """The Discord job UUID (`messageHash`) buttons and image names are built from."""
    return str(uuid.UUID(int=call.rng.getrandbits(128), version=4))


def pool(call: Call) -> QueuePolicy:
    """The emulated account's workers: `--mj-concurrency` jobs at once, `--mj-queue-size` waiting."""
    settings = call.settings
    return QueuePolicy(VENDOR, max(1, int(settings.mj_concurrency)), max(0, int(settings.mj_queue_size)))


def owner(call: Call) -> str:
    return owner_of(call.api_key)


def properties(call: Call, **extra: Any) -> dict[str, Any]:
    return {**account_ids(call.settings.seed), **extra}


def refuse(call: Call, code: int, description: str, **extra: Any) -> Response:
    """A refusal in the submit envelope (HTTP 200, as midjourney-proxy answers and new-api passes on)."""
    return call.json(submit_result(code, description, properties=extra or None))


def banned(call: Call, prompt: str) -> Response | None:
    """Code 24 when the prompt holds a word of `--banned-word`."""
    word = banned_word(prompt, call.settings.banned_words)
    if word is None:
        return None
    return refuse(call, BANNED_PROMPT, BANNED, promptEn=prompt, bannedWord=word)


async def find_task(call: Call, task_id: Any, *, missing: str = "task_not_found") -> TaskRecord:
    """The caller's task (the gateway looks tasks up per user); a 400 relay error otherwise."""
    record = await task_engine(call.state).get(str(task_id)) if task_id else None
    if record is None or record.vendor != VENDOR or record.owner != owner(call):
        raise relay_error(missing)
    return record


async def succeeded_parent(call: Call, task_id: Any) -> tuple[TaskRecord, TaskView]:
    """A follow-up's parent: the caller's, and finished successfully (new-api checks both)."""
    record = await find_task(call, task_id)
    current = task_engine(call.state).view(record, call.now)
    if current.status != "SUCCESS":
        raise relay_error("task_status_not_success")
    return record, current


def base_data(call: Call, *, prompt: str = "", bot_type: str = "", mode: str = "fast") -> dict[str, Any]:
    """Fields every task keeps: prompt, bot, caller's `state`, job hash and image seed."""
    body = call.body if isinstance(call.body, Mapping) else {}
    return {
        "prompt": prompt,
        "promptEn": prompt,
        "botType": bot_type,
        "state": str(body.get("state") or ""),
        "customId": "",
        "hash": job_hash(call),
        "seed": call.rng.randrange(2**32),
        "mode": mode,
        "finalPrompt": prompt,
    }


async def submit_job(
    call: Call,
    *,
    kind: str,
    timing: str,
    data: dict[str, Any],
    scenario: Scenario,
    request: Mapping[str, Any] | None = None,
    parent: str | None = None,
    modal: bool = False,
) -> Response:
    """Store a job and answer `{code, description, result, properties}`: 1 submitted (also when queued
    behind n jobs, as the gateway rewrites 22), 21 waiting for a modal, 23 queue full; 3 and 9 for the
    `no-account` and `error` markers."""
    if scenario.name == "no-account":
        return refuse(call, NOT_FOUND, NO_ACCOUNT)
    if scenario.name == "error":
        return refuse(call, FAILURE, SYSTEM_ERROR)
    engine = task_engine(call.state)
    body = call.body if isinstance(call.body, Mapping) else {}
    first_id = await new_task_id(call)
    instant = engine.instant
    mode = str(data.get("mode", "fast"))

    def plan(admission: Admission) -> tuple[tasks.Step, ...]:
        if modal:
            return modal_plan(call.rng, instant=instant)
        if admission.ahead > 0:
            # the gateway stores the submit answer's description with the task: a queued job's fetch
            # keeps saying how many were ahead (the record is built from `data` after this runs)
            data["description"] = QUEUED.format(n=admission.ahead)
        return job_plan(timing, scenario, admission, call.rng, instant=instant, mode=mode)

    try:
        record, admission = await engine.submit(
            vendor=VENDOR,
            kind=kind,
            id=lambda attempt: first_id if attempt == 0 else new_task_id(call),  # a taken id: ask again
            plan=plan,
            now=call.now,
            request=dict(request if request is not None else body),
            owner=owner(call),
            notify_hook=engine.hook(body.get("notifyHook"), "notifyHook"),
            scenario=scenario.name,
            parent=parent,
            data=data,
            queue=None if modal else pool(call),
        )
    except tasks.QueueFull:
        return queue_full(call)
    if modal:
        code, description = (EXISTED, MODAL_WAITING) if kind in MODAL_CODE_21 else (SUCCESS, SUBMIT_SUCCESS)
        return call.json(submit_result(code, description, record.id, properties(call)))
    return admitted(call, record.id, admission.ahead)


def admitted(call: Call, task_id: str, ahead: int) -> Response:
    """A job the pool took: midjourney-proxy's 1, or 22 when `ahead` jobs wait before it. The gateway
    rewrites `"code":22` to `"code":1` in the body it passes on and leaves the rest as it was (the
    queue description, `numberOfQueues`) — new-api relay/mjproxy_handler.go."""
    if ahead > 0:
        return call.json(
            submit_result(SUCCESS, QUEUED.format(n=ahead), task_id, properties(call, numberOfQueues=ahead))
        )
    return call.json(submit_result(SUCCESS, SUBMIT_SUCCESS, task_id, properties(call)))


def queue_full(call: Call) -> Response:
    """Code 23 as midjourney-proxy answers it (`SubmitResultVO.fail`: no result, only the instance id)."""
    instance = account_ids(call.settings.seed)["discordInstanceId"]
    return call.json(submit_result(QUEUE_REJECTED, QUEUE_FULL, None, {"discordInstanceId": instance}))
