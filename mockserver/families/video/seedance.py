"""ByteDance Seedance on `/seedance/generations`: Volcengine Ark content-generation tasks.

The submit takes `model` and `content[]` (text with inline flags `--duration 5|10`, `--resolution
480p|720p|1080p`, `--ratio 16:9|...|adaptive`, `--camerafixed true|false`, `--seed N`, plus optional
first/last-frame images) and answers `{"id": "cgt-..."}`. The task's `status` goes `queued → running →
succeeded | failed`; a succeeded task carries `content.video_url` (MP4) and `usage`. A `callback_url`
receives the task on every status change. Errors are Ark's `{"error": {code, message, param, type}}`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from mockserver.content.images import image_url
from mockserver.content.video import video_size, video_url
from mockserver.errors import ApiError, Envelope
from mockserver.families.shared.media_tasks import (
    MODERATED,
    Lifecycle,
    TaskVendor,
    callback_hook,
    token,
    vendor_envelope,
)
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint
from mockserver.tasks.engine import RenderContext, Vendor
from mockserver.tasks.model import Phase, TaskView

VENDOR = "seedance"

MODERATION_CODE = "OutputVideoSensitiveContentDetected"
MODERATION_REASON = "The request failed because the output video may contain sensitive information."
FAILURE_CODE = "InternalServiceError"
FAILURE_REASON = "The service encountered an unexpected internal error."
RATIOS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "9:21", "keep_ratio", "adaptive")
RESOLUTIONS = ("480p", "720p", "1080p")
FPS = 24
_FLAG = re.compile(r"--(\w+)\s+(\S+)")

MODELS = [
    Model(name, "doubao", ("openai-video",))
    for name in (
        "doubao-seedance-1-0-pro-250528",
        "doubao-seedance-1-0-lite-t2v-250428",
        "doubao-seedance-1-0-lite-i2v-250428",
        "doubao-seedance-1-5-pro-251215",
    )
]

_TYPES = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 429: "TooManyRequests"}
_CODES = {400: "InvalidParameter", 404: "ResourceNotFound", 413: "InvalidParameter", 415: "InvalidParameter"}


def ark_error(err: ApiError, request_id: str) -> tuple[int, Any]:
    """Ark's `{"error": {code, message, param, type}}`."""
    own = isinstance(err.code, str) and err.code not in ("", "invalid_request", "invalid_json")
    code = err.code if own and isinstance(err.code, str) else None
    code = code or _CODES.get(err.status, "InternalServiceError" if err.status >= 500 else "InvalidParameter")
    kind = _TYPES.get(err.status, "InternalServerError" if err.status >= 500 else "BadRequest")
    return err.status, {"error": {"code": code, "message": err.message, "param": err.param, "type": kind}}


ENVELOPES: dict[str, Envelope] = {VENDOR: vendor_envelope(ark_error)}


def parse_flags(text: str) -> dict[str, str]:
    """The `--name value` flags of a Seedance prompt."""
    return {name.lower(): value for name, value in _FLAG.findall(text)}


def _settings_from(flags: dict[str, str], has_image: bool) -> dict[str, Any]:
    """Duration, resolution, ratio, camera and seed from the flags, each checked and named on error."""
    duration = flags.get("duration", "5")
    if duration not in ("5", "10"):
        raise ApiError(400, f"--duration must be 5 or 10 (got {duration})", param="content.text.duration")
    resolution = flags.get("resolution", "1080p")
    if resolution not in RESOLUTIONS:
        raise ApiError(400, f"--resolution must be one of {', '.join(RESOLUTIONS)}", param="content.text.resolution")
    ratio = flags.get("ratio", "adaptive" if has_image else "16:9")
    if ratio not in RATIOS:
        raise ApiError(400, f"--ratio must be one of {', '.join(RATIOS)}", param="content.text.ratio")
    camera = flags.get("camerafixed", "false")
    if camera not in ("true", "false"):
        raise ApiError(400, "--camerafixed must be true or false", param="content.text.camerafixed")
    seed = flags.get("seed", "-1")
    if not re.fullmatch(r"-?\d+", seed):
        raise ApiError(400, "--seed must be an integer", param="content.text.seed")
    return {
        "duration": int(duration),
        "resolution": resolution,
        "ratio": ratio,
        # An image decides the shape under adaptive/keep_ratio; the emulator cannot see it, so 16:9.
        "aspect": ratio if ":" in ratio else "16:9",
        "camera_fixed": camera == "true",
        "seed": int(seed),
    }


