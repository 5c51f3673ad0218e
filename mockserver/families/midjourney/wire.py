"""Midjourney on the wire: return codes, submit envelopes, buttons, the task JSON and the error envelope.

Shapes follow the YEScale docs page for `/mj/submit/imagine` (code 1 reads "Submit success" and carries
`discordChannelId`/`discordInstanceId` properties), midjourney-proxy (codes, descriptions, customIds)
and new-api (the task JSON its fetch returns, its error envelope). See docs/midjourney.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from mockserver.content.links import signed
from mockserver.errors import ApiError, openai_envelope
from mockserver.tasks import Phase, TaskView
from mockserver.tasks.engine import RenderContext

VENDOR = "midjourney"

# Return codes (midjourney-proxy ReturnCode) and the descriptions the references give.
SUCCESS = 1
NOT_FOUND = 3
VALIDATION_ERROR = 4
FAILURE = 9
EXISTED = 21
IN_QUEUE = 22
QUEUE_REJECTED = 23
BANNED_PROMPT = 24

SUBMIT_SUCCESS = "Submit success"  # YEScale's own wording (docs page); midjourney-proxy says 提交成功
MODAL_WAITING = "窗口等待"
QUEUED = "排队中，前面还有{n}个任务"
QUEUE_FULL = "队列已满，请稍后尝试"
BANNED = "可能包含敏感词"
NO_ACCOUNT = "无可用的账号实例"
SYSTEM_ERROR = "提交失败，系统异常"
PARENT_STATE = "关联任务状态错误"
PARENT_NOT_CHANGEABLE = "关联任务不允许执行变化"
OK = "成功"
TIMEOUT_REASON = "任务超时"
GATEWAY_TIMEOUT_REASON = "上游任务超时（超过1小时）"

# Task statuses and what they mean to the engine.
NOT_START = "NOT_START"
SUBMITTED = "SUBMITTED"
IN_PROGRESS = "IN_PROGRESS"
MODAL = "MODAL"
SUCCESS_STATUS = "SUCCESS"
FAILURE_STATUS = "FAILURE"

CHANGEABLE = frozenset({"IMAGINE", "VARIATION", "REROLL", "BLEND"})


def account_ids(seed: int) -> dict[str, str]:
    """The emulated Discord account: instance and channel ids (19-digit snowflakes) fixed by the seed."""
    digest = hashlib.blake2b(f"mj-account|{seed}".encode(), digest_size=16).digest()
    instance = 1_100_000_000_000_000_000 + int.from_bytes(digest[:8], "big") % 500_000_000_000_000_000
    channel = 1_100_000_000_000_000_000 + int.from_bytes(digest[8:], "big") % 500_000_000_000_000_000
    return {"discordChannelId": str(channel), "discordInstanceId": str(instance)}


def submit_result(
    code: int, description: str, result: Any = None, properties: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The submit envelope `{code, description, result, properties}` (`result` left out when None)."""
    out: dict[str, Any] = {"code": code, "description": description}
    if result is not None:
        out["result"] = result
    out["properties"] = dict(properties or {})
    return out


# -- buttons ------------------------------------------------------------------------------------


def _button(custom_id: str, label: str = "", emoji: str = "") -> dict[str, Any]:
    return {"customId": custom_id, "emoji": emoji, "label": label, "type": 2, "style": 2}


def grid_buttons(job: str) -> list[dict[str, Any]]:
    """U1–U4, 🔄 reroll, V1–V4 under a grid (Discord's own component ids)."""
    ups = [_button(f"MJ::JOB::upsample::{i}::{job}", f"U{i}") for i in range(1, 5)]
    reroll = _button(f"MJ::JOB::reroll::0::{job}::SOLO", emoji="🔄")
    variations = [_button(f"MJ::JOB::variation::{i}::{job}", f"V{i}") for i in range(1, 5)]
    return [*ups, reroll, *variations]


def upscale_buttons(job: str, version: str, *, can_upscale: bool = True) -> list[dict[str, Any]]:
    """The buttons under an upscaled image (v6 or v7 upscaler ids)."""
    out: list[dict[str, Any]] = []
    if can_upscale:
        up = "v7" if version == "7" else "v6"
        out += [
            _button(f"MJ::JOB::upsample_{up}_2x_subtle::1::{job}::SOLO", "Upscale (Subtle)", "upscale_1"),
            _button(f"MJ::JOB::upsample_{up}_2x_creative::1::{job}::SOLO", "Upscale (Creative)", "upscale_1"),
        ]
    out += [
        _button(f"MJ::JOB::low_variation::1::{job}::SOLO", "Vary (Subtle)", "🪄"),
        _button(f"MJ::JOB::high_variation::1::{job}::SOLO", "Vary (Strong)", "🪄"),
        _button(f"MJ::Inpaint::1::{job}::SOLO", "Vary (Region)", "🖌️"),
        _button(f"MJ::Outpaint::50::1::{job}::SOLO", "Zoom Out 2x", "🔍"),
        _button(f"MJ::Outpaint::75::1::{job}::SOLO", "Zoom Out 1.5x", "🔍"),
        _button(f"MJ::CustomZoom::{job}", "Custom Zoom", "🔍"),
        _button(f"MJ::JOB::pan_left::1::{job}::SOLO", emoji="⬅️"),
        _button(f"MJ::JOB::pan_right::1::{job}::SOLO", emoji="➡️"),
        _button(f"MJ::JOB::pan_up::1::{job}::SOLO", emoji="⬆️"),
        _button(f"MJ::JOB::pan_down::1::{job}::SOLO", emoji="⬇️"),
    ]
    return out


_DIGITS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")


