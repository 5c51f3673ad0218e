"""Luma Dream Machine on `/luma/generations`: submit and fetch the raw Luma generation object.

A generation goes `pending → processing → completed | failed`; a completed one carries `video`
({url, width, height, download_url}), `video_raw`, `thumbnail` and `last_frame`. A `notify_hook`
receives the generation on every state change. Errors use new-api's task error
`{"code", "message", "data": null}`.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mockserver.content.images import image_url
from mockserver.content.video import video_size, video_url
from mockserver.errors import ApiError, Envelope
from mockserver.families.shared.media_tasks import (
    Lifecycle,
    TaskVendor,
    callback_hook,
    iso,
    task_error,
    uuid4,
    vendor_envelope,
)
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint
from mockserver.tasks.engine import RenderContext, Vendor
from mockserver.tasks.model import Phase, TaskView

VENDOR = "luma"

MODERATION_REASON = "The generation was blocked by Luma's content moderation."
FAILURE_REASON = "Generation failed: internal error, please try again."
SECONDS = 5.0

LUMA = TaskVendor(
    VENDOR,
    Lifecycle(("pending",), "processing", "completed", "failed", waits=((10.0, 30.0),), run_seconds=(60.0, 120.0)),
    failure=FAILURE_REASON,
    moderation=MODERATION_REASON,
)

MODELS = [Model(name, "luma", ("openai-video",)) for name in ("ray-v1", "ray-v2", "ray-v3")]

ENVELOPES: dict[str, Envelope] = {VENDOR: vendor_envelope(task_error)}


def _frame(url: str, size: tuple[int, int]) -> dict[str, Any]:
    return {"url": url, "width": size[0], "height": size[1]}


def render_generation(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """The Luma generation object (fetch answer and `notify_hook` body)."""
    record = view.record
    request = record.request
    aspect = request.get("aspect_ratio") or "16:9"
    out: dict[str, Any] = {
        "id": record.id,
        "prompt": request.get("user_prompt", ""),
        "state": view.status,
        "created_at": iso(record.submitted_at),
        "batch_id": record.data.get("batch_id"),
        "liked": None,
        "estimate_wait_seconds": None,
        "queue_state": None,
        "failure_reason": None,
        "video": None,
        "video_raw": None,
        "thumbnail": None,
        "last_frame": None,
        "request": {
            "prompt": request.get("user_prompt", ""),
            "aspect_ratio": aspect,
            "loop": bool(request.get("loop")),
        },
    }
    if view.phase is Phase.SUCCEEDED:
        size = video_size(aspect)
        url = video_url(ctx.base_url, aspect=aspect, seconds=SECONDS, seed=record.id)
        raw = video_url(ctx.base_url, aspect=aspect, seconds=SECONDS, seed=f"{record.id}-raw")
        thumb = image_url(ctx.base_url, size[0], size[1], seed=f"{record.id}-thumb", fmt="jpeg")
        last = image_url(ctx.base_url, size[0], size[1], seed=f"{record.id}-last", fmt="jpeg")
        out.update(
            video={"url": url, "width": size[0], "height": size[1], "download_url": url},
            video_raw=_frame(raw, size),
            thumbnail=_frame(thumb, size),
            last_frame=_frame(last, size),
            artifact={
                "created_at": iso(view.at),
                "video": {"url": url, "width": size[0], "height": size[1]},
                "video_raw": _frame(raw, size),
                "thumbnail": _frame(thumb, size),
                "last_frame": _frame(last, size),
            },
        )
    elif view.phase is Phase.FAILED:
        out["failure_reason"] = view.detail
    return out


TASK_VENDORS = [Vendor(VENDOR, render_generation)]


async def submit(call: Call) -> Response:
    body: dict[str, Any] = call.body
    ensure_model(call, body.get("model_name"), field="model_name")
    scenario = LUMA.scenario(
        call, body["user_prompt"], field="user_prompt", refusal="prompt rejected by content moderation"
    )
    record = await LUMA.submit(
        call,
        kind="generation",
        scenario=scenario,
        request=body,
        hook=callback_hook(call, body.get("notify_hook")),
        data={"batch_id": uuid4(call.rng)},
    )
    return LUMA.answer(call, record)


async def get_generation(call: Call) -> Response:
    record = await LUMA.find(call, call.path_params["task_id"])
    if record is None:
        raise ApiError(400, "task_not_exist", code="task_not_exist", param="task_id")
    return LUMA.answer(call, record)


ROUTES = [Endpoint("luma_generations_submit", submit), Endpoint("luma_generations_get", get_generation)]
