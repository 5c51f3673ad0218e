"""Ideogram 3.0 (generate, edit, remix) and the legacy upscale, relayed by the gateway under `/ideogram/`.

Answers use Ideogram's own envelope `{created, data[{prompt, resolution, is_image_safe, seed, url,
style_type}]}` with PNG links the emulator serves; edits, remixes and upscales are drawn from the
uploaded picture. Refusals are the gateway's OpenAI-style errors; a prompt with a banned word is a
422, as Ideogram answers a prompt that fails its safety check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mockserver.content import images as pictures
from mockserver.content.derived import UploadedImage, thumbnail_token
from mockserver.errors import ApiError
from mockserver.families.shared.uploads import decode_image, read_files, require_file
from mockserver.pipeline import Call, Endpoint

# Ideogram 3.0's output resolutions (its API reference), and the size of each aspect ratio.
_V3_RESOLUTIONS_TEXT = """
    512x1536 576x1408 576x1472 576x1536 640x1344 640x1408 640x1472 640x1536 704x1152 704x1216 704x1280
    704x1344 704x1408 704x1472 736x1312 768x1088 768x1216 768x1280 768x1344 800x1280 832x960 832x1024
    832x1088 832x1152 832x1216 832x1248 864x1152 896x960 896x1024 896x1088 896x1120 896x1152 960x832
    960x896 960x1024 960x1088 1024x832 1024x896 1024x960 1024x1024 1088x768 1088x832 1088x896 1088x960
    1120x896 1152x704 1152x832 1152x864 1152x896 1216x704 1216x768 1216x832 1248x832 1280x704 1280x768
    1280x800 1312x736 1344x640 1344x704 1344x768 1408x576 1408x640 1408x704 1472x576 1472x640 1472x704
    1536x512 1536x576 1536x640
