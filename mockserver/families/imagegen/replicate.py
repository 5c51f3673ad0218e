"""FLUX on Replicate (`/replicate/v1/*`): kontext-pro, kontext-max and pro predictions, get and cancel.

Replicate's own prediction object passes through: `status` `starting → processing → succeeded |
failed | canceled`, growing `logs`, `output` (one image URL in the requested format) and `metrics`
when done, `error` when failed. A create answers 201; with `Prefer: wait` (or `wait=N`, 1..60 s,
default 60) it answers once the prediction is done or the wait is over, as Replicate's sync mode
does (with a stopped clock, `--speed 0`, it answers at once). `webhook` receives the prediction on
every change (`webhook_events_filter` limits which). Errors are RFC 7807 problem details
(`{detail, status, title}`; 422 with `invalid_fields` for bad input).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
import time
from typing import Any

from starlette.responses import Response

from mockserver.content.images import image_url
from mockserver.errors import ApiError, Envelope
from mockserver.families.shared.media_tasks import (
    Lifecycle,
    TaskVendor,
    bare_message,
    callback_hook,
    iso,
    task_engine,
    token,
    vendor_envelope,
)
from mockserver.models import Model
from mockserver.pipeline import Call, Endpoint
from mockserver.tasks.engine import RenderContext, Vendor
from mockserver.tasks.model import Phase, Step, TaskRecord, TaskView, elapsed_ms, view, view_at

VENDOR = "replicate"
OWNER = "black-forest-labs"

MODERATION_REASON = "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
FAILURE_REASON = "Prediction interrupted; please retry (code: PA)"
MAX_WAIT = 60
_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait(?:\s*=\s*(-?\d+))?(?:$|[,;\s])", re.IGNORECASE)
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
MEGAPIXEL = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class FluxModel:
    """One of the FLUX models YEScale relays: its run time and output defaults."""

    name: str
    run_seconds: tuple[float, float]
    default_format: str
    default_ratio: str


FLUX = {
    "replicate_flux_kontext_pro": FluxModel("flux-kontext-pro", (3.0, 8.0), "png", "match_input_image"),
    "replicate_flux_kontext_max": FluxModel("flux-kontext-max", (5.0, 12.0), "png", "match_input_image"),
    "replicate_flux_pro": FluxModel("flux-pro", (3.0, 8.0), "webp", "1:1"),
}
MODELS = [Model(f"{OWNER}/{m.name}", OWNER, ("image-generation",)) for m in FLUX.values()]


def replicate_error(err: ApiError, request_id: str) -> tuple[int, Any]:
    """Replicate's problem details; an input error becomes its 422 with `invalid_fields`."""
    if err.status == 400:
        field = err.param or "body"
        reason = bare_message(err)
        kind = "required" if "required" in reason else "invalid"
        return 422, {
            "detail": f"- {field}: {reason}\n",
            "status": 422,
            "title": "Input validation failed",
            "invalid_fields": [{"type": kind, "field": field, "description": reason}],
        }
    title = {404: "Not found", 413: "Request too large", 415: "Unsupported media type"}.get(err.status, "Error")
    return err.status, {"title": title, "detail": err.message, "status": err.status}


ENVELOPES: dict[str, Envelope] = {VENDOR: vendor_envelope(replicate_error)}


# ---------------------------------------------------------------------------------------------
# The prediction


def output_size(inputs: dict[str, Any], model: FluxModel) -> tuple[int, int]:
    """About one megapixel in the requested aspect ratio, sides multiples of 32 (custom: as asked)."""
    ratio_text = str(inputs.get("aspect_ratio") or model.default_ratio)
    if ratio_text == "custom":
        return _multiple(inputs.get("width") or 1024), _multiple(inputs.get("height") or 1024)
    if ":" not in ratio_text:  # match_input_image: the emulator does not fetch the input
        return 1024, 1024
    a, b = (float(x) for x in ratio_text.split(":"))
    width = math.sqrt(MEGAPIXEL * a / b)
    return _multiple(width), _multiple(width * b / a)


def _multiple(value: float, step: int = 32) -> int:
    return max(step, round(float(value) / step) * step)


def _logs(record: TaskRecord, view_: TaskView) -> str:
    seed = record.data["seed"]
    lines = ["Running prediction... ", f"Using seed: {seed}", "Generating image..."]
    if view_.phase is Phase.PENDING:
        return ""
    if view_.terminal and view_.status == "succeeded":
        took = (view_.at - (view_.started_at or view_.at)) * 0.8
        lines += [f"Generated image in {took:.1f}sec", "Downloaded image in 0.14sec"]
        return "\n".join(lines)
    if view_.status == "canceled":
        return _logs(record, view_at(record, view_.index - 1)) if view_.index else ""
    if view_.terminal:
        return "\n".join(lines)
    shown = 1 + min(2, view_.index - 1)
    return "\n".join(lines[:shown])


