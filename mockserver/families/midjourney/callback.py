"""The body POSTed to a Midjourney `notifyHook`: midjourney-proxy's own `Task`, not the gateway's DTO.

new-api forwards `notifyHook` to midjourney-proxy (MjNotifyEnabled), and the proxy's `NotifyServiceImpl`
posts `ObjectMapper.writeValueAsString(task)` itself: the fields of `support/Task.java` after those of
`DomainObject` (`id`, `properties`), nulls kept (a plain `ObjectMapper`), times in ms, `progress` null
before the job starts and "" once it failed (`Task.fail`), `description` the proxy's own
(`/imagine <prompt>`, `/blend <id> <n>`, `/describe <id>.png`, `/up <parent> U1|V1|R`).
"""

from __future__ import annotations

from typing import Any

from mockserver.families.midjourney.wire import NOT_START, account_ids, image_link
from mockserver.tasks import Phase, TaskView
from mockserver.tasks.engine import RenderContext

_CHANGE_LETTER = {"UPSCALE": "U", "VARIATION": "V"}


def _ms(t: float | None) -> int | None:
    return None if t is None else round(t * 1000)


def proxy_description(view: TaskView) -> str:
    """The command midjourney-proxy records as the task's description (SubmitController)."""
    record, data = view.record, view.record.data
    prompt = str(data.get("prompt", ""))
    if record.kind == "IMAGINE" and not record.parent:
        return f"/imagine {prompt}"
    if record.kind == "BLEND":
        return f"/blend {record.id} {int(data.get('images', 2))}"
    if record.kind == "DESCRIBE":
        return f"/describe {record.id}.png"
    if record.kind == "REROLL" and record.parent:
        return f"/up {record.parent} R"
    if record.kind in _CHANGE_LETTER and record.parent:
        return f"/up {record.parent} {_CHANGE_LETTER[record.kind]}{int(data.get('index', 1))}"
    return str(data.get("description", ""))


def proxy_task(view: TaskView, ctx: RenderContext) -> dict[str, Any]:
    """midjourney-proxy's `Task` as of `view` (the callback body)."""
    record, data = view.record, view.record.data
    succeeded, failed = view.phase is Phase.SUCCEEDED, view.phase is Phase.FAILED
    started = view.status != NOT_START
    properties: dict[str, Any] = {
        "notifyHook": record.notify_hook or "",
        "discordInstanceId": account_ids(ctx.settings.seed)["discordInstanceId"],
    }
    if started:
        properties["finalPrompt"] = str(data.get("finalPrompt", data.get("prompt", "")))
    if succeeded and data.get("hash"):
        properties["messageHash"] = str(data["hash"])
    image = data.get("image") or {}
    previewing = view.progress > 0 and not view.terminal and image.get("kind") != "upload"
    progress: str | None = None
    if failed:
        progress = ""
    elif succeeded:
        progress = "100%"
    elif started:
        progress = f"{view.progress}%"
    return {
        "id": record.id,
        "properties": properties,
        "action": record.kind,
        "status": view.status,
        "prompt": str(data.get("prompt", "")),
        "promptEn": str(data.get("promptEn", "")),
        "description": proxy_description(view),
        "state": str(data.get("state", "")),
        "submitTime": _ms(record.submitted_at),
        "startTime": _ms(view.started_at),
        "finishTime": _ms(view.finished_at),
        "imageUrl": image_link(ctx.base_url, record.id) if image and (succeeded or previewing) else None,
        "progress": progress,
        "failReason": (view.detail or "") if failed else None,
    }
