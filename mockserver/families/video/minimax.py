"""MiniMax Hailuo on `/minimax/v1/*`: submit, query, and the file retrieve that yields the download URL.

MiniMax's own bodies pass through: the submit answers `{task_id, base_resp}`; the query answers
`{task_id, status, file_id, video_width, video_height, base_resp}` with `status`
`Preparing → Queueing → Processing → Success | Fail`; `GET /minimax/v1/files/retrieve?file_id=`
answers `{file: {download_url, ...}, base_resp}`. Errors are `{"base_resp": {status_code, status_msg}}`
with MiniMax's codes (1026 sensitive input, 1027 sensitive output, 2013 invalid parameters).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response

from mockserver import media
from mockserver.content.video import video_recipe, video_size
from mockserver.errors import ApiError, Envelope
from mockserver.families.shared.media_tasks import (
    MODERATED,
    Lifecycle,
    TaskVendor,
    task_engine,
    token,
    vendor_envelope,
)
from mockserver.media import media_url
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint
from mockserver.tasks.engine import RenderContext, Vendor
from mockserver.tasks.model import Phase, TaskView

VENDOR = "minimax"

CODE_OK = 0
CODE_SERVER = 1000
CODE_INPUT_SENSITIVE = 1026
CODE_OUTPUT_SENSITIVE = 1027
CODE_INVALID = 2013
MODERATION_REASON = "output video sensitive"
FAILURE_REASON = "video generation failed"
RESOLUTIONS = ("512P", "720P", "768P", "1080P")
DURATIONS = (6, 10)

MODELS = [
    Model(name, "minimax", ("openai-video",))
    for name in ("MiniMax-Hailuo-02", "T2V-01", "T2V-01-Director", "I2V-01", "I2V-01-Director", "I2V-01-live", "S2V-01")
]


def minimax_error(err: ApiError, request_id: str) -> tuple[int, Any]:
    """MiniMax's `{"base_resp": {status_code, status_msg}}`."""
    code = err.code if isinstance(err.code, int) else CODE_SERVER if err.status >= 500 else CODE_INVALID
    message = err.message if err.status >= 500 or code != CODE_INVALID else f"invalid params, {err.message}"
    return err.status, {"base_resp": {"status_code": code, "status_msg": message}}


ENVELOPES: dict[str, Envelope] = {VENDOR: vendor_envelope(minimax_error)}


def _ok() -> dict[str, Any]:
    return {"status_code": CODE_OK, "status_msg": "success"}


def file_id_of(task_id: str) -> str:
    """A task's output file id (reversible: the task id starts with 1, its file id with 2)."""
    return "2" + task_id[1:]


def task_id_of(file_id: str) -> str:
    return "1" + file_id[1:]


def render_query(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """MiniMax's query answer for a task."""
    record = view.record
    out: dict[str, Any] = {"task_id": record.id, "status": view.status, "file_id": "", "base_resp": _ok()}
    if view.phase is Phase.SUCCEEDED:
        width, height = video_size("16:9")
        out.update(file_id=file_id_of(record.id), video_width=width, video_height=height)
    elif view.phase is Phase.FAILED and record.scenario == MODERATED:
        out["base_resp"] = {"status_code": CODE_OUTPUT_SENSITIVE, "status_msg": view.detail or MODERATION_REASON}
    return out


TASK_VENDORS = [Vendor(VENDOR, render_query)]


def _lifecycle(duration: int, resolution: str) -> Lifecycle:
    scale = (1.7 if duration == 10 else 1.0) * (1.5 if resolution == "1080P" else 1.0)
    return Lifecycle(
        ("Preparing", "Queueing"),
        "Processing",
        "Success",
        "Fail",
        waits=((2.0, 5.0), (5.0, 30.0)),
        run_seconds=(120.0 * scale, 240.0 * scale),
    )


# Each task runs on the lifecycle of its duration and resolution (`submit(lifecycle=...)`).
MINIMAX = TaskVendor(VENDOR, _lifecycle(6, "768P"), failure=FAILURE_REASON, moderation=MODERATION_REASON)


async def submit(call: Call) -> Response:
    body: dict[str, Any] = call.body
    ensure_model(call, body["model"])
    duration = body.get("duration", 6)
    if duration not in DURATIONS:
        raise ApiError(400, f"duration must be 6 or 10 (got {duration!r})", param="duration")
    resolution = body.get("resolution") or "768P"
    if resolution not in RESOLUTIONS:
        raise ApiError(400, f"resolution must be one of {', '.join(RESOLUTIONS)}", param="resolution")
    if resolution == "1080P" and duration != 6:
        raise ApiError(400, "1080P supports a 6-second duration only", param="resolution")
    if body.get("last_frame_image") and not body.get("first_frame_image"):
        raise ApiError(400, "last_frame_image needs first_frame_image", param="first_frame_image")
    scenario = MINIMAX.scenario(
        call, body["prompt"], field="prompt", refusal="input new_sensitive", code=CODE_INPUT_SENSITIVE
    )
    record = await MINIMAX.submit(
        call,
        kind="video_generation",
        scenario=scenario,
        request=body,
        new_id=lambda rng: "1" + token(rng, 14, "0123456789"),
        data={"duration": duration, "resolution": resolution},
        lifecycle=_lifecycle(duration, resolution),
    )
    return call.json({"task_id": record.id, "base_resp": _ok()})


async def query(call: Call) -> Response:
    task_id = call.query["task_id"]
    record = await MINIMAX.find(call, task_id)
    if record is None:
        raise ApiError(404, f"task {task_id} not found", param="task_id")
    return MINIMAX.answer(call, record)


async def retrieve_file(call: Call) -> Response:
    file_id = call.query["file_id"]
    record = await MINIMAX.find(call, task_id_of(file_id)) if file_id.startswith("2") else None
    tasks = task_engine(call)
    if record is None or tasks.view(record, call.now).phase is not Phase.SUCCEEDED:
        raise ApiError(404, f"file {file_id} not found", param="file_id")
    width, height = video_size("16:9")
    recipe = video_recipe(width, height, float(record.data["duration"]), record.id)
    file = {
        "file_id": int(file_id),
        "bytes": len((await asyncio.to_thread(media.render, "video", recipe))[0]),
        "created_at": int(record.run_end or call.now),
        "filename": "output_aigc.mp4",
        "purpose": "video_generation",
        "download_url": media_url(tasks.settings.base_url, "video", recipe, "mp4"),
    }
    return call.json({"file": file, "base_resp": _ok()})


ROUTES = [
    Endpoint("minimax_hailuo_submit", submit),
    Endpoint("minimax_hailuo_get", query),
    Endpoint("minimax_files_retrieve", retrieve_file),
]
