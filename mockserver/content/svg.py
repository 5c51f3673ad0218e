"""Deterministic SVG documents: vector art chosen by a seed, or a vector tracing of an upload's thumbnail.

`render_svg` returns the markup; `svg_url` is a self-describing media link the emulator serves.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from mockserver.content.derived import THUMB, source_pixels
from mockserver.content.links import media_url
from mockserver.content.seeded import seeded_rng

CONTENT_TYPE = "image/svg+xml"
MAX_SIDE = 8192


def _rng(seed: Any) -> random.Random:
    return seeded_rng(f"svg|{seed}")


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _traced(width: int, height: int, source: str) -> list[str]:
    """One rectangle per run of equal colour in each thumbnail row (transparent cells are left out)."""
    pixels = source_pixels(source)
    cell_w, cell_h = width / THUMB, height / THUMB
    shapes = []
    for y in range(THUMB):
        x = 0
        while x < THUMB:
            r, g, b, a = pixels[y * THUMB + x]
            run = 1
            while x + run < THUMB and pixels[y * THUMB + x + run] == (r, g, b, a):
                run += 1
            if a >= 128:
                shapes.append(
                    f'<rect x="{x * cell_w:.2f}" y="{y * cell_h:.2f}" width="{run * cell_w + 0.5:.2f}" '
                    f'height="{cell_h + 0.5:.2f}" fill="{_hex((r, g, b))}"/>'
                )
            x += run
    return shapes


def _drawn(width: int, height: int, seed: Any) -> list[str]:
    """A background, a horizon and a few circles, rectangles and a triangle in seeded colours."""
    rng = _rng(seed)
    colors = [_hex((rng.randint(20, 235), rng.randint(20, 235), rng.randint(20, 235))) for _ in range(6)]
    horizon = height * rng.uniform(0.45, 0.7)
    shapes = [
        f'<rect width="{width}" height="{height}" fill="{colors[0]}"/>',
        f'<rect y="{horizon:.1f}" width="{width}" height="{height - horizon:.1f}" fill="{colors[1]}"/>',
    ]
    side = min(width, height)
    for i in range(4):
        cx, cy, r = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height, rng.uniform(0.05, 0.2) * side
        fill = colors[2 + i % 4]
        if i % 2:
            shapes.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{fill}"/>')
        else:
            shapes.append(
                f'<rect x="{cx - r:.1f}" y="{cy - r * 0.6:.1f}" width="{2 * r:.1f}" height="{1.2 * r:.1f}" '
                f'rx="{r * 0.15:.1f}" fill="{fill}"/>'
            )
    ax, ay = rng.uniform(0.2, 0.8) * width, rng.uniform(0.15, 0.4) * height
    s = side * 0.12
    shapes.append(
        f'<path d="M{ax:.1f} {ay - s:.1f} L{ax + s:.1f} {ay + s:.1f} L{ax - s:.1f} {ay + s:.1f} Z" fill="{colors[5]}"/>'
    )
    return shapes


def render_svg(width: int, height: int, *, seed: Any, source: str | None = None) -> str:
    """An SVG document of `width`×`height`: drawn from `seed`, or traced from a source thumbnail."""
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"svg size {width}x{height} is outside 1..{MAX_SIDE}")
    shapes = _traced(width, height, source) if source else _drawn(width, height, seed)
    head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + head + "".join(shapes) + "</svg>\n"


def svg_recipe(width: int, height: int, *, seed: Any, source: str | None = None) -> dict[str, Any]:
    recipe: dict[str, Any] = {"w": width, "h": height, "s": str(seed)}
    if source is not None:
        recipe["t"] = source
    return recipe


def svg_url(base_url: str, recipe: Mapping[str, Any]) -> str:
    """A link the emulator serves the SVG of `recipe` at (`GET /__mock/media/svg/...`)."""
    return media_url(base_url, "svg", recipe, "svg")


def from_recipe(recipe: Mapping[str, Any]) -> tuple[bytes, str]:
    source = recipe.get("t")
    svg = render_svg(int(recipe["w"]), int(recipe["h"]), seed=recipe["s"], source=str(source) if source else None)
    return svg.encode(), CONTENT_TYPE
