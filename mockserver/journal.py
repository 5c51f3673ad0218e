"""A bounded ring buffer of received requests (redacted when read), newest last.

Entries are kept compact on purpose: a slotted object holding the raw body bytes and the headers
flattened into one bytes string, decoded only when someone reads the journal. Keeping each
request's parsed body and header objects alive for the next thousand requests made every request
slower (the memory they held went cold before it was reused), which a bare endpoint never pays.
"""

from __future__ import annotations

import collections
import itertools
import sys
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

import orjson

SECRET_HEADERS = frozenset(
    {"authorization", "x-api-key", "x-goog-api-key", "mj-api-secret", "cookie", "proxy-authorization"}
)
SECRET_QUERY = frozenset({"key", "api_key", "apikey", "access_token"})
_NUL = b"\0"  # HTTP forbids NUL in header names and values, so it can separate them
_TEXT_LIMIT = 65536
ANSWER_KEPT = 65536  # answer bodies kept for an open dashboard; larger ones by size only


def redact_secret(value: str) -> str:
    """Keep the scheme and the last four characters of a secret, so users can tell keys apart."""
    scheme, _, token = value.partition(" ")
    if not token:
        scheme, token = "", value
    tail = token[-4:] if len(token) > 8 else ""
    masked = f"***{tail}" if tail else "***"
    return f"{scheme} {masked}" if scheme else masked


class KeptAnswer:
    """An answer kept for an open dashboard: its headers, the first `ANSWER_KEPT` bytes of its body and
    its size; `done` once the whole body was sent (a stream is copied as it goes out)."""

    __slots__ = ("body", "done", "headers", "size")

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.headers = headers
        self.body = bytearray()
        self.size = 0
        self.done = False

    def add(self, chunk: bytes | str | memoryview) -> None:
        data = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
        self.size += len(data)
        if len(self.body) < ANSWER_KEPT:
            self.body += data[: ANSWER_KEPT - len(self.body)]

    async def tap(self, chunks: AsyncIterable[Any]) -> AsyncIterator[Any]:
        """Pass a streamed body through, keeping a copy."""
        try:
            async for chunk in chunks:
                self.add(chunk)
                yield chunk
        finally:
            self.done = True


class Entry:
    """One received request. `body` is what the pipeline parsed for non-JSON bodies (form fields);
    JSON bodies stay as the raw bytes in `raw` and are parsed when read. `usage` is what the answer
    cost in tokens, for the System API's logs and billing (set by the families that count tokens)."""

    __slots__ = (
        "answer",
        "at",
        "body",
        "headers",
        "id",
        "method",
        "operation",
        "path",
        "query",
        "raw",
        "status",
        "usage",
    )
    # Set only while a dashboard watches the journal (`keep_answer`); never set on the hot path otherwise.
    answer: KeptAnswer

    def __init__(
        self,
        id: int,
        at: float,
        method: str,
        path: str,
        query: bytes,
        headers: bytes,
        operation: str | None,
        body: Any,
        raw: bytes,
    ) -> None:
        self.id = id
        self.at = at
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.operation = operation
        self.body = body
        self.raw = raw
        self.status: int | None = None
        self.usage: Any = None

    def keep_answer(self, response: Any) -> None:
        """Remember the answer for the dashboard (see `KeptAnswer`); a streamed body is copied as it goes."""
        kept = KeptAnswer([(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers])
        self.answer = kept
        body = getattr(response, "body", None)
        if isinstance(body, bytes):
            kept.add(body)
            kept.done = True
        elif hasattr(response, "body_iterator"):
            response.body_iterator = kept.tap(response.body_iterator)
        else:
            kept.done = True

    def kept_answer(self) -> KeptAnswer | None:
        """What `keep_answer` remembered, or None."""
        return getattr(self, "answer", None)

    def header_pairs(self) -> list[tuple[str, str]]:
        if not self.headers:
            return []
        parts = self.headers.decode("latin-1").split("\0")
        return list(zip(parts[::2], parts[1::2], strict=True))

    def decoded_body(self) -> Any:
        if self.body is not None or not self.raw:
            return self.body
        try:
            return orjson.loads(self.raw)
        except orjson.JSONDecodeError:
            return _printable(self.raw)

    def as_dict(self) -> dict[str, Any]:
        """The entry as `/__mock/requests` shows it, with secrets in headers and query masked."""
        headers = {
            name: redact_secret(value) if name.lower() in SECRET_HEADERS else value
            for name, value in self.header_pairs()
        }
        return {
            "id": self.id,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "query": _redact_query(self.query.decode("latin-1")),
            "headers": headers,
            "operation": self.operation,
            "body": self.decoded_body(),
            "status": self.status,
        }


class Journal:
    """The last `size` requests; entries never grow the buffer past its bound."""

    def __init__(self, size: int = 1000) -> None:
        self._entries: collections.deque[Entry] = collections.deque(maxlen=max(1, size))
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # Callables woken on each new entry (open dashboard streams). Empty while no page is open, so
        # recording a request costs one truthiness check for the feature.
        self.watchers: list[Callable[[], None]] = []
        self.clears = 0

    def record(
        self,
        *,
        method: str,
        path: str,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        body: Any = None,
        raw: bytes = b"",
        operation: str | None,
        at: float,
    ) -> Entry:
        """Remember a request as received (raw ASGI headers). Pass a JSON body as `raw` bytes (parsed
        when read) and anything else already parsed as `body`."""
        flat = _NUL.join(itertools.chain.from_iterable(headers)) if headers else b""
        entry = Entry(next(self._ids), at, method, sys.intern(path), query, flat, operation, body, raw)
        self._entries.append(entry)  # deque.append is atomic; maxlen drops the oldest
        if self.watchers:
            for wake in self.watchers:
                wake()
        return entry

    def snapshot(self) -> list[Entry]:
        """The remembered entries themselves, oldest first."""
        with self._lock:
            return list(self._entries)

    def entries(self) -> list[dict[str, Any]]:
        """Every remembered request, oldest first, with secrets in headers and query masked."""
        return [e.as_dict() for e in self.snapshot()]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.clears += 1
        for wake in self.watchers:
            wake()

    def since(self, after: int) -> list[Entry]:
        """The remembered entries with an id above `after`, oldest first."""
        entries = list(self._entries)  # a copy: another thread may append meanwhile
        start = len(entries)
        while start and entries[start - 1].id > after:
            start -= 1
        return entries[start:]

    def watch(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake()` after each new entry (and on clear) until the returned function is called."""
        self.watchers = [*self.watchers, wake]  # replaced, not mutated: `record` may be iterating

        def unwatch() -> None:
            self.watchers = [w for w in self.watchers if w is not wake]

        return unwatch

    def __len__(self) -> int:
        return len(self._entries)


def _printable(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return raw.decode("utf-8") if len(raw) <= _TEXT_LIMIT else f"<{len(raw)} bytes>"
    except UnicodeDecodeError:
        return f"<{len(raw)} bytes>"


def _redact_query(query: str) -> str:
    if not query:
        return ""
    parts = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        parts.append(f"{name}={redact_secret(value)}" if sep and name.lower() in SECRET_QUERY else pair)
    return "&".join(parts)
