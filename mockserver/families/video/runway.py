"""Runway on `/runwayml/v1/*`: image_to_video and task retrieval in Runway's own shapes.

A submit answers `{"id"}`; `GET /runwayml/v1/tasks/{id}` answers the task with `status`
`PENDING → RUNNING → SUCCEEDED | FAILED`, `progress` (0..1) while RUNNING, `output` (MP4 URLs) on
success and `failure` / `failureCode` (e.g. `SAFETY.INPUT.TEXT`) on failure. Runway takes no callback
URL. Errors are `{"error": ...}` (with `issues` on a validation error).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mockserver.content.video import video_url
from mockserver.errors import ApiError, Envelope
from mockserver.families.shared.media_tasks import (
    FAILED,
    MODERATED,
    Lifecycle,
    TaskVendor,
    bare_message,
    iso,
    vendor_envelope,
)
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint
from mockserver.tasks.engine import RenderContext, Vendor
from mockserver.tasks.model import Phase, TaskView

VENDOR = "runway"

MODERATION_REASON = "The prompt or image did not pass our content moderation."
FAILURE_REASON = "An unexpected error occurred while generating the video."
FAILURE_CODES = {MODERATED: "SAFETY.INPUT.TEXT", FAILED: "INTERNAL.BAD_OUTPUT.CODE01"}
DEFAULT_RATIO = {"gen3a_turbo": "1280:768", "gen4_turbo": "1280:720"}

RUNWAY = TaskVendor(
    VENDOR,
    Lifecycle(
        ("PENDING",), "RUNNING", "SUCCEEDED", "FAILED", waits=((3.0, 10.0),), run_seconds=(40.0, 70.0), updates=(4, 8)
    ),
    failure=FAILURE_REASON,
    moderation=MODERATION_REASON,
)

MODELS = [Model("gen3a_turbo", "runway", ("openai-video",)), Model("gen4_turbo", "runway", ("openai-video",))]


def runway_error(err: ApiError, request_id: str) -> tuple[int, Any]:
    """Runway's `{"error"}`; a named field adds `issues` as Runway's validation errors do."""
    body: dict[str, Any] = {"error": err.message}
    if err.status == 400 and err.param:
        path = err.param.replace("[", ".").replace("]", "").split(".")
        body["issues"] = [{"path": path, "message": bare_message(err)}]
    return err.status, body


ENVELOPES: dict[str, Envelope] = {VENDOR: vendor_envelope(runway_error)}


def render_task(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """Runway's task object as `GET /v1/tasks/{id}` answers it."""
    record = view.record
    task: dict[str, Any] = {"id": record.id, "status": view.status, "createdAt": iso(record.submitted_at, micros=False)}
    if view.phase is Phase.RUNNING:
        task["progress"] = round(view.progress / 100, 2)
    elif view.phase is Phase.SUCCEEDED:
        facts = record.data
        task["output"] = [
            video_url(ctx.base_url, aspect=facts["ratio"], seconds=float(facts["duration"]), seed=record.id)
        ]
    elif view.phase is Phase.FAILED:
        task["failure"] = view.detail or FAILURE_REASON
        task["failureCode"] = FAILURE_CODES.get(record.scenario, FAILURE_CODES[FAILED])
    return task


TASK_VENDORS = [Vendor(VENDOR, render_task)]


async def image_to_video(call: Call) -> Response:
    body: dict[str, Any] = call.body
    model = body["model"]
    ensure_model(call, model)
    prompt = body.get("promptText") or ""
    scenario = RUNWAY.scenario(call, prompt, field="promptText", refusal=MODERATION_REASON, code="content_moderation")
    duration = int(body.get("duration") or 5)
    ratio = body.get("ratio") or DEFAULT_RATIO[model]
    record = await RUNWAY.submit(
        call,
        kind="image_to_video",
        scenario=scenario,
        request=body,
        data={"ratio": ratio, "duration": duration},
        scale=duration / 5 * (0.8 if model == "gen4_turbo" else 1.0),
    )
    return call.json({"id": record.id})


async def get_task(call: Call) -> Response:
    record = await RUNWAY.find(call, call.path_params["id"])
    if record is None:
        raise ApiError(404, "Task not found", param="id")
    return RUNWAY.answer(call, record)


ROUTES = [
    Endpoint("runway_image_to_video_submit", image_to_video),
    Endpoint("runway_task_get", get_task),
]