def _tokens(facts: Mapping[str, Any]) -> int:
    """Ark bills video tokens ≈ width × height × frames / 1024 at the nominal resolution."""
    height = {"480p": 480, "720p": 720, "1080p": 1080}[facts["resolution"]]
    width = round(height * 16 / 9)
    return width * height * FPS * int(facts["duration"]) // 1024


def render_task(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """The Ark task (fetch answer and `callback_url` body)."""
    record = view.record
    facts = record.data
    out: dict[str, Any] = {
        "id": record.id,
        "model": record.request.get("model"),
        "status": view.status,
        "created_at": int(record.submitted_at),
        "updated_at": int(view.at),
        "message": "",
        "request": {"model": record.request.get("model"), "content": record.request.get("content")},
        "seed": facts["seed"],
        "resolution": facts["resolution"],
        "ratio": facts["ratio"],
        "duration": facts["duration"],
        "framespersecond": FPS,
    }
    if view.phase is Phase.SUCCEEDED:
        content: dict[str, Any] = {
            "video_url": video_url(ctx.base_url, aspect=facts["aspect"], seconds=facts["duration"], seed=record.id)
        }
        if record.request.get("return_last_frame"):
            width, height = video_size(facts["aspect"])
            content["last_frame_url"] = image_url(ctx.base_url, width, height, seed=f"{record.id}-last", fmt="png")
        tokens = _tokens(facts)
        out.update(content=content, usage={"completion_tokens": tokens, "total_tokens": tokens}, error=None)
    elif view.phase is Phase.FAILED:
        code = MODERATION_CODE if record.scenario == MODERATED else FAILURE_CODE
        out["error"] = {"code": code, "message": view.detail or FAILURE_REASON}
        out["message"] = view.detail or FAILURE_REASON
    return out


TASK_VENDORS = [Vendor(VENDOR, render_task)]


def _lifecycle(model: str, duration: int, resolution: str) -> Lifecycle:
    base = (30.0, 60.0) if "lite" in model else (50.0, 110.0)
    scale = duration / 5 * {"480p": 0.5, "720p": 0.75, "1080p": 1.0}[resolution]
    return Lifecycle(
        ("queued",),
        "running",
        "succeeded",
        "failed",
        waits=((3.0, 10.0),),
        run_seconds=(base[0] * scale, base[1] * scale),
    )


# Each task runs on the lifecycle of its model, duration and resolution (`submit(lifecycle=...)`).
SEEDANCE = TaskVendor(VENDOR, _lifecycle("lite", 5, "720p"), failure=FAILURE_REASON, moderation=MODERATION_REASON)


async def submit(call: Call) -> Response:
    body: dict[str, Any] = call.body
    model = body["model"]
    ensure_model(call, model)
    items = body["content"]
    texts = [item.get("text") or "" for item in items if item.get("type") == "text"]
    images = [item for item in items if item.get("type") == "image_url"]
    for index, item in enumerate(items):
        if item["type"] == "text" and not isinstance(item.get("text"), str):
            raise ApiError(400, "a text item needs `text`", param=f"content[{index}].text")
        if item["type"] == "image_url" and not isinstance(item.get("image_url"), dict):
            raise ApiError(400, "an image_url item needs `image_url.url`", param=f"content[{index}].image_url")
    if not any(t.strip() for t in texts) and not images:
        raise ApiError(400, "content needs a text prompt or an image", param="content")
    prompt = " ".join(texts)
    facts = _settings_from(parse_flags(prompt), bool(images))
    scenario = SEEDANCE.scenario(
        call,
        prompt,
        field="content",
        refusal="The request failed because the input text may contain sensitive information.",
        code="InputTextSensitiveContentDetected",
    )
    if facts["seed"] < 0:
        facts["seed"] = call.rng.randint(0, 2**31 - 1)
    stamp = datetime.datetime.fromtimestamp(call.now, tz=datetime.UTC).strftime("%Y%m%d%H%M%S")
    record = await SEEDANCE.submit(
        call,
        kind="generation",
        scenario=scenario,
        request=body,
        new_id=lambda rng: f"cgt-{stamp}-{token(rng, 5, 'abcdefghijklmnopqrstuvwxyz0123456789')}",
        hook=callback_hook(call, body.get("callback_url")),
        data=facts,
        lifecycle=_lifecycle(model, facts["duration"], facts["resolution"]),
    )
    return call.json({"id": record.id})


async def get_task(call: Call) -> Response:
    task_id = call.path_params["task_id"]
    record = await SEEDANCE.find(call, task_id)
    if record is None:
        raise ApiError(404, f"The specified task {task_id} is not found.", param="task_id")
    return SEEDANCE.answer(call, record)


ROUTES = [Endpoint("seedance_submit", submit), Endpoint("seedance_get", get_task)]
