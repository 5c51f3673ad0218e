"""Media the emulator hands out by URL: self-describing links, generated on demand, cached in memory.

A link is `<base>/__mock/media/<kind>/<token>.<ext>`, where the token encodes the recipe (size, seed,
format, ...). Any worker, and a restarted server, produces the same bytes for the same link, so no
file has to be stored. Content modules register a generator per kind with `register_media`.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.answers import JSONAnswer


@dataclasses.dataclass(frozen=True)
class MediaKind:
    """How to produce one kind of media from its recipe: `generate(recipe) -> (bytes, content_type)`."""

    name: str
    generate: Callable[[Mapping[str, Any]], tuple[bytes, str]]


KINDS: dict[str, MediaKind] = {}


def register_media(name: str, generate: Callable[[Mapping[str, Any]], tuple[bytes, str]]) -> None:
    """Add a media kind (called by content modules at import time)."""
    KINDS[name] = MediaKind(name, generate)


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


class MediaCache:
    """Bytes of recently served media, bounded by total size (least recently used goes first)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: collections.OrderedDict[str, tuple[bytes, str]] = collections.OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get_or_make(self, key: str, make: Callable[[], tuple[bytes, str]]) -> tuple[bytes, str]:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        made = make()
        with self._lock:
            if key not in self._items:
                self._items[key] = made
                self._size += len(made[0])
                while self._size > self.max_bytes and len(self._items) > 1:
                    _, (old, _) = self._items.popitem(last=False)
                    self._size -= len(old)
        return made


CACHE = MediaCache()


def render(kind: str, recipe: Mapping[str, Any]) -> tuple[bytes, str]:
    """The bytes and content type for a recipe, through the cache."""
    media = KINDS[kind]
    key = kind + ":" + encode_recipe(recipe)
    return CACHE.get_or_make(key, lambda: media.generate(recipe))


def _not_found(message: str) -> Response:
    return JSONAnswer({"error": {"message": message, "type": "invalid_request_error", "code": "media_not_found"}}, 404)


async def serve_media(request: Request) -> Response:
    kind = request.path_params["kind"]
    name = request.path_params["name"]
    if kind not in KINDS:
        return _not_found(f"unknown media kind {kind!r}")
    token = name.rsplit(".", 1)[0]
    try:
        recipe = decode_recipe(token)
    except ValueError:
        return _not_found(f"malformed media link {name!r}")
    try:
        # Encoding minutes of audio or a 4096-pixel PNG takes a while: keep it off the event loop.
        data, content_type = await run_in_threadpool(render, kind, recipe)
    except (KeyError, TypeError, ValueError) as exc:
        return _not_found(f"cannot produce media from link {name!r}: {exc}")
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "Content-Length": str(len(data))}
    return Response(data, media_type=content_type, headers=headers)


ROUTES = [Route("/__mock/media/{kind}/{name}", serve_media, methods=["GET", "HEAD"])]
