"""A bounded ring buffer of received requests (redacted), newest last."""

from __future__ import annotations

import collections
import itertools
import threading
from typing import Any

SECRET_HEADERS = frozenset(
    {"authorization", "x-api-key", "x-goog-api-key", "mj-api-secret", "cookie", "proxy-authorization"}
)
SECRET_QUERY = frozenset({"key", "api_key", "apikey", "access_token"})


def redact_secret(value: str) -> str:
    """Keep the scheme and the last four characters of a secret, so users can tell keys apart."""
    scheme, _, token = value.partition(" ")
    if not token:
        scheme, token = "", value
    tail = token[-4:] if len(token) > 8 else ""
    masked = f"***{tail}" if tail else "***"
    return f"{scheme} {masked}" if scheme else masked


class Journal:
    """The last `size` requests; entries never grow the buffer past its bound."""

    def __init__(self, size: int = 1000) -> None:
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=max(1, size))
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def record(
        self,
        *,
        method: str,
        path: str,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        body: Any,
        operation: str | None,
        at: float,
    ) -> dict[str, Any]:
        """Remember a request as received (raw ASGI headers); `entries()` redacts when it is read."""
        entry = {
            "id": next(self._ids),
            "at": at,
            "method": method,
            "path": path,
            "query": query,
            "headers": headers,
            "operation": operation,
            "body": body,
            "status": None,
        }
        self._entries.append(entry)  # deque.append is atomic; maxlen drops the oldest
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """Every remembered request, oldest first, with secrets in headers and query masked."""
        with self._lock:
            raw = list(self._entries)
        return [_redacted(e) for e in raw]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _redacted(entry: dict[str, Any]) -> dict[str, Any]:
    headers = {}
    for k, v in entry["headers"]:
        name, value = k.decode("latin-1"), v.decode("latin-1")
        headers[name] = redact_secret(value) if name.lower() in SECRET_HEADERS else value
    return {**entry, "query": _redact_query(entry["query"].decode("latin-1")), "headers": headers}


def _redact_query(query: str) -> str:
    if not query:
        return ""
    parts = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        parts.append(f"{name}={redact_secret(value)}" if sep and name.lower() in SECRET_QUERY else pair)
    return "&".join(parts)
