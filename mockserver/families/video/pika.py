"""Pika on `/pika/*`: `POST /pika/generate` answers `{"id"}`, `GET /pika/feed/{id}` the job.

The job holds one video whose `status` goes `queued → pending → finished | error` with an integer
`progress`; a finished video carries `resultUrl` (MP4), `sharingUrl`, `videoPoster` and `imageThumb`
(JPEG). Pika takes no callback URL. Errors use new-api's task error `{"code", "message", "data": null}`.
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
    task_error,
    vendor_envelope,
)
from mockserver.pipeline import Call, Endpoint
from mockserver.tasks.engine import RenderContext, Vendor
from mockserver.tasks.model import Phase, TaskView

VENDOR = "pika"

MODERATION_REASON = "Your prompt or image was flagged by our content filter."
FAILURE_REASON = "Generation failed, please try again."
SECONDS = 5

PIKA = TaskVendor(
    VENDOR,
    Lifecycle(
        ("queued",), "pending", "finished", "error", waits=((5.0, 15.0),), run_seconds=(40.0, 90.0), updates=(5, 9)
    ),
    failure=FAILURE_REASON,
    moderation=MODERATION_REASON,
)

ENVELOPES: dict[str, Envelope] = {VENDOR: vendor_envelope(task_error)}


def render_feed(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """The Pika job as `GET /pika/feed/{id}` answers it."""
    record = view.record
    aspect = record.data["aspect"]
    video: dict[str, Any] = {
        "id": record.id,
        "status": view.status,
        "progress": view.progress if view.phase is not Phase.PENDING else 0,
        "seed": record.data["seed"],
        "duration": SECONDS,
        "error": "",
    }
    if view.phase is Phase.SUCCEEDED:
        width, height = video_size(aspect)
        video.update(
            resultUrl=video_url(ctx.base_url, aspect=aspect, seconds=SECONDS, seed=record.id),
            sharingUrl=video_url(ctx.base_url, aspect=aspect, seconds=SECONDS, seed=f"{record.id}-share"),
            videoPoster=image_url(ctx.base_url, width, height, seed=f"{record.id}-poster", fmt="jpeg"),
            imageThumb=image_url(ctx.base_url, width // 2, height // 2, seed=f"{record.id}-thumb", fmt="jpeg"),
        )
    elif view.phase is Phase.FAILED:
        video["error"] = view.detail or FAILURE_REASON
    return {
        "id": record.id,
        "message": "",
        "promptText": record.request.get("promptText", ""),
        "videos": [video],
    }


TASK_VENDORS = [Vendor(VENDOR, render_feed)]


async def generate(call: Call) -> Response:
    body: dict[str, Any] = call.body
    scenario = PIKA.scenario(
        call, body["promptText"], field="promptText", refusal="prompt rejected by the content filter"
    )
    aspect = (body.get("options") or {}).get("aspectRatio") or 16 / 9
    record = await PIKA.submit(
        call,
        kind="generate",
        scenario=scenario,
        request=body,
        data={"aspect": float(aspect), "seed": call.rng.randint(0, 2**32 - 1)},
    )
    return call.json({"id": record.id})


async def feed(call: Call) -> Response:
    record = await PIKA.find(call, call.path_params["task_id"])
    if record is None:
        raise ApiError(400, "task_not_exist", code="task_not_exist", param="task_id")
    return PIKA.answer(call, record)


ROUTES = [Endpoint("pika_generate_submit", generate), Endpoint("pika_feed_get", feed)]
