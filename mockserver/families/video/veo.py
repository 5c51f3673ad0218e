"""Google Veo through the gateways' unified video format: `POST /v1/video/create`, `GET /v1/video/query`.

A job's id is `<model>:<unix seconds>-<10 characters>`; `status` goes `pending → processing →
completed | failed` and a completed job carries `video_url` (an 8-second MP4 in the requested
16:9 or 9:16). `*-frames` models animate 1 image (veo2-fast-frames: first and last, up to 2),
`*-components` models take 1 to 3 reference images. No callback URL. Errors use the gateway's
OpenAI envelope (these are `/v1/video/*` routes).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mockserver.content.video import video_url
from mockserver.errors import ApiError, Envelope, openai_envelope
from mockserver.families.shared.media_tasks import (
    Lifecycle,
    TaskVendor,
    ms,
    task_engine,
    token,
)
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint
from mockserver.tasks.engine import RenderContext, Vendor
from mockserver.tasks.model import Phase, TaskView

VENDOR = "veo"

MODERATION_REASON = "The video could not be generated: it violates Google's Responsible AI practices."
FAILURE_REASON = "Video generation failed: upstream error, please retry."
SECONDS = 8.0

TEXT_MODELS = ("veo2", "veo2-fast", "veo2-pro", "veo3", "veo3-fast", "veo3-pro", "veo3.1", "veo3.1-fast", "veo3.1-pro")
FRAME_MODELS = ("veo2-fast-frames", "veo3-fast-frames", "veo3-frames", "veo3-pro-frames")
COMPONENT_MODELS = ("veo2-fast-components", "veo3.1-components")
MODELS = [Model(name, "google", ("openai-video",)) for name in (*TEXT_MODELS, *FRAME_MODELS, *COMPONENT_MODELS)]

ENVELOPES: dict[str, Envelope] = {VENDOR: openai_envelope}


def _lifecycle(model: str) -> Lifecycle:
    """Veo's timings: fast models about a minute, pro models several, veo3 in between."""
    if "fast" in model:
        run = (50.0, 100.0)
    elif "pro" in model:
        run = (150.0, 300.0)
    elif model.startswith("veo2"):
        run = (60.0, 120.0)
    else:
        run = (90.0, 180.0)
    return Lifecycle(("pending",), "processing", "completed", "failed", waits=((5.0, 15.0),), run_seconds=run)


# Each task runs on its model's lifecycle (`submit(lifecycle=...)`).
VEO = TaskVendor(VENDOR, _lifecycle("veo3"), failure=FAILURE_REASON, moderation=MODERATION_REASON)


def _image_range(model: str) -> tuple[int, int] | None:
    """(fewest, most) images a frames/components model takes; None for text models (images optional)."""
    if model in COMPONENT_MODELS or model.endswith("-components"):
        return 1, 3
    if model.endswith("-frames"):
        return 1, 2 if model.startswith("veo2") else 1
    return None


def render_video(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """The unified job object `GET /v1/video/query` answers."""
    record = view.record
    request = record.request
    url = None
    if view.phase is Phase.SUCCEEDED:
        url = video_url(ctx.base_url, aspect=record.data["aspect_ratio"], seconds=SECONDS, seed=record.id)
    out: dict[str, Any] = {
        "id": record.id,
        "status": view.status,
        "video_url": url,
        "enhanced_prompt": record.data["enhanced_prompt"],
        "status_update_time": ms(view.at),
        "detail": {
            "id": record.id,
            "req": {
                "model": request.get("model"),
                "prompt": request.get("prompt"),
                "aspect_ratio": record.data["aspect_ratio"],
                "enhance_prompt": bool(request.get("enhance_prompt")),
                "enable_upsample": bool(request.get("enable_upsample")),
            },
            "images": list(request.get("images") or []),
            "status": view.status,
            "running": not view.terminal,
            "video_url": url,
            "error_message": view.detail if view.phase is Phase.FAILED else None,
        },
    }
    return out


TASK_VENDORS = [Vendor(VENDOR, render_video)]


async def create(call: Call) -> Response:
    body: dict[str, Any] = call.body
    model = body["model"]
    ensure_model(call, model)
    images = body.get("images") or []
    allowed = _image_range(model)
    if allowed is not None and not allowed[0] <= len(images) <= allowed[1]:
        wanted = f"{allowed[0]} image" if allowed[0] == allowed[1] else f"{allowed[0]} to {allowed[1]} images"
        message = f"model {model} takes {wanted} in `images`, got {len(images)}"
        raise ApiError(400, message, param="images", code="invalid_request")
    prompt = body["prompt"]
    scenario = VEO.scenario(call, prompt, field="prompt", refusal="prompt rejected by content moderation")
    enhanced = prompt
    if body.get("enhance_prompt"):
        enhanced = f"A cinematic, high-detail shot: {prompt}. Smooth camera motion, natural lighting."
    now = call.now
    record = await VEO.submit(
        call,
        kind="video",
        scenario=scenario,
        request=body,
        new_id=lambda rng: f"{model}:{int(now)}-{token(rng, 10)}",
        data={"aspect_ratio": body.get("aspect_ratio") or "16:9", "enhanced_prompt": enhanced},
        lifecycle=_lifecycle(model),
    )
    view = task_engine(call).render(record, call.now)
    return call.json({k: view[k] for k in ("id", "status", "status_update_time", "enhanced_prompt")})


async def query(call: Call) -> Response:
    task_id = call.query["id"]
    record = await VEO.find(call, task_id)
    if record is None:
        raise ApiError(400, f"task_not_exist: {task_id}", code="task_not_exist", param="id")
    return VEO.answer(call, record)


ROUTES = [Endpoint("veo_submit", create), Endpoint("veo_get", query)]