def render_prediction(view_: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """The prediction as Replicate answers it (and POSTs to a webhook)."""
    record = view_.record
    base = f"{ctx.base_url}/replicate/v1/predictions/{record.id}"
    out: dict[str, Any] = {
        "id": record.id,
        "model": f"{OWNER}/{record.data['model']}",
        "version": "hidden",
        "input": dict(record.request.get("input") or {}),
        "logs": _logs(record, view_),
        "output": None,
        "data_removed": False,
        "error": None,
        "status": view_.status,
        "created_at": iso(record.submitted_at, micros=False),
        "urls": {"cancel": f"{base}/cancel", "get": base, "web": f"https://replicate.com/p/{record.id}"},
    }
    if record.request.get("webhook"):
        out["webhook"] = record.request["webhook"]
    started = view_.started_at
    if started is not None:
        out["started_at"] = iso(started)
    if view_.terminal:
        out["completed_at"] = iso(view_.at)
    if view_.status == "succeeded":
        width, height = record.data["size"]
        fmt = record.data["format"]
        out["output"] = image_url(ctx.base_url, width, height, seed=record.id, fmt="jpeg" if fmt == "jpg" else fmt)
        out["metrics"] = {"image_count": 1, "predict_time": round(view_.at - (started or view_.at), 3)}
    elif view_.status == "failed":
        out["error"] = view_.detail or FAILURE_REASON
    return out


def _webhook_payload(view_: TaskView, ctx: RenderContext) -> Any:
    """The webhook body, or None for a step the request's `webhook_events_filter` leaves out."""
    wanted = view_.record.request.get("webhook_events_filter")
    if wanted:
        event = "completed" if view_.terminal else "start" if view_.index == 1 else "logs"
        if event not in wanted and not (event == "logs" and "output" in wanted and view_.terminal):
            return None
    return render_prediction(view_, ctx)


TASK_VENDORS = [Vendor(VENDOR, render_prediction, _webhook_payload)]


# ---------------------------------------------------------------------------------------------
# Handlers


def prefer_wait(call: Call) -> int | None:
    """Seconds to hold the request (Prefer: wait[=N]); None without the preference."""
    header = call.request.headers.get("prefer", "")
    match = _PREFER_WAIT.search(f" {header} ")
    if not match:
        return None
    seconds = int(match.group(1)) if match.group(1) else MAX_WAIT
    if not 1 <= seconds <= MAX_WAIT:
        raise ApiError(400, f"Prefer: wait must be between 1 and {MAX_WAIT} seconds (got {seconds})", param="Prefer")
    return seconds


async def wait_for_end(call: Call, record: TaskRecord, seconds: int) -> TaskRecord:
    """Hold until the prediction ends or `seconds` of real time pass (sync mode); the latest record."""
    tasks = task_engine(call)
    speed = float(getattr(call.state.clock, "speed", 1.0))
    deadline = time.monotonic() + seconds
    while True:
        record = await tasks.get(record.id) or record
        now = tasks.now()
        left = deadline - time.monotonic()
        if view(record, now).terminal or speed <= 0 or left <= 0:
            return record
        end = record.run_end if record.run_end is not None else now + 1.0
        await asyncio.sleep(max(0.005, min(left, (end - now) / speed, 0.25)))


def _lifecycle(run_seconds: tuple[float, float]) -> Lifecycle:
    return Lifecycle(
        ("starting",), "processing", "succeeded", "failed", waits=((1.0, 3.0),), run_seconds=run_seconds, updates=(2, 2)
    )


# Each prediction runs on its model's timings (`submit(lifecycle=...)`).
REPLICATE = TaskVendor(VENDOR, _lifecycle((5.0, 10.0)), failure=FAILURE_REASON, moderation=MODERATION_REASON)


def _create(operation: str) -> Any:
    model = FLUX[operation]

    async def create(call: Call) -> Response:
        body: dict[str, Any] = call.body
        inputs: dict[str, Any] = body["input"]
        wait = prefer_wait(call)
        prompt = inputs.get("prompt", "")
        scenario = REPLICATE.scenario(call, prompt, field="input.prompt", refusal=MODERATION_REASON, code=None)
        rng = call.rng
        seed = inputs.get("seed")
        facts = {
            "model": model.name,
            "size": list(output_size(inputs, model)),
            "format": inputs.get("output_format") or model.default_format,
            "seed": seed if isinstance(seed, int) else rng.randint(0, 65535),
        }
        record = await REPLICATE.submit(
            call,
            kind=model.name,
            scenario=scenario,
            request=body,
            new_id=lambda r: token(r, 26, _ID_ALPHABET),
            hook=callback_hook(call, body.get("webhook")),
            data=facts,
            lifecycle=_lifecycle(model.run_seconds),
        )
        if wait is not None:
            record = await wait_for_end(call, record, wait)
        return call.json(task_engine(call).render(record), status=201)

    create.__name__ = f"create_{model.name.replace('-', '_')}"
    return create


async def _lookup(call: Call) -> TaskRecord:
    prediction_id = call.path_params["id"]
    record = await REPLICATE.find(call, prediction_id)
    if record is None:
        raise ApiError(404, "Not found.", param="id")
    return record


async def get_prediction(call: Call) -> Response:
    return call.json(task_engine(call).render(await _lookup(call), call.now))


async def cancel_prediction(call: Call) -> Response:
    """Stop a running prediction where it is (status canceled); a finished one is answered unchanged."""
    record = await _lookup(call)
    tasks = task_engine(call)
    now = call.now
    if not view(record, now).terminal:

        def stop_here(old: TaskRecord, _admission: Any) -> list[Step]:
            reached = view(old, now)
            at = max(elapsed_ms(old, now), reached.step.at_ms)
            return [Step(at, "canceled", Phase.FAILED, reached.progress, "canceled")]

        record, _ = await tasks.extend(record.id, plan=stop_here, now=now)
    return call.json(tasks.render(record, now))


ROUTES = [
    *(Endpoint(operation, _create(operation)) for operation in FLUX),
    Endpoint("replicate_prediction_get", get_prediction),
    Endpoint("replicate_prediction_cancel", cancel_prediction),
]
