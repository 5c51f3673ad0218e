"""Follow-ups on a finished job: /submit/change, /submit/simple-change, /submit/action (a button's
customId) and /submit/modal (confirming Custom Zoom, Vary (Region), or a picked describe/shorten
suggestion)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from mockserver import tasks
from mockserver.families.midjourney import text
from mockserver.families.midjourney.images import grid_spec, is_base64, single_spec, tile_seed, upload_spec
from mockserver.families.midjourney.jobs import (
    admitted,
    banned,
    base_data,
    find_task,
    pool,
    queue_full,
    refuse,
    submit_job,
    succeeded_parent,
)
from mockserver.families.midjourney.plans import resume_plan
from mockserver.families.midjourney.wire import (
    CHANGEABLE,
    MODAL,
    PARENT_NOT_CHANGEABLE,
    PARENT_STATE,
    VALIDATION_ERROR,
    button_ids,
    relay_error,
)
from mockserver.pipeline import Call
from mockserver.tasks import Admission, TaskRecord
from mockserver.tasks.engine import engine as task_engine


class _NotWaiting(Exception):
    """The task left MODAL between the check and the confirmation."""


_SIMPLE = re.compile(r"^\s*(\S+)\s+(?:([UV])([1-4])|(R))\s*$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Child:
    """What a customId asks of its parent: the child's action, its timing, where its picture comes from
    (`tile` N of the grid, the `same` picture larger, a new `grid`, the parent's `upload`, or none), its
    buttons, and the modal it needs first (if any)."""

    kind: str
    timing: str
    picture: str
    buttons: str
    index: int = 0
    modal: str | None = None


def child_for(parent: TaskRecord, custom_id: str) -> Child | None:
    """The action behind one of `parent`'s buttons; None when the customId is not one of them."""
    if custom_id not in button_ids(parent.data):
        return None
    parts = custom_id.split("::")
    verb = parts[2] if len(parts) > 2 and parts[1] in ("JOB", "Job") else parts[1]
    number = next((int(p) for p in parts[3:4] if p.isdigit()), 0)
    if verb == "upsample":
        return Child("UPSCALE", "upscale", "tile", "upscale", index=number)
    if verb.startswith("upsample_"):
        return Child("UPSCALE", "upscale2x", "same", "upscale2x")
    if verb in ("variation", "reroll", "low_variation", "high_variation"):
        kind = {"variation": "VARIATION", "reroll": "REROLL"}.get(verb, verb.upper())
        return Child(kind, "grid", "grid", "grid", index=number)
    if verb.startswith("pan_"):
        return Child("PAN", "grid", "grid", "grid")
    if verb == "Outpaint":
        return Child("ZOOM", "grid", "grid", "grid")
    if verb == "CustomZoom":
        return Child("CUSTOM_ZOOM", "grid", "grid", "grid", modal="CUSTOM_ZOOM")
    if verb == "Inpaint":
        return Child("INPAINT", "grid", "grid", "grid", modal="INPAINT")
    if verb == "PicReader":
        return Child("IMAGINE", "grid", "grid", "grid", index=number, modal="PIC_READER")
    if verb == "Picread":
        return Child("DESCRIBE", "text", "upload", "describe")
    if verb == "PromptAnalyzer":
        return Child(
            "IMAGINE", "grid", "grid", "grid", index=int(parts[2]) if parts[2:3] else 1, modal="PROMPT_ANALYZER"
        )
    return None


def _body(call: Call) -> Mapping[str, Any]:
    return call.body if isinstance(call.body, Mapping) else {}


def _picture(parent: TaskRecord, child: Child, seed: str) -> dict[str, Any] | None:
    spec = parent.data.get("image") or {}
    ratio = float(spec.get("ratio", 1.0))
    if child.picture == "tile":
        return single_spec(tile_seed(str(spec.get("seed")), child.index), ratio, scale=2)
    if child.picture == "same":
        return single_spec(str(spec.get("seed")), ratio, scale=int(spec.get("scale", 2)) * 2)
    if child.picture == "upload":
        return upload_spec("base64")
    return grid_spec(seed, ratio)


def _child_mode(call: Call, parent: TaskRecord) -> str:
    """A `/mj-relax` (etc.) path decides; otherwise the child runs in its parent's mode."""
    path = call.path
    return text.mode("", path) if path.startswith("/mj-") else str(parent.data.get("mode", "fast"))


async def _spawn(call: Call, parent: TaskRecord, child: Child, custom_id: str) -> Response:
    """Submit the child job of `parent` that `child` describes."""
    body = _body(call)
    prompt = str(parent.data.get("prompt", ""))
    if child.modal in ("PIC_READER", "PROMPT_ANALYZER"):
        picks = list(parent.data.get("suggestions") or [])
        prompt = picks[child.index - 1] if 0 < child.index <= len(picks) else prompt
    data = base_data(call, prompt=prompt, bot_type=str(parent.data.get("botType", "")))
    data |= {
        "promptEn": prompt if child.modal else str(parent.data.get("promptEn", prompt)),
        "customId": custom_id,
        "version": str(parent.data.get("version", "6")),
        "mode": _child_mode(call, parent),
        "image": _picture(parent, child, str(data["seed"])),
        "buttons": child.buttons,
        "modal": child.modal,
        "timing": child.timing,
        "index": child.index,
    }
    request: dict[str, Any] = dict(body)
    if child.kind == "DESCRIBE":
        data |= text.describe_fields(text.describe_suggestions(call.rng))
        request["base64"] = parent.request.get("base64", "")
    scenario = text.scenario_for(call, body.get("state"))
    return await submit_job(
        call,
        kind=child.kind,
        timing=child.timing,
        data=data,
        scenario=scenario,
        request=request,
        parent=parent.id,
        modal=child.modal is not None,
    )


async def action(call: Call) -> Response:
    """Press a button: `customId` must be one of the task's buttons (new-api: `unknown_action:<id>`)."""
    body = _body(call)
    custom_id = str(body.get("customId") or "").strip()
    if not custom_id:
        raise relay_error("custom_id_is_required")
    parent, _ = await succeeded_parent(call, body.get("taskId"))
    child = child_for(parent, custom_id)
    if child is None:
        raise relay_error(f"unknown_action:{custom_id}")
    return await _spawn(call, parent, child, custom_id)


async def _change(call: Call, task_id: str, verb: str, index: int | None) -> Response:
    parent, _ = await succeeded_parent(call, task_id)
    if parent.kind not in CHANGEABLE:
        return refuse(call, VALIDATION_ERROR, PARENT_NOT_CHANGEABLE)
    job = str(parent.data.get("hash", ""))
    if verb == "REROLL":
        custom_id = f"MJ::JOB::reroll::0::{job}::SOLO"
    else:
        custom_id = f"MJ::JOB::{'upsample' if verb == 'UPSCALE' else 'variation'}::{index or 1}::{job}"
    child = child_for(parent, custom_id)
    if child is None:  # a grid always carries these buttons; be explicit rather than crash
        return refuse(call, VALIDATION_ERROR, PARENT_NOT_CHANGEABLE)
    return await _spawn(call, parent, child, "")


async def change(call: Call) -> Response:
    """UPSCALE / VARIATION (with `index` 1..4) or REROLL of a finished grid."""
    body = _body(call)
    index = body.get("index")
    return await _change(call, str(body.get("taskId") or ""), str(body.get("action")), int(index) if index else None)


async def simple_change(call: Call) -> Response:
    """`content` = "<taskId> U1..U4 | V1..V4 | R"."""
    match = _SIMPLE.match(str(_body(call).get("content") or ""))
    if not match:
        return refuse(call, VALIDATION_ERROR, "content参数错误")
    task_id, letter, number, reroll = match.groups()
    if reroll:
        return await _change(call, task_id, "REROLL", None)
    return await _change(call, task_id, "UPSCALE" if letter.upper() == "U" else "VARIATION", int(number))


async def modal(call: Call) -> Response:
    """Confirm a task waiting in MODAL: Custom Zoom needs `--zoom` between 1 and 2 in `prompt`, Vary
    (Region) a `maskBase64`; a picked suggestion may be edited (empty `prompt` keeps it)."""
    body = _body(call)
    record = await find_task(call, body.get("taskId"))
    engine = task_engine(call.state)
    if engine.view(record, call.now).status != MODAL:
        return refuse(call, VALIDATION_ERROR, PARENT_STATE)
    data = dict(record.data)
    kind = data.get("modal")
    prompt = str(body.get("prompt") or "").strip() or str(data.get("prompt", ""))
    if kind == "CUSTOM_ZOOM":
        zoom = text.zoom_factor(prompt)
        if zoom is None or not 1.0 <= zoom <= 2.0:
            return refuse(call, VALIDATION_ERROR, "prompt must carry --zoom between 1 and 2, e.g. 'cat --zoom 1.5'")
    if kind == "INPAINT" and not is_base64(body.get("maskBase64")):
        return refuse(call, VALIDATION_ERROR, "maskBase64 is required for Vary (Region): a base64 mask image")
    refused = banned(call, prompt)
    if refused is not None:
        return refused
    data |= {"prompt": prompt, "promptEn": prompt, "finalPrompt": prompt}
    scenario = text.scenario_for(call, prompt, str(data.get("state", "")), body.get("state"))
    timing, mode = str(data.get("timing", "grid")), str(data.get("mode", "fast"))

    def plan(old: TaskRecord, admission: Admission) -> tuple[tasks.Step, ...]:
        if tasks.view(old, call.now).status != MODAL:  # checked again inside the store's transaction
            raise _NotWaiting
        start = tasks.elapsed_ms(old, call.now)
        return resume_plan(timing, scenario, admission, call.rng, start_ms=start, instant=engine.instant, mode=mode)

    try:
        updated, admission = await engine.extend(
            record.id, plan=plan, now=call.now, queue=pool(call), data=data, scenario=scenario.name
        )
    except tasks.QueueFull:
        return queue_full(call)
    except _NotWaiting:  # confirmed twice at once: the other confirmation won
        return refuse(call, VALIDATION_ERROR, PARENT_STATE)
    return admitted(call, updated.id, admission.ahead)