def describe_buttons() -> list[dict[str, Any]]:
    """Pick one of the four suggestions (an imagine through a modal), or describe again."""
    picks = [_button(f"MJ::Job::PicReader::{i}", emoji=_DIGITS[i - 1]) for i in range(1, 5)]
    return [*picks, _button("MJ::Picread::Retry", emoji="🔄")]


def shorten_buttons(count: int) -> list[dict[str, Any]]:
    """Pick one of the shortened prompts (an imagine through a modal)."""
    return [_button(f"MJ::PromptAnalyzer::{i}", emoji=_DIGITS[i - 1]) for i in range(1, count + 1)]


def buttons_for(record_data: Mapping[str, Any], job: str) -> list[dict[str, Any]]:
    kind = record_data.get("buttons")
    if kind == "grid":
        return grid_buttons(job)
    if kind == "upscale":
        return upscale_buttons(job, str(record_data.get("version", "6")))
    if kind == "upscale2x":
        return upscale_buttons(job, str(record_data.get("version", "6")), can_upscale=False)
    if kind == "describe":
        return describe_buttons()
    if kind == "shorten":
        return shorten_buttons(len(record_data.get("suggestions") or ()))
    return []


def button_ids(record_data: Mapping[str, Any]) -> set[str]:
    return {b["customId"] for b in buttons_for(record_data, str(record_data.get("hash", "")))}


# -- the task JSON ------------------------------------------------------------------------------


def _ms(t: float | None) -> int:
    return 0 if t is None else round(t * 1000)


def image_link(base_url: str, task_id: str) -> str:
    return signed(f"{base_url}/mj/image/{task_id}")


def video_links(base_url: str, spec: Mapping[str, Any] | None) -> list[str]:
    """The MP4 links of a finished video task (served by the emulator's media route)."""
    if not spec:
        return []
    from mockserver.content.video import video_url

    seconds = float(spec.get("seconds", 5.0))
    aspect = float(spec.get("aspect", 1.0))
    return [
        video_url(base_url, aspect=aspect, seconds=seconds, seed=f"{spec.get('seed')}:{i}")
        for i in range(int(spec.get("count", 1)))
    ]


def render_task(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """The task as new-api's fetch returns it (and as callbacks carry it)."""
    record = view.record
    data = record.data
    status = view.status
    succeeded = view.phase is Phase.SUCCEEDED
    image_url = ""
    image = data.get("image") or {}
    previewing = status == IN_PROGRESS and view.progress > 0 and image.get("kind") != "upload"
    if image and (succeeded or previewing):
        image_url = image_link(ctx.base_url, record.id)
        if not succeeded:  # a preview: the gateway adds ?rand= until the job succeeds
            image_url += f"{'&' if '?' in image_url else '?'}rand={round(view.at * 1000) * 1_000_000}"
    videos = video_links(ctx.base_url, data.get("video")) if succeeded else []
    buttons: list[dict[str, Any]] | None
    if status == NOT_START:
        buttons = None  # the gateway stores buttons only once the upstream reports them
    elif succeeded:
        buttons = buttons_for(data, str(data.get("hash", "")))
    else:
        buttons = []
    failed = view.phase is Phase.FAILED
    # describe reports its suggestions as the prompt once it has succeeded
    prompt, prompt_en = str(data.get("prompt", "")), str(data.get("promptEn", ""))
    if succeeded and "promptOnSuccess" in data:
        prompt = prompt_en = str(data["promptOnSuccess"])
    return {
        "id": record.id,
        "action": record.kind,
        "customId": str(data.get("customId", "")),
        "botType": str(data.get("botType", "")),
        "prompt": prompt,
        "promptEn": prompt_en,
        "description": str(data.get("description", SUBMIT_SUCCESS)),
        "state": str(data.get("state", "")),
        "submitTime": _ms(record.submitted_at),
        "startTime": _ms(view.started_at),
        "finishTime": _ms(view.finished_at),
        "imageUrl": image_url,
        "videoUrl": videos[0] if videos else "",
        "videoUrls": [{"url": url} for url in videos],
        "status": status,
        "progress": "100%" if view.terminal else f"{view.progress}%",
        "failReason": (view.detail or "") if failed else "",
        "buttons": buttons,
        "maskBase64": "",
        "properties": {
            "finalPrompt": str(data.get("finalPrompt", "")) if succeeded or not data.get("suggestions") else "",
            "finalZhPrompt": "",
        },
    }


# -- the error envelope --------------------------------------------------------------------------

_OPENAI_CODES = frozenset({"not_found", "method_not_allowed", "invalid_json", "missing_api_key", "invalid_api_key"})


def midjourney_envelope(err: ApiError, request_id: str) -> tuple[int, Any]:
    """new-api's Midjourney relay errors: `{"description", "type": "upstream_error", "code": <int>}`.

    Gateway middleware failures (auth, an unknown route or method, a body that is not JSON) keep the
    gateway's OpenAI-shaped envelope, as new-api answers them before the Midjourney relay runs; the relay
    itself never answers 404 or 405.
    """
    if err.status in (401, 403, 404, 405, 413, 415) or err.code in _OPENAI_CODES:
        return openai_envelope(err, request_id)
    if isinstance(err.code, int) and not isinstance(err.code, bool):
        code = err.code
    else:
        code = 30 if err.status == 429 else 5 if err.status >= 500 else VALIDATION_ERROR
    return err.status, {"description": err.message, "type": err.type or "upstream_error", "code": code}


def relay_error(description: str, status: int = 400) -> ApiError:
    """A gateway-side refusal (`task_not_found`, `unknown_action:<id>`, ...): new-api appends the empty
    upstream result after a space, hence the trailing blank."""
    return ApiError(status, f"{description} ", code=VALIDATION_ERROR)
