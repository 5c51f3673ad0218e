"""The requests a cassette server reads over ASGI: bodies with a size limit, the request as recorded,
a body handed on again, and who may write to its control paths."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mockserver.errors import ApiError
from mockserver.recording.cassettes import RecordedRequest


async def read_body(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body exceeds the {limit}-byte limit", param="body")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def write_refusal(scope: dict[str, Any], token: str | None) -> ApiError | None:
    """Why a control write is refused (None: it is not): the control token when one is set (Bearer or
    `x-mock-token`, as the emulator's control API takes it), and no cross-site browser page."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
    if token:
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        given = [bearer.strip()] if scheme.lower() == "bearer" else []
        given.append(headers.get("x-mock-token", "").strip())
        if not any(hmac.compare_digest(g.encode(), token.encode()) for g in given if g):
            return ApiError(401, "the control API needs the control token (Authorization: Bearer or x-mock-token)")
    site = headers.get("sec-fetch-site", "").lower()
    origin = headers.get("origin")
    if (site and site not in ("same-origin", "none")) or (
        origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower()
    ):
        return ApiError(403, "cross-origin writes to the control API are refused", param="Origin")
    return None


def replay_receive(body: bytes, receive: Any) -> Any:
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    return again


def read_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def raw_path(scope: dict[str, Any]) -> str:
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else str(scope["path"])


def incoming_request(scope: dict[str, Any], body: bytes) -> RecordedRequest:
    """The ASGI request as a `RecordedRequest` (its URI as the client addressed it)."""
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
    host = (headers.get("host") or [""])[0]
    if not host and scope.get("server"):
        host = f"{scope['server'][0]}:{scope['server'][1]}"
    query = scope.get("query_string", b"").decode("latin-1")
    uri = f"{scope.get('scheme', 'http')}://{host or 'localhost'}{raw_path(scope)}" + (f"?{query}" if query else "")
    has_body = bool(body) or scope["method"] not in ("GET", "HEAD", "DELETE", "OPTIONS")
    return RecordedRequest(scope["method"], uri, headers, body if has_body else None)
