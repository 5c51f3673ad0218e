"""Midjourney submissions that start a new job: imagine, blend, describe, shorten, face swap, video, and
the image upload (which finishes at once)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from PIL import Image, UnidentifiedImageError
from starlette.responses import Response

from mockserver.families.midjourney import text
from mockserver.families.midjourney.images import grid_spec, parse_data_url, single_spec, upload_spec
from mockserver.families.midjourney.jobs import (
    banned,
    base_data,
    new_task_id,
    owner,
    refuse,
    submit_job,
    succeeded_parent,
)
from mockserver.families.midjourney.plans import done_plan
from mockserver.families.midjourney.wire import (
    PARENT_NOT_CHANGEABLE,
    SUBMIT_SUCCESS,
    SUCCESS,
    VALIDATION_ERROR,
    VENDOR,
    image_link,
    relay_error,
)
from mockserver.families.midjourney.wire import submit_result as envelope
from mockserver.pipeline import Call
from mockserver.tasks.engine import engine as task_engine

BLEND_RATIOS = {"PORTRAIT": 2 / 3, "SQUARE": 1.0, "LANDSCAPE": 3 / 2}
VIDEO_SECONDS = 5.0
VIDEO_EXTEND_SECONDS = 4.0


def _body(call: Call) -> Mapping[str, Any]:
    return call.body if isinstance(call.body, Mapping) else {}


def _image_ratio(raw: bytes) -> float | None:
    """Width ÷ height of uploaded image bytes, or None when they are not an image Pillow reads."""
    try:
        with Image.open(io.BytesIO(raw)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return width / height if height else None


def _bad_base64(call: Call, items: list[Any]) -> Response | None:
    """Code 4 `base64格式错误` unless every item is a `data:<mime>;base64,...` URL."""
    if all(parse_data_url(item) is not None for item in items):
        return None
    return refuse(call, VALIDATION_ERROR, "base64格式错误")


def _mode(call: Call, prompt: str) -> str:
    return text.mode(prompt, call.path)


async def imagine(call: Call) -> Response:
    body = _body(call)
    if body.get("prompt") == "":
        # the gateway refuses an empty prompt before relaying (new-api RelayMidjourneySubmit); a blank
        # one reaches midjourney-proxy, which answers code 4 prompt不能为空
        raise relay_error("prompt_is_required")
    prompt = str(body.get("prompt") or "").strip()
    if not prompt:
        return refuse(call, VALIDATION_ERROR, "prompt不能为空")
    refused = banned(call, prompt) or _bad_base64(call, list(body.get("base64Array") or []))
    if refused is not None:
        return refused
    if body.get("base64") and parse_data_url(body["base64"]) is None:
        return refuse(call, VALIDATION_ERROR, "base64格式错误")
    data = base_data(call, prompt=prompt, bot_type=str(body.get("botType") or ""), mode=_mode(call, prompt))
    data |= {
        "version": text.version(prompt),
        "image": grid_spec(str(data["seed"]), text.aspect(prompt)),
        "buttons": "grid",
    }
    scenario = text.scenario_for(call, prompt, body.get("state"))
    return await submit_job(call, kind="IMAGINE", timing="grid", data=data, scenario=scenario)


async def blend(call: Call) -> Response:
    body = _body(call)
    images = list(body.get("base64Array") or [])
    if not 2 <= len(images) <= 5:
        return refuse(call, VALIDATION_ERROR, "base64List参数错误")
    refused = _bad_base64(call, images)
    if refused is not None:
        return refused
    ratio = BLEND_RATIOS.get(str(body.get("dimensions") or "SQUARE"), 1.0)
    data = base_data(call, bot_type=str(body.get("botType") or ""), mode=_mode(call, ""))
    data |= {"image": grid_spec(str(data["seed"]), ratio), "buttons": "grid", "images": len(images)}
    return await submit_job(
        call, kind="BLEND", timing="grid", data=data, scenario=text.scenario_for(call, body.get("state"))
    )


async def describe(call: Call) -> Response:
    body = _body(call)
    source = body.get("base64")
    if not str(source or "").strip():
        return refuse(call, VALIDATION_ERROR, "base64不能为空")
    decoded = parse_data_url(source)
    if decoded is None:
        return refuse(call, VALIDATION_ERROR, "base64格式错误")
    ratio = _image_ratio(decoded[1]) or 1.0
    shown = f"{round(ratio * 100)}:100" if abs(ratio - 1.0) > 0.01 else "1:1"
    data = base_data(call, bot_type=str(body.get("botType") or ""), mode=_mode(call, ""))
    data |= text.describe_fields(text.describe_suggestions(call.rng, shown))
    data |= {"image": upload_spec("base64"), "buttons": "describe"}
    return await submit_job(
        call, kind="DESCRIBE", timing="text", data=data, scenario=text.scenario_for(call, body.get("state"))
    )


async def shorten(call: Call) -> Response:
    body = _body(call)
    prompt = str(body.get("prompt") or "").strip()
    if not prompt:
        return refuse(call, VALIDATION_ERROR, "prompt不能为空")
    refused = banned(call, prompt)
    if refused is not None:
        return refused
    data = base_data(call, prompt=prompt, bot_type=str(body.get("botType") or ""), mode=_mode(call, prompt))
    suggestions = text.shorten_suggestions(prompt, call.rng)
    data |= {"suggestions": suggestions, "finalPrompt": text.numbered(suggestions), "buttons": "shorten"}
    scenario = text.scenario_for(call, prompt, body.get("state"))
    return await submit_job(call, kind="SHORTEN", timing="text", data=data, scenario=scenario)


async def swap_face(call: Call) -> Response:
    body = _body(call)
    source, target = parse_data_url(body.get("sourceBase64")), parse_data_url(body.get("targetBase64"))
    if source is None or target is None:
        field = "sourceBase64" if source is None else "targetBase64"
        return refuse(call, VALIDATION_ERROR, f"{field}格式错误")
    ratio = _image_ratio(target[1]) or 1.0
    data = base_data(call, mode=_mode(call, ""))
    data |= {"image": single_spec(str(data["seed"]), ratio), "buttons": "none"}
    return await submit_job(
        call, kind="SWAP_FACE", timing="swap", data=data, scenario=text.scenario_for(call, body.get("state"))
    )


async def upload_discord_images(call: Call) -> Response:
    """Store each image and answer their URLs at once (`result` is an array), as new-api records UPLOAD."""
    body = _body(call)
    images = list(body.get("base64Array") or [])
    if not images:
        return refuse(call, VALIDATION_ERROR, "base64 参数错误")
    refused = _bad_base64(call, images)
    if refused is not None:
        return refused
    engine = task_engine(call.state)
    urls = []
    for item in images:
        record, _ = await engine.submit(
            vendor=VENDOR,
            kind="UPLOAD",
            id=lambda attempt: new_task_id(call),
            plan=done_plan(),
            now=call.now,
            request={"base64": item},
            owner=owner(call),
            data={"image": upload_spec("base64"), "buttons": "none", "description": SUBMIT_SUCCESS},
        )
        urls.append(image_link(call.settings.base_url, record.id))
    return call.json(envelope(SUCCESS, SUBMIT_SUCCESS, urls))


async def video(call: Call) -> Response:
    """Animate an image (`image` + `motion`), or extend a finished video (`action: extend`)."""
    body = _body(call)
    prompt = str(body.get("prompt") or "").strip()
    refused = banned(call, prompt) if prompt else None
    if refused is not None:
        return refused
    batch = int(body.get("batchSize") or 4)
    parent_id: str | None = None
    seconds = VIDEO_SECONDS
    if body.get("action") == "extend":
        parent, _ = await succeeded_parent(call, body.get("taskId") or body.get("task_id"))
        if parent.kind != "VIDEO":
            return refuse(call, VALIDATION_ERROR, PARENT_NOT_CHANGEABLE)
        count = int((parent.data.get("video") or {}).get("count", 4))
        try:
            index = int(body.get("index"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < count:
            return refuse(call, VALIDATION_ERROR, f"index参数错误: 0..{count - 1}")
        ratio = float(parent.data.get("ratio", 1.0))
        prompt = prompt or str(parent.data.get("prompt", ""))
        seconds = float((parent.data.get("video") or {}).get("seconds", VIDEO_SECONDS)) + VIDEO_EXTEND_SECONDS
        parent_id = parent.id
    else:
        image = body.get("image")
        decoded = parse_data_url(image)
        if str(image).startswith("data:") and decoded is None:
            return refuse(call, VALIDATION_ERROR, "image格式错误")
        ratio = (_image_ratio(decoded[1]) if decoded else None) or text.aspect(prompt)
    data = base_data(call, prompt=prompt, mode=_mode(call, prompt))
    data |= {
        "ratio": ratio,
        "motion": str(body.get("motion") or "low"),
        "image": single_spec(str(data["seed"]), ratio, scale=1),
        "video": {"count": batch, "seconds": seconds, "seed": str(data["seed"]), "aspect": ratio},
        "buttons": "none",
    }
    scenario = text.scenario_for(call, prompt, body.get("state"))
    return await submit_job(call, kind="VIDEO", timing="video", data=data, scenario=scenario, parent=parent_id)
