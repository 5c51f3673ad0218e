"""Kling on `/kling/v1/*`: text2video, image2video, image generation and Kolors virtual try-on.

YEScale passes Kling's own envelope through: `{"code": 0, "message": "SUCCEED", "request_id", "data":
{task_id, task_status, task_status_msg, task_result, created_at, updated_at}}` with statuses
`submitted → processing → succeed | failed` and no progress figure. Results sit under
`data.task_result.videos[]` (MP4) or `.images[]` (PNG). A `callback_url` receives the task data on
every status change; errors use Kling's `{code, message, request_id}` with its business codes.
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
    digits,
    ms,
    task_engine,
    token,
    uuid4,
    vendor_envelope,
)
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint
from mockserver.tasks.engine import RenderContext, Vendor
from mockserver.tasks.model import Phase, TaskView

VENDOR = "kling"

# Kling's own business codes (its error-code table).
CODE_BAD_REQUEST = 1200
CODE_INVALID_PARAM = 1201
CODE_NOT_FOUND = 1203
CODE_CONTENT_POLICY = 1301
CODE_SERVER_ERROR = 5000

MODERATION_REASON = "Failure to pass the risk control system"
FAILURE_REASON = "Internal error: the generation service failed, please retry"
CAMERA_TYPES = ("simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward")

VIDEO = Lifecycle(("submitted",), "processing", "succeed", "failed", waits=((5.0, 20.0),), run_seconds=(120.0, 240.0))
IMAGE = Lifecycle(("submitted",), "processing", "succeed", "failed", waits=((2.0, 6.0),), run_seconds=(15.0, 35.0))
TRYON = Lifecycle(("submitted",), "processing", "succeed", "failed", waits=((2.0, 6.0),), run_seconds=(20.0, 40.0))
IMAGE_LONG_SIDE = 1024
# Videos, images and try-ons each run on their own lifecycle (`submit(lifecycle=...)`).
KLING = TaskVendor(VENDOR, VIDEO, failure=FAILURE_REASON, moderation=MODERATION_REASON)

MODELS = [
    *(
        Model(name, "kling", ("openai-video",))
        for name in ("kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-master", "kling-v2-1", "kling-v2-1-master")
    ),
    Model("kolors-virtual-try-on-v1", "kling", ("image-generation",)),
    Model("kolors-virtual-try-on-v1-5", "kling", ("image-generation",)),
]


def kling_error(err: ApiError, request_id: str) -> tuple[int, Any]:
    """Kling's `{code, message, request_id}`; HTTP statuses map to its business codes."""
    if isinstance(err.code, int):
        code = err.code
    elif err.status == 404:
        code = CODE_NOT_FOUND
    elif err.status == 400:
        code = CODE_INVALID_PARAM
    elif err.status >= 500:
        code = CODE_SERVER_ERROR
    else:
        code = CODE_BAD_REQUEST
    return err.status, {"code": code, "message": err.message, "request_id": request_id}


ENVELOPES: dict[str, Envelope] = {VENDOR: vendor_envelope(kling_error)}


# ---------------------------------------------------------------------------------------------
# What a task looks like


