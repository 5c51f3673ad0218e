"""Self-describing media links: `<base>/__mock/media/<kind>/<token>.<ext>`, the token a recipe.

Content modules make links with `media_url`; `mockserver.media` serves them by decoding the recipe and
running the kind's generator, so any worker (or a restarted server) produces the same bytes.

When the server has keys or a control token, links carry `?sig=`, an HMAC of the path, and the server
refuses unsigned or forged ones: a client cannot make the server encode media it was not handed a link
to. The signer is set per request (`LINK_SIGNER`, a context variable; see mockserver.gateway.signing),
so the many content modules that build links need not be told about it.
"""

from __future__ import annotations

import base64
import contextvars
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

# Signs a link's path when the server has keys (`--api-key`/`--keys`): set by the gateway for each call
# and for the callback dispatcher, so every link handed out carries `?sig=` (see mockserver.gateway.signing).
LINK_SIGNER: contextvars.ContextVar[Callable[[str], str] | None] = contextvars.ContextVar(
    "mockserver_link_signer", default=None
)


def signed(url: str) -> str:
    """`url` with the signature of its path when links are signed (unchanged otherwise)."""
    signer = LINK_SIGNER.get()
    if signer is None:
        return url
    return f"{url}{'&' if '?' in url else '?'}sig={signer(urlsplit(url).path)}"


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
    return signed(f"{base_url.rstrip('/')}/__mock/media/{kind}/{encode_recipe(recipe)}.{ext}")
