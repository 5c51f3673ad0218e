"""`GET /__mock/requests/stream`: the journal as server-sent events, for the dashboard (or `curl -N`).

Each request is one `event: entry` whose `id:` is the journal id and whose `data:` is the entry as
`/__mock/requests` shows it (secrets masked), plus the answer the emulator gave while a stream was
open. A reconnecting client resumes after `Last-Event-ID` (or `?after=ID`); `event: clear` says the
journal was emptied. The journal wakes open streams only when there are any, so requests pay nothing
for the feature while no page is open. A stream ends after `STREAM_SECONDS` and the client reconnects:
the server's graceful shutdown waits at most that long on an open page.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from mockserver.answers import JSONAnswer
from mockserver.journal import Entry, Journal

STREAM_SECONDS = 5.0
HEARTBEAT_SECONDS = 1.0
PENDING_SECONDS = 0.2  # how often entries still waiting for their status are looked at again
BATCH_SECONDS = 0.02  # a wake waits this long, so a burst of requests goes out as one write


def answer_of(entry: Entry) -> dict[str, Any] | None:
    """The answer kept on `entry` (only while a stream was open), decoded for showing."""
    kept = entry.kept_answer()
    if kept is None:
        return None
    body = bytes(kept.body)
    out: dict[str, Any] = {"headers": kept.headers, "complete": kept.done}
    if kept.size > len(body):
        out["body"] = f"<{kept.size} bytes: too large to keep>"
        return out
    kind = _media_type(kept.headers)
    if kind is not None:
        # Speech, images, video: shown as a player or a picture on the page (kept answers are small).
        out["body"] = f"<{len(body)} bytes of {kind}>"
        if kept.done:
            out["media"] = {"type": kind, "src": f"data:{kind};base64,{base64.b64encode(body).decode()}"}
        return out
    try:
        out["body"] = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        out["body"] = body.decode("utf-8", "replace")
    return out


_MEDIA_TYPE = re.compile(r"(audio|image|video)/[a-z0-9.+-]+")


def _media_type(headers: list[tuple[str, str]]) -> str | None:
    """The answer's media type when it is audio, an image or video (None otherwise)."""
    for name, value in headers:
        if name.lower() == "content-type":
            kind = value.split(";", 1)[0].strip().lower()
            return kind if _MEDIA_TYPE.fullmatch(kind) else None
    return None


def event_of(entry: Entry) -> bytes:
    """One `event: entry` message."""
    data = entry.as_dict()
    data["answer"] = answer_of(entry)
    return b"id: %d\nevent: entry\ndata: %s\n\n" % (entry.id, orjson.dumps(data, default=str))


def finished(entry: Entry) -> bool:
    """Whether `entry` is answered and its kept answer (if any) fully sent."""
    kept = entry.kept_answer()
    return entry.status is not None and (kept is None or kept.done)


def _after(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


async def journal_events(journal: Journal, after: int, *, lifetime: float = STREAM_SECONDS) -> AsyncIterator[bytes]:
    """Every entry after id `after`, then each new one as it comes, for `lifetime` seconds."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def notify() -> None:
        # Requests may be journaled from another thread's loop (e.g. a test client): hop to ours, once
        # per batch rather than once per request.
        if not wake.is_set():
            loop.call_soon_threadsafe(wake.set)

    unwatch = journal.watch(notify)
    try:
        yield b"retry: 500\n\n"
        last, clears = after, journal.clears
        pending: dict[int, Entry] = {}
        deadline = loop.time() + lifetime
        while True:
            out: list[bytes] = []
            if journal.clears != clears:
                clears, last = journal.clears, 0
                pending.clear()
                out.append(b"event: clear\ndata: {}\n\n")
            for entry_id, entry in list(pending.items()):  # sent before their answer: send again with it
                if finished(entry):
                    del pending[entry_id]
                    out.append(event_of(entry))
            for entry in await journal.since(last):
                last = entry.id
                out.append(event_of(entry))
                if not finished(entry):
                    pending[entry.id] = entry
            yield b"".join(out) if out else b": ping\n\n"
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            wait = min(remaining, PENDING_SECONDS if pending else HEARTBEAT_SECONDS)
            try:
                await asyncio.wait_for(wake.wait(), wait)
                await asyncio.sleep(BATCH_SECONDS)
            except TimeoutError:
                pass
            wake.clear()
    finally:
        unwatch()


async def journal_stream(request: Request) -> Response:
    """`GET /__mock/requests/stream` (`?after=ID` or `Last-Event-ID`)."""
    after = _after(request)
    if after is None:
        message = "after: must be a whole number >= 0 (a journal id)"
        return JSONAnswer({"error": {"message": message, "type": "mock_control_error", "param": "after"}}, 400)
    journal: Journal = request.app.state.mock.journal
    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(journal_events(journal, after), media_type="text/event-stream", headers=headers)
