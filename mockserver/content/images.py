"""Deterministic images (Pillow): the requested size and format, shapes and colours chosen by a seed.

`render_image` makes bytes; `image_url` makes a self-describing media link the emulator serves, so a
response can hand out URLs without storing anything (see `mockserver.media`). Images made *from* an
upload (edits, upscales, cut-outs) carry a tiny thumbnail of the upload in their recipe, so they still
look like their source and any worker can redraw them from the link alone (`image_recipe(source=...)`).
"""

from __future__ import annotations

import io
import random
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageDraw

from mockserver.content.derived import draw_derived
from mockserver.content.links import media_url
from mockserver.content.seeded import seeded_rng

FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "jpg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}
MAX_SIDE = 4096


def _rng(seed: Any) -> random.Random:
    return seeded_rng(str(seed))


def _palette(rng: random.Random) -> list[tuple[int, int, int]]:
    return [(rng.randint(20, 235), rng.randint(20, 235), rng.randint(20, 235)) for _ in range(6)]


def draw_image(width: int, height: int, *, seed: Any, alpha: bool = False, label: str | None = None) -> Image.Image:
    """A picture-like image: a two-tone background with a few shapes; transparent corners with `alpha`."""
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"image size {width}x{height} is outside 1..{MAX_SIDE}")
    rng = _rng(seed)
    colors = _palette(rng)
    mode = "RGBA" if alpha else "RGB"
    background = (*colors[0], 0) if alpha else colors[0]
    image = Image.new(mode, (width, height), background)
    draw = ImageDraw.Draw(image)
    # A horizon band and a handful of shapes make every seed look different at a glance.
    horizon = int(height * rng.uniform(0.45, 0.7))
    draw.rectangle((0, horizon, width, height), fill=(*colors[1], 255) if alpha else colors[1])
    for i in range(4):
        cx, cy = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
        r = rng.uniform(0.05, 0.22) * min(width, height)
        fill = colors[2 + i % 4]
        fill_value = (*fill, 255) if alpha else fill
        if i % 2:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill_value)
        else:
            draw.rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), fill=fill_value)
    if label:
        draw.text(
            (max(2, width // 40), max(2, height // 40)),
            label[:60],
            fill=(255, 255, 255, 255) if alpha else (255, 255, 255),
        )
    return image


def encode(image: Image.Image, fmt: str, quality: int | None = 85) -> bytes:
    """Encode with Pillow; JPEG drops alpha."""
    pil_format, _ = FORMATS[fmt]
    if pil_format == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    quality = 85 if quality is None else max(1, min(100, quality))
    kwargs: dict[str, Any] = {"quality": quality} if pil_format in ("JPEG", "WEBP") else {"compress_level": 1}
    image.save(out, pil_format, **kwargs)
    return out.getvalue()


def render_image(
    width: int, height: int, *, seed: Any, fmt: str = "png", alpha: bool = False, label: str | None = None
) -> bytes:
    """Bytes of a deterministic image of exactly `width`×`height` in `fmt` (png, jpeg, webp)."""
    if fmt not in FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}")
    return encode(draw_image(width, height, seed=seed, alpha=alpha, label=label), fmt)


def content_type(fmt: str) -> str:
    return FORMATS[fmt][1]


def image_recipe(
    width: int,
    height: int,
    *,
    seed: Any,
    fmt: str = "png",
    alpha: bool = False,
    quality: int | None = None,
    source: str | None = None,
    mode: str | None = None,
) -> dict[str, Any]:
    """The media recipe of an image: size, seed, format; optionally alpha, encoder quality, and the
    source thumbnail (`thumbnail_token`) and `mode` (edit, upscale, cutout) of an image made from an upload."""
    if fmt not in FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}")
    recipe: dict[str, Any] = {"w": width, "h": height, "s": str(seed), "f": fmt}
    if alpha:
        recipe["a"] = 1
    if quality is not None:
        recipe["q"] = quality
    if source is not None:
        recipe["t"] = source
        recipe["m"] = mode or "edit"
    return recipe


def recipe_url(base_url: str, recipe: Mapping[str, Any]) -> str:
    """The link the emulator serves a recipe's bytes at."""
    fmt = str(recipe.get("f", "png"))
    return media_url(base_url, "image", recipe, "jpg" if fmt == "jpeg" else fmt)


def image_url(base_url: str, width: int, height: int, *, seed: Any, fmt: str = "png", alpha: bool = False) -> str:
    """A link the emulator serves with exactly these bytes (`GET /__mock/media/image/...`)."""
    return recipe_url(base_url, image_recipe(width, height, seed=seed, fmt=fmt, alpha=alpha))


def render_recipe(recipe: Mapping[str, Any]) -> bytes:
    """The bytes of a recipe (uncached; `mockserver.media.render("image", recipe)` caches)."""
    fmt = str(recipe.get("f", "png"))
    if fmt not in FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}")
    width, height, alpha = int(recipe["w"]), int(recipe["h"]), bool(recipe.get("a"))
    quality = int(recipe["q"]) if "q" in recipe else None
    if "t" in recipe:
        image = draw_derived(width, height, source=str(recipe["t"]), seed=recipe["s"], mode=str(recipe.get("m")))
        image = image.convert("RGBA" if alpha else "RGB")
    else:
        image = draw_image(width, height, seed=recipe["s"], alpha=alpha)
    return encode(image, fmt, quality)


def from_recipe(recipe: Mapping[str, Any]) -> tuple[bytes, str]:
    fmt = str(recipe.get("f", "png"))
    return render_recipe(recipe), content_type(fmt)
