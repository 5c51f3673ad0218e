"""Images made from an upload: decode and check the upload, keep a thumbnail, redraw edits from it.

An edit, an upscale or a cut-out must look like its source, yet its link must stay self-describing
(any worker, any restart, same bytes). So the recipe carries a 16×16 thumbnail of the upload
(`thumbnail_token`, zlib + base64, about a kilobyte) and `draw_derived` scales it up to the output
size and applies the operation: `edit` adds a few seeded shapes, `upscale` smooths, `cutout` makes
the background (the colour of the border) transparent.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import random
import warnings
import zlib
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from mockserver.content.seeded import seeded_rng

THUMB = 16
MAX_UPLOAD_SIDE = 16_384
MAX_UPLOAD_PIXELS = 64_000_000
PIL_FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tiff"}


class NotAnImage(ValueError):
    """An upload is not a decodable image (or is too large to be one); the message says why."""


@dataclasses.dataclass(frozen=True)
class UploadedImage:
    """A decoded upload: its format (png, jpeg, webp, ...), size, whether it has alpha, and the pixels."""

    fmt: str
    width: int
    height: int
    has_alpha: bool
    image: Image.Image

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def open_image(data: bytes) -> UploadedImage:
    """Decode an uploaded image fully; raise `NotAnImage` with a reason when it is not one."""
    if not data:
        raise NotAnImage("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width > MAX_UPLOAD_SIDE or height > MAX_UPLOAD_SIDE or width * height > MAX_UPLOAD_PIXELS:
                raise NotAnImage(f"the image is too large ({width}x{height})")
            fmt = PIL_FORMATS.get(image.format or "", (image.format or "unknown").lower())
            image.load()
    except NotAnImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NotAnImage("the image is too large") from None
    except Exception:  # Pillow raises many kinds for undecodable bytes
        raise NotAnImage("the file is not a decodable image (png, jpeg or webp)") from None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    return UploadedImage(fmt, width, height, has_alpha, image)


def thumbnail_token(image: Image.Image) -> str:
    """A 16×16 RGBA thumbnail of `image`, compressed and base64-encoded for a media recipe."""
    small = image.convert("RGBA").resize((THUMB, THUMB), Image.Resampling.BOX)
    return base64.urlsafe_b64encode(zlib.compress(small.tobytes(), 9)).decode()


def _thumbnail(token: str) -> Image.Image:
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(token.encode()))
    except zlib.error as exc:
        raise ValueError(f"malformed source thumbnail ({exc})") from None
    if len(raw) != THUMB * THUMB * 4:
        raise ValueError("malformed source thumbnail")
    return Image.frombytes("RGBA", (THUMB, THUMB), raw)


def source_pixels(token: str) -> list[tuple[int, int, int, int]]:
    """The RGBA pixels of a source thumbnail, row by row."""
    data = _thumbnail(token).tobytes()
    return [(data[i], data[i + 1], data[i + 2], data[i + 3]) for i in range(0, len(data), 4)]


def _rng(seed: Any) -> random.Random:
    return seeded_rng(f"derived|{seed}")


def _edit(image: Image.Image, seed: Any) -> Image.Image:
    """The source with a few seeded, half-transparent shapes drawn over it (what "the model changed")."""
    rng = _rng(seed)
    width, height = image.size
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for i in range(3):
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
        r = rng.uniform(0.08, 0.2) * min(width, height)
        fill = (rng.randint(30, 230), rng.randint(30, 230), rng.randint(30, 230), 170)
        box = (cx - r, cy - r, cx + r, cy + r)
        if i % 2:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    return Image.alpha_composite(image, overlay)


def _cutout(image: Image.Image) -> Image.Image:
    """Make the background transparent: pixels close to the border's average colour, else an oval frame."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    border: list[tuple[int, int, int]] = [
        rgb.getpixel((x, y))  # type: ignore[misc]
        for x in (0, width - 1)
        for y in (0, height // 2, height - 1)
    ]
    mean = (
        sum(p[0] for p in border) // len(border),
        sum(p[1] for p in border) // len(border),
        sum(p[2] for p in border) // len(border),
    )
    difference = ImageChops.difference(rgb, Image.new("RGB", rgb.size, mean))
    distance = difference.convert("L").point(lambda v: 255 if v > 12 else 0)
    histogram = distance.histogram()
    transparent = histogram[0] / (width * height)
    if not 0.05 <= transparent <= 0.95:
        distance = Image.new("L", rgb.size, 0)
        ImageDraw.Draw(distance).ellipse((width * 0.15, height * 0.1, width * 0.85, height * 0.9), fill=255)
    out = rgb.convert("RGBA")
    out.putalpha(distance)
    return out


def draw_derived(width: int, height: int, *, source: str, seed: Any, mode: str) -> Image.Image:
    """An image of `width`×`height` drawn from a source thumbnail by `mode` (edit, upscale, cutout)."""
    if not (1 <= width <= 4096 and 1 <= height <= 4096):
        raise ValueError(f"image size {width}x{height} is outside 1..4096")
    base = _thumbnail(source).resize((width, height), Image.Resampling.BICUBIC)
    if mode == "upscale":
        return base.filter(ImageFilter.SMOOTH)
    if mode == "cutout":
        return _cutout(base)
    if mode == "edit":
        return _edit(base, seed)
    raise ValueError(f"unknown derived-image mode {mode!r}")
