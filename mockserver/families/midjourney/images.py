"""The pictures Midjourney tasks produce: 2×2 grids, single upscales, blurred previews while a job runs,
and the images clients uploaded. Deterministic from the task; encoded once and kept in the media cache.

A grid's tile i has the seed `"<task seed>:<i>"`; upscaling tile i draws the same seed larger, so U2
of a grid shows the picture in the grid's second tile, only bigger.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Mapping
from typing import Any

import orjson
from PIL import Image, ImageFilter

from mockserver import media
from mockserver.content.images import draw_image, encode
from mockserver.families.midjourney.wire import IN_PROGRESS
from mockserver.tasks import Phase, TaskView

TILE_LONG_SIDE = 512
MAX_SIDE = 2048
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w-]+=[^;,]*)*;base64,(?P<data>.*)$", re.DOTALL)


def parse_data_url(text: Any) -> tuple[str, bytes] | None:
    """(mime type, bytes) of a `data:<mime>;base64,<data>` string, or None when it is not one."""
    if not isinstance(text, str):
        return None
    match = _DATA_URL.match(text.strip())
    if not match:
        return None
    payload = re.sub(r"\s+", "", match.group("data"))
    if not payload:
        return None
    try:
        raw = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return match.group("mime") or "application/octet-stream", raw


def is_base64(text: Any) -> bool:
    """A data URL or plain base64 (a modal's mask may come either way)."""
    if parse_data_url(text) is not None:
        return True
    if not isinstance(text, str) or not text.strip():
        return False
    payload = re.sub(r"\s+", "", text)
    try:
        base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def tile_size(ratio: float) -> tuple[int, int]:
    """One grid tile for an aspect ratio (width ÷ height), the long side 512 px, sides multiples of 8."""
    if ratio >= 1:
        return TILE_LONG_SIDE, max(8, round(TILE_LONG_SIDE / ratio / 8) * 8)
    return max(8, round(TILE_LONG_SIDE * ratio / 8) * 8), TILE_LONG_SIDE


def grid_spec(seed: str, ratio: float) -> dict[str, Any]:
    return {"kind": "grid", "seed": seed, "ratio": ratio}


def single_spec(seed: str, ratio: float, scale: int = 2) -> dict[str, Any]:
    return {"kind": "single", "seed": seed, "ratio": ratio, "scale": scale}


def upload_spec(field: str = "base64") -> dict[str, Any]:
    return {"kind": "upload", "field": field}


def _draw(spec: Mapping[str, Any]) -> Image.Image:
    tw, th = tile_size(float(spec.get("ratio", 1.0)))
    seed = str(spec["seed"])
    if spec["kind"] == "grid":
        grid = Image.new("RGB", (tw * 2, th * 2))
        for i in range(4):
            grid.paste(draw_image(tw, th, seed=tile_seed(seed, i + 1)), ((i % 2) * tw, (i // 2) * th))
        return grid
    scale = int(spec.get("scale", 2))
    w, h = tw * scale, th * scale
    shrink = max(w, h) / MAX_SIDE
    if shrink > 1:
        w, h = round(w / shrink), round(h / shrink)
    return draw_image(w, h, seed=seed)


def tile_seed(seed: str, index: int) -> str:
    """The seed of tile `index` (1..4) of the grid drawn from `seed`."""
    return f"{seed}:{index}"


def _preview(image: Image.Image, progress: int) -> Image.Image:
    """What a job shows part way: smaller and blurred, sharper as progress rises."""
    small = image.resize((max(1, image.width // 2), max(1, image.height // 2)))
    radius = max(0.5, (100 - progress) / 6)
    return small.filter(ImageFilter.GaussianBlur(radius))


def task_image(view: TaskView) -> tuple[bytes, str] | None:
    """The image a task shows right now: final on success, a preview while in progress, else None."""
    record = view.record
    spec = record.data.get("image")
    if not spec:
        return None
    succeeded = view.phase is Phase.SUCCEEDED
    if spec["kind"] == "upload":
        if not succeeded:
            return None
        decoded = parse_data_url(record.request.get(str(spec.get("field", "base64"))))
        if decoded is None:
            return None
        mime, raw = decoded
        return raw, mime if mime.startswith("image/") else "application/octet-stream"
    if not succeeded and not (view.status == IN_PROGRESS and view.progress > 0):
        return None
    stage = "final" if succeeded else str(view.progress)
    key = "mjimage:" + orjson.dumps(spec, option=orjson.OPT_SORT_KEYS).decode() + ":" + stage

    def make() -> tuple[bytes, str]:
        image = _draw(spec)
        if not succeeded:
            image = _preview(image, view.progress)
        return encode(image, "png"), "image/png"

    return media.CACHE.get_or_make(key, make)


def image_size(png: bytes) -> tuple[int, int]:
    """Width and height of encoded image bytes (tests and docs use it)."""
    with Image.open(io.BytesIO(png)) as image:
        return image.size
