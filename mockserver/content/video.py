"""Deterministic video (PyAV): small H.264 MP4 clips of a requested aspect ratio and length.

Every clip is a few hundred pixels on its long side at a low frame rate, so a ten-second video
encodes in tens of milliseconds and weighs tens of kilobytes, yet it is a real MP4 any player (and
PyAV) opens, with the aspect ratio and duration the request asked for. `video_url` is a
self-describing link the emulator serves (see `mockserver.media`); the media cache keeps the bytes,
so a link is encoded once however often it is downloaded.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator, Mapping
from typing import Any

import av
from PIL import Image, ImageDraw

from mockserver.content.links import media_url
from mockserver.content.seeded import seeded_rng

CONTENT_TYPE = "video/mp4"
LONG_SIDE = 320
DEFAULT_FPS = 8
MAX_SECONDS = 600.0
# Bound the encode cost of one link (ten minutes at 2 fps): frames, and pixels × frames, which is what
# the CPU time follows (1280×720 for 60 s at 8 fps; 320×180 for the full ten minutes at 2 fps). Frames
# are streamed into the encoder, so memory stays flat whatever the length.
MAX_FRAMES = 1200
MAX_PIXEL_FRAMES = 1280 * 720 * 480
MAX_SIDE = 1280
MIN_SIDE = 16
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:xX/]\s*(\d+(?:\.\d+)?)\s*$")


def parse_aspect(aspect: str | float | int | None, default: float = 16 / 9) -> float:
    """Width ÷ height from `"16:9"`, `"1280:768"`, `"720x1280"` or a number; `default` when absent or unparsable."""
    if aspect is None or isinstance(aspect, bool):
        return default
    if isinstance(aspect, (int, float)):
        return float(aspect) if aspect > 0 else default
    match = _RATIO.match(str(aspect))
    if not match:
        return default
    width, height = float(match.group(1)), float(match.group(2))
    if width <= 0 or height <= 0:
        return default
    return width / height


def _even(value: float) -> int:
    """H.264 in yuv420p needs even sides."""
    return max(MIN_SIDE, round(value / 2) * 2)


def video_size(
    aspect: str | float | int | None, *, long_side: int = LONG_SIDE, default: float = 16 / 9
) -> tuple[int, int]:
    """A small (width, height) with the aspect ratio of `aspect`, the long side `long_side` pixels."""
    ratio = min(max(parse_aspect(aspect, default), 0.1), 10.0)
    if ratio >= 1:
        return _even(long_side), _even(long_side / ratio)
    return _even(long_side * ratio), _even(long_side)


def _rng(seed: Any) -> random.Random:
    return seeded_rng(f"video|{seed}")


def _frames(width: int, height: int, count: int, seed: Any) -> Iterator[Image.Image]:
    """`count` frames of a simple animation: a sky/ground scene and two shapes crossing it, made one at
    a time (a list of them was gigabytes for a long, large clip)."""
    rng = _rng(seed)
    sky = (rng.randint(30, 200), rng.randint(30, 200), rng.randint(60, 230))
    ground = (rng.randint(20, 160), rng.randint(60, 200), rng.randint(20, 120))
    colors = [(rng.randint(150, 255), rng.randint(50, 255), rng.randint(0, 200)) for _ in range(2)]
    horizon = int(height * rng.uniform(0.5, 0.7))
    radius = max(3, int(min(width, height) * rng.uniform(0.08, 0.16)))
    speeds = [rng.uniform(0.6, 1.4), rng.uniform(0.3, 0.9)]
    for i in range(count):
        image = Image.new("RGB", (width, height), sky)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, horizon, width, height), fill=ground)
        t = i / max(1, count - 1)
        for k, color in enumerate(colors):
            x = (t * speeds[k] * width + k * width / 3) % (width + 2 * radius) - radius
            y = horizon - radius - k * radius * 1.5
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)
        draw.text((4, 4), f"{i + 1}/{count}", fill=(255, 255, 255))
        yield image


def check_video(width: int, height: int, seconds: float, fps: int) -> int:
    """The frame count of a clip within the limits; ValueError naming the limit otherwise."""
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE) or width % 2 or height % 2:
        raise ValueError(f"video size {width}x{height} must be even and within {MIN_SIDE}..{MAX_SIDE}")
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"video length {seconds} is outside 0..{MAX_SECONDS:g} seconds")
    if not 1 <= fps <= 30:
        raise ValueError(f"frame rate {fps} is outside 1..30")
    count = max(1, round(seconds * fps))
    if count > MAX_FRAMES:
        raise ValueError(f"{count} frames is more than {MAX_FRAMES}: lower the frame rate or the length")
    if width * height * count > MAX_PIXEL_FRAMES:
        raise ValueError(
            f"{width}x{height} for {count} frames is more than {MAX_PIXEL_FRAMES} pixels in all:"
            " lower the size, the frame rate or the length"
        )
    return count


def render_video(width: int, height: int, seconds: float, *, seed: Any, fps: int = DEFAULT_FPS) -> bytes:
    """Bytes of an H.264 MP4 of exactly `width`×`height` lasting `seconds` (rounded to whole frames)."""
    count = check_video(width, height, seconds, fps)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "35", "tune": "zerolatency"}
        for image in _frames(width, height, count, seed):
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def video_recipe(width: int, height: int, seconds: float, seed: Any, fps: int = DEFAULT_FPS) -> dict[str, Any]:
    """The media recipe of a clip (what a `video_url` link encodes)."""
    return {"w": int(width), "h": int(height), "d": round(float(seconds), 3), "s": str(seed), "r": int(fps)}


def video_url(
    base_url: str,
    *,
    aspect: str | float | int | None = None,
    seconds: float = 5.0,
    seed: Any,
    size: tuple[int, int] | None = None,
    fps: int = DEFAULT_FPS,
) -> str:
    """A link the emulator serves with an MP4 of this aspect ratio (or exact `size`) and length."""
    width, height = size or video_size(aspect)
    return media_url(base_url, "video", video_recipe(width, height, seconds, seed, fps), "mp4")


def from_recipe(recipe: Mapping[str, Any]) -> tuple[bytes, str]:
    data = render_video(
        int(recipe["w"]), int(recipe["h"]), float(recipe["d"]), seed=recipe["s"], fps=int(recipe.get("r", DEFAULT_FPS))
    )
    return data, CONTENT_TYPE
