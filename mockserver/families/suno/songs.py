"""Suno through new-api's task relay: `/suno/submit/music|lyrics`, `/suno/fetch/{id}`, `POST /suno/fetch`.

Submits answer `{"code": "success", "message": "", "data": "<task id>"}`; fetches answer
`{"code": "success", "message": "", "data": TaskDto}`. A MUSIC task goes `NOT_START → SUBMITTED →
QUEUED → IN_PROGRESS → SUCCESS | FAILURE` with `progress` "0%" until it ends ("100%"), and holds two
clips whose status goes `submitted → queued → streaming → complete | error`; a complete clip has an MP3
(`audio_url`), a JPEG cover (`image_url`, `image_large_url`) and an MP4 (`video_url`). A LYRICS task is
done when the submit returns, with `data = {id, status, title, text}`. Modes: `gpt_description_prompt`
(inspiration), `prompt` + `title` + `tags` (custom), `continue_clip_id` + `continue_at` (continuation
of an existing, finished clip). `notify_hook` receives the TaskDto on every status change.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.responses import Response

from mockserver.content.audio import audio_url
from mockserver.content.images import image_url
from mockserver.content.video import video_url
from mockserver.errors import ApiError, Envelope
from mockserver.families.shared.media_tasks import (
    MODERATED,
    SUCCESS,
    Lifecycle,
    TaskVendor,
    callback_hook,
    find_task,
    iso,
    submit_task,
    task_engine,
    task_error,
    uuid4,
    vendor_envelope,
)
from mockserver.families.suno.text import lyrics_for, tags_for, title_for
from mockserver.gateway.prices import prices
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint
from mockserver.tasks.engine import RenderContext, Vendor, owner_of
from mockserver.tasks.model import Phase, Step, TaskRecord, TaskView

VENDOR = "suno"

MODERATION_REASON = "Song generation failed: the content was flagged by moderation."
FAILURE_REASON = "Song generation failed: internal error, please try again."
DEFAULT_MV = "chirp-v3-0"
CLIP_SECONDS = (40.0, 90.0)
# mv -> (model_name, major_model_version)
MODEL_NAMES = {
    "chirp-v3-0": ("chirp-v3", "v3"),
    "chirp-v3-5": ("chirp-v3-5", "v3.5"),
    "chirp-v4": ("chirp-v4", "v4"),
    "chirp-auk": ("chirp-auk", "v4.5"),
    "chirp-bluejay": ("chirp-bluejay", "v4.5+"),
    "chirp-crow": ("chirp-crow", "v5"),
}
CLIP_STATUS = {
    "SUBMITTED": "submitted",
    "QUEUED": "queued",
    "IN_PROGRESS": "streaming",
    "SUCCESS": "complete",
    "FAILURE": "error",
}
SUNO = TaskVendor(
    VENDOR,
    Lifecycle(
        ("NOT_START", "SUBMITTED", "QUEUED"),
        "IN_PROGRESS",
        "SUCCESS",
        "FAILURE",
        waits=((1.0, 3.0), (2.0, 5.0), (5.0, 15.0)),
        run_seconds=(50.0, 90.0),
    ),
    failure=FAILURE_REASON,
    moderation=MODERATION_REASON,
)
BANNED = "prompt contains banned content"

MODELS = [Model(name, "suno", ("openai",)) for name in ("suno_music", "suno_lyrics", *MODEL_NAMES)]

ENVELOPES: dict[str, Envelope] = {VENDOR: vendor_envelope(task_error)}


# ---------------------------------------------------------------------------------------------
# Rendering


def _clip(record: TaskRecord, view: TaskView, clip: dict[str, Any], base_url: str) -> dict[str, Any]:
    status = CLIP_STATUS.get(view.status, "submitted")
    done = status == "complete"
    streaming = status in ("streaming", "complete")
    model_name, major = MODEL_NAMES.get(str(record.data["mv"]), (str(record.data["mv"]), "v3"))
    seconds = float(clip["duration"])
    failed = status == "error"
    return {
        "id": clip["id"],
        "title": clip["title"],
        "text": clip["prompt"],  # the lyrics (new-api's SunoSong DTO has `text`)
        "status": status,
        "audio_url": audio_url(base_url, seconds, clip["id"], "mp3") if streaming else "",
        "video_url": video_url(base_url, aspect="1:1", seconds=seconds, seed=clip["id"], fps=1) if done else "",
        "image_url": image_url(base_url, 400, 400, seed=clip["id"], fmt="jpeg") if streaming else None,
        "image_large_url": image_url(base_url, 1024, 1024, seed=clip["id"], fmt="jpeg") if streaming else None,
        "is_video_pending": not done,
        "major_model_version": major,
        "model_name": model_name,
        "metadata": {
            "tags": clip["tags"],
            "prompt": clip["prompt"],
            "gpt_description_prompt": record.request.get("gpt_description_prompt"),
            "audio_prompt_id": None,
            "history": clip.get("history"),
            "concat_history": None,
            "type": "gen",
            "duration": seconds if done else None,
            "refund_credits": failed,
            "stream": True,
            "error_type": ("moderation" if record.scenario == MODERATED else "internal") if failed else None,
            "error_message": view.detail if failed else None,
        },
        "is_liked": False,
        "user_id": record.data["user_id"],
        "display_name": "MockServer",
        "handle": "mockserver",
        "is_handle_updated": False,
        "is_trashed": False,
        "reaction": None,
        "created_at": iso(record.submitted_at, micros=False),
        "play_count": 0,
        "upvote_count": 0,
        "is_public": False,
    }


def _small_int(text: str, modulo: int) -> int:
    """A stable positive number standing for a database id the gateway would have assigned."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=6).digest(), "big") % modulo + 1