"""
V3_RESOLUTIONS = frozenset(_V3_RESOLUTIONS_TEXT.split())
ASPECT_SIZES = {
    "1x1": "1024x1024",
    "16x9": "1312x736",
    "9x16": "736x1312",
    "4x3": "1152x864",
    "3x4": "864x1152",
    "3x2": "1248x832",
    "2x3": "832x1248",
    "16x10": "1280x800",
    "10x16": "800x1280",
    "2x1": "1408x704",
    "1x2": "704x1408",
    "3x1": "1536x512",
    "1x3": "512x1536",
    "5x4": "1120x896",
    "4x5": "896x1120",
}
_STYLE_CODE = re.compile(r"^[0-9A-Fa-f]{8}$")
_FLOURISHES = (
    "soft natural light, shallow depth of field",
    "crisp details and a balanced, centered composition",
    "warm tones with gentle shadows",
    "high contrast and clean, modern lines",
    "a calm atmosphere with muted colours",
)
MAX_UPSCALE_SIDE = 4096


def _created(call: Call) -> str:
    return dt.datetime.fromtimestamp(call.now, dt.UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def _size(value: str) -> tuple[int, int]:
    width, height = value.split("x")
    return int(width), int(height)


def _check_safety(call: Call, prompt: str) -> None:
    low = prompt.lower()
    if any(word.lower() in low for word in call.settings.banned_words):
        raise ApiError(422, "Prompt or provided image failed the safety checks", param="prompt", code="unsafe_prompt")


def _check_style(body: dict[str, Any], uploads: int) -> None:
    codes = body.get("style_codes")
    if codes is None:
        return
    values = codes if isinstance(codes, list) else [c.strip() for c in str(codes).split(",")]
    bad = [c for c in values if not _STYLE_CODE.match(str(c))]
    if bad:
        raise ApiError(400, f"style_codes must be 8 hexadecimal digits each; got {bad[0]!r}", param="style_codes")
    if body.get("style_type") is not None or uploads:
        raise ApiError(
            400, "style_codes cannot be combined with style_type or style_reference_images", param="style_codes"
        )


def _check_palette(body: dict[str, Any]) -> None:
    raw = body.get("color_palette")
    if raw is None:
        return
    try:
        palette = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, 'color_palette must be JSON such as {"name": "EMBER"}', param="color_palette") from None
    if not isinstance(palette, dict) or not ("name" in palette or isinstance(palette.get("members"), list)):
        raise ApiError(400, "color_palette needs a 'name' or a 'members' list", param="color_palette")


def _output_size(body: dict[str, Any]) -> tuple[int, int]:
    resolution = body.get("resolution")
    if resolution is not None:
        if body.get("aspect_ratio") is not None:
            raise ApiError(400, "resolution and aspect_ratio cannot be used together", param="resolution")
        if resolution not in V3_RESOLUTIONS:
            raise ApiError(
                400,
                f"resolution '{resolution}' is not one of Ideogram 3.0's resolutions (e.g. 1024x1024, 1312x736)",
                param="resolution",
            )
        return _size(str(resolution))
    return _size(ASPECT_SIZES[str(body.get("aspect_ratio") or "1x1")])


def _seed(call: Call, body: dict[str, Any]) -> int:
    seed = body.get("seed")
    return int(seed) if isinstance(seed, int) else call.rng.randint(0, 2**31 - 1)


def _final_prompt(prompt: str, magic: str, seed: int) -> str:
    """The prompt Ideogram reports: Magic Prompt (AUTO / ON) extends it with a few descriptive words."""
    if magic == "OFF":
        return prompt
    flourish = _FLOURISHES[seed % len(_FLOURISHES)]
    return f"{prompt.strip().rstrip('.')}, {flourish}."


async def _answer(
    call: Call,
    *,
    prompt: str,
    magic: str,
    size: tuple[int, int],
    count: int,
    seed: int,
    style_type: str | None,
    source: UploadedImage | None = None,
    mode: str = "edit",
) -> Response:
    width, height = size
    token = await run_in_threadpool(thumbnail_token, source.image) if source else None
    base = call.settings.base_url
    items = []
    for i in range(count):
        image_seed = (seed + i) % 2**31
        recipe = pictures.image_recipe(
            width, height, seed=f"ideogram|{image_seed}|{prompt}", source=token, mode=mode if token else None
        )
        item: dict[str, Any] = {
            "prompt": _final_prompt(prompt, magic, image_seed) if prompt else "",
            "resolution": f"{width}x{height}",
            "is_image_safe": True,
            "seed": image_seed,
            "url": pictures.recipe_url(base, recipe),
        }
        if style_type is not None:
            item["style_type"] = "GENERAL" if style_type == "AUTO" else style_type
        items.append(item)
    return call.json({"created": _created(call), "data": items})


async def _style_uploads(call: Call) -> int:
    uploads = await read_files(call, "style_reference_images", "style_reference_images[]")
    for upload in uploads:
        await decode_image(upload)
    return len(uploads)


async def _common(call: Call) -> tuple[dict[str, Any], str, int, int]:
    """Checks every v3 operation shares; returns (body, prompt, seed, num_images)."""
    body: dict[str, Any] = call.body
    prompt = str(body["prompt"])
    _check_safety(call, prompt)
    _check_style(body, await _style_uploads(call))
    _check_palette(body)
    return body, prompt, _seed(call, body), int(body.get("num_images") or 1)


async def generate(call: Call) -> Response:
    body, prompt, seed, count = await _common(call)
    size = _output_size(body)
    return await _answer(
        call,
        prompt=prompt,
        magic=str(body.get("magic_prompt") or "AUTO"),
        size=size,
        count=count,
        seed=seed,
        style_type=str(body.get("style_type") or "GENERAL"),
    )


async def edit(call: Call) -> Response:
    body, prompt, seed, count = await _common(call)
    image = await decode_image(await require_file(call, "image"))
    mask = await decode_image(await require_file(call, "mask"))
    if mask.size != image.size:
        raise ApiError(
            400,
            f"mask size {mask.width}x{mask.height} does not match the image size {image.width}x{image.height}",
            param="mask",
        )
    return await _answer(
        call,
        prompt=prompt,
        magic=str(body.get("magic_prompt") or "AUTO"),
        size=image.size,
        count=count,
        seed=seed,
        style_type=str(body.get("style_type") or "GENERAL"),
        source=image,
    )


async def remix(call: Call) -> Response:
    body, prompt, seed, count = await _common(call)
    image = await decode_image(await require_file(call, "image"))
    return await _answer(
        call,
        prompt=prompt,
        magic=str(body.get("magic_prompt") or "AUTO"),
        size=_output_size(body),
        count=count,
        seed=seed,
        style_type=str(body.get("style_type") or "GENERAL"),
        source=image,
    )


def _image_request(call: Call) -> dict[str, Any]:
    try:
        request = orjson.loads(call.body["image_request"])
    except orjson.JSONDecodeError:
        raise ApiError(400, "image_request must be a JSON object", param="image_request") from None
    if not isinstance(request, dict):
        raise ApiError(400, "image_request must be a JSON object", param="image_request")
    for key in ("resemblance", "detail"):
        value = request.get(key, 50)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
            raise ApiError(400, f"image_request.{key} must be an integer in 1..100", param=f"image_request.{key}")
    magic = request.get("magic_prompt_option", "AUTO")
    if magic not in ("AUTO", "ON", "OFF"):
        raise ApiError(
            400, "image_request.magic_prompt_option must be AUTO, ON or OFF", param="image_request.magic_prompt_option"
        )
    seed = request.get("seed")
    if seed is not None and (not isinstance(seed, int) or not 0 <= seed <= 2147483647):
        raise ApiError(400, "image_request.seed must be an integer in 0..2147483647", param="image_request.seed")
    return request


async def upscale(call: Call) -> Response:
    request = _image_request(call)
    upload = await require_file(call, "image_file")
    image = await decode_image(upload)
    longest = max(image.width, image.height)
    if longest >= MAX_UPSCALE_SIDE:
        raise ApiError(400, f"the image is already {longest} pixels on its longer side", param="image_file")
    scale = min(2.0, MAX_UPSCALE_SIDE / longest)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    prompt = str(request.get("prompt") or "")
    _check_safety(call, prompt)
    digest = hashlib.blake2b(upload.data, digest_size=4).digest()
    seed = int(request["seed"]) if "seed" in request else int.from_bytes(digest, "big") >> 1
    magic = str(request.get("magic_prompt_option", "AUTO"))
    return await _answer(
        call, prompt=prompt, magic=magic, size=size, count=1, seed=seed, style_type=None, source=image, mode="upscale"
    )


ROUTES = [
    Endpoint("ideogram_v3_generate", generate),
    Endpoint("ideogram_v3_edit", edit),
    Endpoint("ideogram_v3_remix", remix),
    Endpoint("ideogram_upscale", upscale),
]
