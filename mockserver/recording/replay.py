"""Playing recorded answers back over ASGI: bodies as recorded, streams in their original chunks.

`speed` scales the recorded timing: 0 (default) sends everything at once, 1 waits as long as the
upstream did (time to the head, then between chunks), 2 twice as fast. Captured task callbacks are
re-delivered, in order, to the callback URL of the request being answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from mockserver.contracts import Contracts
from mockserver.errors import ApiError, Envelope, error_response
from mockserver.recording.cassettes import Interaction, RecordedRequest, RecordedResponse
from mockserver.recording.library import Entry
from mockserver.recording.matchers import CALLBACK_FIELDS
from mockserver.recording.media import link_mapping, notes_of, rewrite
from mockserver.recording.wire import asgi_headers, pack_headers, unpack_headers
from mockserver.registry import load_families
from mockserver.setting_checks import replay_delay_factor
from mockserver.settings import Settings

log = logging.getLogger("mockserver.recording")

Send = Any
Scope = dict[str, Any]


def replay_speed(settings: Settings) -> float:
    """How fast recorded timing replays (0: at once) from `--replay-timing none|recorded|scale:X`, where
    X multiplies the recorded delays, or the older `--replay-speed` (a divisor). Both at once is refused."""
    factor = replay_delay_factor(settings.replay_timing)
    if factor is None:
        raise ValueError(
            f"--replay-timing must be none, recorded or scale:X with X >= 0 (got {settings.replay_timing!r})"
        )
    if settings.replay_timing.strip().lower() in ("", "none"):
        return settings.replay_speed
    if settings.replay_speed:
        raise ValueError("--replay-timing and --replay-speed both set the replay's pace: give one")
    return 1 / factor if factor else 0.0


Rewritten = tuple[bytes, bytes, RecordedResponse]  # packed head, body, response (for a stream's pieces)


def with_media_links(entry: Entry, base: str) -> Rewritten:
    """`entry`'s answer with its recorded media links pointing at the replay server's media route."""
    resp = entry.interaction.response
    body, chunks = rewrite(resp.body, link_mapping(list(entry.media), base), resp.chunks)
    extra = [("x-mockserver-cassette", entry.where)]
    if not entry.streamed:
        extra.append(("content-length", str(len(body))))
    head = pack_headers(asgi_headers(resp.headers, *extra))
    return head, body, RecordedResponse(resp.status, resp.headers, body, chunks=chunks)


async def play(
    entry: Entry, send: Send, *, speed: float = 0.0, head_only: bool = False, rewritten: Rewritten | None = None
) -> None:
    """Send the recorded response of `entry` (or its `rewritten` form); a stream goes out chunk by chunk
    as it was recorded."""
    # Only the entry's packed head and body are touched for a plain answer (see `Entry`).
    head, body, response = rewritten or (entry.head, entry.body, entry.interaction.response)
    if speed > 0 and entry.interaction.response.elapsed:
        await asyncio.sleep(entry.interaction.response.elapsed / speed)
    await send({"type": "http.response.start", "status": entry.status, "headers": unpack_headers(head)})
    if head_only:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    if not entry.streamed:
        await send({"type": "http.response.body", "body": body, "more_body": False})
        return
    previous = 0.0
    for at, piece in response.pieces():
        if speed > 0 and at > previous:
            await asyncio.sleep((at - previous) / speed)
            previous = at
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


# ---------------------------------------------------------------------------------------------
# Misses


class EnvelopeFinder:
    """Which error envelope a request answers in (see `Contracts.vendor_of`), from the families' registry."""

    def __init__(self, contracts: Contracts) -> None:
        self.contracts = contracts
        self.registry = load_families()

    def __call__(self, method: str, path: str) -> Envelope:
        return self.registry.envelope(self.contracts.vendor_of(method, path))


async def send_miss(scope: Scope, receive: Any, send: Send, family: Envelope, message: str) -> None:
    """A 404 in the family's envelope whose message explains the miss."""
    response = error_response(family, ApiError(404, message, code="cassette_miss", type="cassette_miss"))
    await response(scope, receive, send)


# ---------------------------------------------------------------------------------------------
# Callbacks


def callback_url(body: bytes | None) -> tuple[str, str] | None:
    """(field, URL) of the callback URL a JSON request body carries at its top level, if any."""
    if not body or body[:1] != b"{":
        return None
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    for field in CALLBACK_FIELDS:
        value = doc.get(field)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return field, value
    return None


async def deliver_callbacks(
    callbacks: Sequence[Interaction],
    recorded: RecordedRequest,
    incoming: RecordedRequest,
    speed: float,
    media_base: str | None = None,
) -> None:
    """POST the recorded callbacks of a submit to the URL the replayed request asked for."""
    target = callback_url(incoming.body)
    if target is None or not callbacks:
        return
    original = callback_url(recorded.body)
    previous = 0.0
    async with httpx.AsyncClient(timeout=10.0) as client:
        for item in callbacks:
            at = item.after or 0.0
            if speed > 0 and at > previous:
                await asyncio.sleep((at - previous) / speed)
                previous = at
            body = item.request.body or b""
            notes = notes_of(item)
            if notes and media_base:
                body, _ = rewrite(body, link_mapping(notes, media_base))
            if original is not None:
                body = body.replace(original[1].encode(), target[1].encode())
            content_type = item.request.header("content-type") or "application/json"
            try:
                await client.post(target[1], content=body, headers={"content-type": content_type})
            except httpx.HTTPError as exc:
                log.warning("replayed callback to %s failed: %s", target[1], exc)