def render_task(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """new-api's TaskDto for a Suno task (fetch `data` and `notify_hook` body), as `TaskModel2Dto` fills
    it: the task row's `id`, `created_at`/`updated_at`, `platform`, `user_id`, `group`, `channel_id`,
    `quota` and `properties` (the request's model names), no `notify_hook`; `result_url` is
    `GetResultURL()`, which falls back to `fail_reason` and is left out when empty (omitempty)."""
    record = view.record
    data: Any
    if record.kind == "LYRICS":
        lyrics = record.data["lyrics"]
        if view.phase is Phase.FAILED:
            data = {"id": record.id, "status": "error", "title": "", "text": ""}
        else:
            data = {"id": record.id, "status": "complete", "title": lyrics["title"], "text": lyrics["text"]}
    elif view.status == "NOT_START":
        data = None
    else:
        data = [_clip(record, view, clip, ctx.base_url) for clip in record.data["clips"]]
    started = view.started_at
    fail_reason = (view.detail or "") if view.phase is Phase.FAILED else ""
    model = "suno_lyrics" if record.kind == "LYRICS" else "suno_music"  # the distributor's model name
    out: dict[str, Any] = {
        "id": _small_int(record.id, 10_000_000),
        "created_at": int(record.submitted_at),
        "updated_at": int(view.at),
        "task_id": record.id,
        "platform": "suno",
        "user_id": _small_int(record.owner, 100_000),
        "group": "default",
        "channel_id": 1,
        "quota": prices().usd_quota(prices().call_price(f"suno_{record.kind.lower()}") or 0.0, "default"),
        "action": record.kind,
        "status": view.status,
        "fail_reason": fail_reason,
    }
    if fail_reason:
        out["result_url"] = fail_reason
    out |= {
        "submit_time": int(record.submitted_at),
        "start_time": int(started) if started is not None else 0,
        "finish_time": int(view.at) if view.terminal else 0,
        "progress": "100%" if view.terminal else "0%",
        "properties": {"input": "", "upstream_model_name": model, "origin_model_name": model},
        "data": data,
    }
    return out


TASK_VENDORS = [Vendor(VENDOR, render_task)]


# ---------------------------------------------------------------------------------------------
# Music submissions


def _number(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"{field} must be a number of seconds (got {value!r})", param=field) from None
    if number != number or number <= 0:
        raise ApiError(400, f"{field} must be a positive number of seconds", param=field)
    return number


async def _find_clip(call: Call, clip_id: str, task_id: str | None) -> tuple[TaskRecord, dict[str, Any]]:
    """The caller's MUSIC task holding `clip_id` (and the clip); a clear 400 naming the field otherwise."""
    if task_id:
        record = await find_task(call, task_id, VENDOR, ("MUSIC",))
        if record is None:
            raise ApiError(400, f"task_id {task_id} does not exist", param="task_id", code="task_not_exist")
        candidates = [record]
    else:
        candidates = await task_engine(call).records(vendor=VENDOR, owner=owner_of(call.api_key))
    for record in candidates:
        for clip in record.data.get("clips", ()):
            if clip["id"] == clip_id:
                return record, clip
    where = f" in task {task_id}" if task_id else ""
    raise ApiError(400, f"continue_clip_id {clip_id} is not an existing clip{where}", param="continue_clip_id")


async def _continuation(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Check a continuation request; the facts the new clips inherit."""
    if "continue_at" not in body:
        raise ApiError(400, "continue_at is required with continue_clip_id", param="continue_at")
    at = _number(body["continue_at"], "continue_at")
    parent, clip = await _find_clip(call, body["continue_clip_id"], body.get("task_id"))
    if task_engine(call).view(parent, call.now).phase is not Phase.SUCCEEDED:
        raise ApiError(400, f"clip {clip['id']} is not complete yet", param="continue_clip_id")
    if at > float(clip["duration"]):
        raise ApiError(
            400,
            f"continue_at {at:g} is past the end of clip {clip['id']} ({clip['duration']:g} s)",
            param="continue_at",
        )
    return {
        "parent_task": parent.id,
        "title": body.get("title") or f"{clip['title']} (Extended)",
        "tags": body.get("tags") or clip["tags"],
        "lyrics": body.get("prompt") or "",
        "history": [{"id": clip["id"], "continue_at": at, "type": "gen", "source": "web", "infill": False}],
    }


def _song(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Title, tags and lyrics for an inspiration or custom request."""
    rng = call.rng
    description = body.get("gpt_description_prompt")
    if description:
        lyrics = "" if body.get("make_instrumental") else lyrics_for(description, rng)
        return {"title": title_for(description, rng), "tags": tags_for(description, rng), "lyrics": lyrics}
    if "prompt" not in body:
        raise ApiError(
            400, "gpt_description_prompt (inspiration) or prompt (custom lyrics) is required", param="prompt"
        )
    lyrics = "" if body.get("make_instrumental") else body["prompt"]
    source = " ".join(str(body.get(k) or "") for k in ("title", "tags", "prompt"))
    return {
        "title": body.get("title") or title_for(source, rng),
        "tags": body.get("tags") or tags_for(source, rng),
        "lyrics": lyrics,
    }


async def submit_music(call: Call) -> Response:
    body: dict[str, Any] = call.body
    mv = body.get("mv") or DEFAULT_MV
    ensure_model(call, mv, field="mv")
    song = await _continuation(call, body) if body.get("continue_clip_id") else _song(call, body)
    texts = (body.get("gpt_description_prompt"), body.get("prompt"), body.get("title"), body.get("tags"))
    scenario = SUNO.scenario(call, *texts, field="prompt", refusal=BANNED)
    rng = call.rng
    clips = [
        {
            "id": uuid4(rng),
            "title": song["title"],
            "tags": song["tags"],
            "prompt": song["lyrics"],
            "duration": round(rng.uniform(*CLIP_SECONDS), 2),
            "history": song.get("history"),
        }
        for _ in range(2)
    ]
    record = await SUNO.submit(
        call,
        kind="MUSIC",
        scenario=scenario,
        request=body,
        rng=rng,
        hook=callback_hook(call, body.get("notify_hook")),
        data={"mv": mv, "clips": clips, "user_id": uuid4(rng)},
        parent=song.get("parent_task"),
    )
    return call.json({"code": "success", "message": "", "data": record.id})


async def submit_lyrics(call: Call) -> Response:
    body: dict[str, Any] = call.body
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        # new-api's suno adaptor (actionValidate) refuses it as a TaskError: {"code", "message", "data"}
        raise ApiError(400, "prompt_empty", code="invalid_request", param="prompt")
    scenario = SUNO.scenario(call, prompt, field="prompt", refusal=BANNED)
    rng = call.rng
    lyrics = {"title": title_for(prompt, rng), "text": lyrics_for(prompt, rng)}
    # new-api stores a lyrics task already finished: Suno answers before the submit returns.
    if scenario.name == SUCCESS:
        step = Step(0, "SUCCESS", Phase.SUCCEEDED, 100)
    else:
        default = MODERATION_REASON if scenario.name == MODERATED else FAILURE_REASON
        step = Step(0, "FAILURE", Phase.FAILED, 100, scenario.reason or default)
    record = await submit_task(
        call,
        vendor=VENDOR,
        kind="LYRICS",
        new_id=uuid4,
        plan=(step,),
        request=body,
        scenario=scenario,
        hook=callback_hook(call, body.get("notify_hook")),
        data={"lyrics": lyrics},
    )
    return call.json({"code": "success", "message": "", "data": record.id})


# ---------------------------------------------------------------------------------------------
# Fetches


async def fetch(call: Call) -> Response:
    task_id = call.path_params["task_id"]
    record = await find_task(call, task_id, VENDOR)
    if record is None:
        raise ApiError(400, "task_not_exist", code="task_not_exist", param="task_id")
    return call.json({"code": "success", "message": "", "data": task_engine(call).render(record, call.now)})


async def fetch_batch(call: Call) -> Response:
    body: dict[str, Any] = call.body
    ids = body.get("ids") or []
    action = body.get("action") or None
    tasks = task_engine(call)
    found = [await find_task(call, task_id, VENDOR) for task_id in dict.fromkeys(ids)]
    items = [tasks.render(r, call.now) for r in found if r is not None and (action is None or r.kind == action)]
    return call.json({"code": "success", "message": "", "data": items})


ROUTES = [
    Endpoint("suno_submit_music", submit_music),
    Endpoint("suno_generate_lyrics", submit_lyrics),
    Endpoint("suno_fetch", fetch),
    Endpoint("suno_fetch_batch", fetch_batch),
]
