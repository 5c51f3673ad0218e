"""Self-describing media links: `<base>/__mock/media/<kind>/<token>.<ext>`, the token a recipe.

Content modules make links with `media_url`; `mockserver.media` serves them by decoding the recipe and
running the kind's generator, so any worker (or a restarted server) produces the same bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson


def encode_recipe(recipe: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(recipe, option=orjson.OPT_SORT_KEYS)).rstrip(b"=").decode()


def decode_recipe(token: str) -> dict[str, Any]:
    padded = token + "=" * (-len(token) % 4)
    data = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    if not isinstance(data, dict):
        raise ValueError("recipe is not an object")
    return data


def media_url(base_url: str, kind: str, recipe: Mapping[str, Any], ext: str) -> str:
    """The absolute link for a piece of media (`base_url` is the emulator's public URL)."""
    return f"{base_url.rstrip('/')}/__mock/media/{kind}/{encode_recipe(recipe)}.{ext}"
