"""Media the emulator hands out by URL: self-describing links, generated on demand, cached in memory.

A link is `<base>/__mock/media/<kind>/<token>.<ext>`, where the token encodes the recipe (size, seed,
format, ...). Any worker, and a restarted server, produces the same bytes for the same link, so no
file has to be stored. `KINDS` lists every kind with the content generator that makes it.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.answers import JSONAnswer
from mockserver.content import audio, images, svg, video
from mockserver.content.links import decode_recipe, encode_recipe, media_url

__all__ = ["CACHE", "KINDS", "MediaCache", "MediaKind", "decode_recipe", "encode_recipe", "media_url", "render"]


@dataclasses.dataclass(frozen=True)
class MediaKind:
    """How to produce one kind of media from its recipe: `generate(recipe) -> (bytes, content_type)`."""

    name: str
    generate: Callable[[Mapping[str, Any]], tuple[bytes, str]]


# Every kind of media a link can name, with the content module that makes it.
KINDS: Mapping[str, MediaKind] = {
    kind.name: kind
    for kind in (
        MediaKind("image", images.from_recipe),
        MediaKind("svg", svg.from_recipe),
        MediaKind("audio", audio.audio_from_recipe),
        MediaKind("speech", audio.speech_from_recipe),
        MediaKind("video", video.from_recipe),
    )
}


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


def _link_refused() -> Response:
    message = "this media link needs a key (Authorization: Bearer) or the signature it was handed out with (sig)"
    return JSONAnswer({"error": {"message": message, "type": "new_api_error", "code": "invalid_api_key"}}, 401)


async def serve_media(request: Request) -> Response:
    guard = request.app.state.mock.ext.get("media_guard")  # with keys: a key or the link's signature
    if guard is not None and not await guard(request.url.path, request.headers, request.query_params):
        return _link_refused()
    kind = request.path_params["kind"]
    name = request.path_params["name"]
    if kind not in KINDS:
        return _not_found(f"unknown media kind {kind!r}")
    token = name.rsplit(".", 1)[0]
    try:
        recipe = decode_recipe(token)
    except (ValueError, TypeError):
        return _not_found(f"malformed media link {name!r}")
    try:
        # Encoding minutes of audio or a 4096-pixel PNG takes a while: keep it off the event loop.
        data, content_type = await run_in_threadpool(render, kind, recipe)
    except ValueError as exc:  # a well-formed recipe beyond the documented limits (or of bad values)
        return JSONAnswer(
            {
                "error": {
                    "message": f"media link {name!r} refused: {exc}",
                    "type": "invalid_request_error",
                    "code": "media_out_of_limits",
                }
            },
            400,
        )
    except (KeyError, TypeError) as exc:
        return _not_found(f"cannot produce media from link {name!r}: {exc}")
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "Content-Length": str(len(data))}
    return Response(data, media_type=content_type, headers=headers)


ROUTES = [Route("/__mock/media/{kind}/{name}", serve_media, methods=["GET", "HEAD"])]