def _result(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    record = view.record
    facts = record.data
    if record.kind in ("text2video", "image2video"):
        seconds = float(facts["duration"])
        url = video_url(ctx.base_url, aspect=facts["aspect_ratio"], seconds=seconds, seed=record.id)
        return {"videos": [{"id": facts["result_id"], "url": url, "duration": f"{seconds:.1f}"}]}
    width, height = facts["size"]
    return {
        "images": [
            {"index": i, "url": image_url(ctx.base_url, width, height, seed=f"{record.id}-{i}", fmt="png")}
            for i in range(int(facts["n"]))
        ]
    }


def render_task(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """The task data Kling answers under `data` (and POSTs to a `callback_url`)."""
    record = view.record
    data: dict[str, Any] = {
        "task_id": record.id,
        "task_status": view.status,
        "task_status_msg": view.detail or "",
        "task_info": {"external_task_id": record.request.get("external_task_id")},
        "created_at": ms(record.submitted_at),
        "updated_at": ms(view.at),
    }
    if view.phase is Phase.SUCCEEDED:
        data["task_result"] = _result(view, ctx)
    return data


TASK_VENDORS = [Vendor(VENDOR, render_task)]


def _envelope(call: Call, data: dict[str, Any]) -> Response:
    return call.json({"code": 0, "message": "SUCCEED", "request_id": uuid4(call.rng), "data": data})


# ---------------------------------------------------------------------------------------------
# Submissions


def _check_camera(body: dict[str, Any]) -> None:
    camera = body.get("camera_control")
    if isinstance(camera, dict) and "type" in camera and camera["type"] not in CAMERA_TYPES:
        raise ApiError(
            400,
            f"camera_control.type must be one of {', '.join(CAMERA_TYPES)} (got {camera['type']!r})",
            param="camera_control.type",
        )


async def _submit(
    call: Call, kind: str, facts: dict[str, Any], prompt: str, lifecycle: Lifecycle, scale: float
) -> Response:
    body: dict[str, Any] = call.body
    ensure_model(call, body.get("model_name"), field="model_name")
    scenario = KLING.scenario(call, prompt, field="prompt", refusal=MODERATION_REASON, code=CODE_CONTENT_POLICY)
    record = await KLING.submit(
        call,
        kind=kind,
        scenario=scenario,
        request=body,
        new_id=(lambda rng: digits(rng, 18)) if kind.endswith("video") else (lambda rng: "Cj" + token(rng, 20)),
        hook=callback_hook(call, body.get("callback_url")),
        data=facts,
        lifecycle=lifecycle,
        scale=scale,
    )
    return _envelope(call, task_engine(call).render(record, call.now))


def _video_scale(body: dict[str, Any]) -> tuple[float, float]:
    seconds = float(body.get("duration") or 5)
    scale = seconds / 5.0
    if body.get("mode") == "pro":
        scale *= 1.6
    return seconds, scale


async def text2video(call: Call) -> Response:
    body: dict[str, Any] = call.body
    _check_camera(body)
    seconds, scale = _video_scale(body)
    facts = {"duration": seconds, "aspect_ratio": body.get("aspect_ratio") or "16:9", "result_id": uuid4(call.rng)}
    return await _submit(call, "text2video", facts, body["prompt"], VIDEO, scale)


async def image2video(call: Call) -> Response:
    body: dict[str, Any] = call.body
    if not body.get("image") and not body.get("image_tail"):
        raise ApiError(400, "image or image_tail is required", param="image")
    _check_camera(body)
    seconds, scale = _video_scale(body)
    facts = {"duration": seconds, "aspect_ratio": body.get("aspect_ratio") or "16:9", "result_id": uuid4(call.rng)}
    return await _submit(call, "image2video", facts, body.get("prompt") or "", VIDEO, scale)


async def image_generations(call: Call) -> Response:
    body: dict[str, Any] = call.body
    n = int(body.get("n") or 1)
    size = video_size(body.get("aspect_ratio") or "16:9", long_side=IMAGE_LONG_SIDE)
    facts = {"n": n, "size": list(size)}
    return await _submit(call, "images", facts, body["prompt"], IMAGE, 1.0 + 0.15 * (n - 1))


async def virtual_try_on(call: Call) -> Response:
    facts = {"n": 1, "size": [768, 1024]}
    return await _submit(call, "tryon", facts, "", TRYON, 1.0)


# ---------------------------------------------------------------------------------------------
# Queries


def _query(kind: str) -> Any:
    async def handler(call: Call) -> Response:
        task_id = call.path_params["task_id"]
        record = await KLING.find(call, task_id, (kind,))
        if record is None:
            raise ApiError(404, f"task {task_id} does not exist", code=CODE_NOT_FOUND, param="task_id")
        return _envelope(call, task_engine(call).render(record, call.now))

    handler.__name__ = f"query_{kind}"
    return handler


ROUTES = [
    Endpoint("kling_text2video_submit", text2video),
    Endpoint("kling_text2video_get", _query("text2video")),
    Endpoint("kling_image2video_submit", image2video),
    Endpoint("kling_image2video_get", _query("image2video")),
    Endpoint("kling_image_submit", image_generations),
    Endpoint("kling_image_get", _query("images")),
    Endpoint("kolors_tryon_submit", virtual_try_on),
    Endpoint("kolors_tryon_get", _query("tryon")),
]
