"""Self-describing media links: `<base>/__mock/media/<kind>/<token>.<ext>`, the token a recipe.

Content modules make links with `media_url`; `mockserver.media` serves them by decoding the recipe and
running the kind's generator, so any worker (or a restarted server) produces the same bytes.

When the server has a control token, links carry `?sig=`, an HMAC of the path under that token, and
the server refuses unsigned or forged ones: a client cannot make the server encode media it was not
handed a link to. The key is set per request (`SIGNING_KEY`, a context variable the pipeline sets),
so the many content modules that build links need not be told about it.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
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


SIGNING_KEY: contextvars.ContextVar[str | None] = contextvars.ContextVar("media_signing_key", default=None)


def link_signature(key: str, kind: str, name: str) -> str:
    """The `sig` of the link `/__mock/media/<kind>/<name>` under `key`."""
    return hmac.new(key.encode(), f"{kind}/{name}".encode(), hashlib.sha256).hexdigest()[:32]


def media_url(base_url: str, kind: str, recipe: Mapping[str, Any], ext: str) -> str:
    """The absolute link for a piece of media (`base_url` is the emulator's public URL), signed when
    the current request's server has a signing key."""
    name = f"{encode_recipe(recipe)}.{ext}"
    url = f"{base_url.rstrip('/')}/__mock/media/{kind}/{name}"
    key = SIGNING_KEY.get()
    return f"{url}?sig={link_signature(key, kind, name)}" if key else url
