"""A bounded ring buffer of received requests (redacted when read), newest last.

The buffer is bounded twice: by entry count and by bytes (bodies, headers and query counted), so a
handful of 30 MB uploads cannot hold gigabytes; a body larger than `body_bytes` is kept as its size
and SHA-256 only.

Entries are kept compact on purpose: a slotted object holding the raw body bytes and the headers
flattened into one bytes string, decoded only when someone reads the journal. Keeping each
request's parsed body and header objects alive for the next thousand requests made every request
slower (the memory they held went cold before it was reused), which a bare endpoint never pays.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import logging
import re
import sys
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, Protocol

import orjson

log = logging.getLogger("mockserver")

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "mj-api-secret",
        "x-mock-token",
        "cookie",
        "proxy-authorization",
    }
)
# Query parameters (of the request, and of URLs inside its body) and form fields that hold secrets.
SECRET_QUERY = frozenset(
    {"key", "api_key", "apikey", "api-key", "access_token", "token", "secret", "signature", "sig", "password"}
)
SECRET_FIELDS = SECRET_QUERY | frozenset({"client_secret", "refresh_token", "authorization"})
_URL_QUERY = re.compile(r"(?i)([?&](?:" + "|".join(re.escape(n) for n in sorted(SECRET_QUERY)) + r")=)([^&#\s\"']+)")
_ENTRY_OVERHEAD = 256  # the slotted object, its path and small fields
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
        "size",
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
        self.size = _ENTRY_OVERHEAD + len(raw) + len(headers) + len(query) + _rough_size(body)

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
            "body": mask_secrets(self.decoded_body()),
            "status": self.status,
        }


class Journal:
    """The last `size` requests within `max_bytes`; entries never grow the buffer past either bound."""

    def __init__(self, size: int = 1000, *, max_bytes: int = 64 * 1024 * 1024, body_bytes: int = 1024 * 1024) -> None:
        self._entries: collections.deque[Entry] = collections.deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # Callables woken on each new entry (open dashboard streams). Empty while no page is open, so
        # recording a request costs one truthiness check for the feature.
        self.watchers: list[Callable[[], None]] = []
        self.clears = 0
        self.max_entries = max(1, size)
        self.max_bytes = max(1, max_bytes)
        self.body_bytes = max(0, body_bytes)
        self.bytes = 0

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
        if len(raw) > self.body_bytes:
            body, raw = body_digest(raw), b""
        entry = Entry(next(self._ids), at, method, sys.intern(path), query, flat, operation, body, raw)
        self._keep(entry)
        return entry

    def _keep(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)
            self.bytes += entry.size
            while len(self._entries) > 1 and (self.bytes > self.max_bytes or len(self._entries) > self.max_entries):
                self.bytes -= self._entries.popleft().size
        if self.watchers:
            for wake in self.watchers:
                wake()

    async def finish(self, entry: Entry) -> None:
        """The entry's answer is decided (its status set): kept here already, so nothing to do."""

    def drop_body(self, entry: Entry, reason: str) -> None:
        """Forget an entry's body, keeping a note of why (e.g. the request was refused before it was read)."""
        with self._lock:
            before = entry.size
            entry.raw, entry.body = b"", f"<body not kept: {reason}>"
            entry.size = _ENTRY_OVERHEAD + len(entry.headers) + len(entry.query)
            if any(e is entry for e in reversed(self._entries)):
                self.bytes -= before - entry.size

    async def snapshot(self) -> list[Entry]:
        """The remembered entries themselves, oldest first."""
        with self._lock:
            return list(self._entries)

    async def entries(self) -> list[dict[str, Any]]:
        """Every remembered request, oldest first, with secrets in headers and query masked."""
        return [e.as_dict() for e in await self.snapshot()]

    async def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0
            self.clears += 1
        for wake in self.watchers:
            wake()

    async def since(self, after: int) -> list[Entry]:
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


class JournalStore(Protocol):
    """Where a `SharedJournal` keeps entries (the journal part of `mockserver.stores.shared_base.SharedState`)."""

    async def journal_add(self, entry: bytes, size: int) -> int: ...

    async def journal_read(self, after: int = 0) -> list[tuple[int, bytes]]: ...

    async def journal_clear(self) -> None: ...


class SharedJournal(Journal):
    """The journal of several processes, kept in their shared store: an entry is written once its answer
    is decided (`finish`) and every read comes from the store, so each process lists every request once,
    in the order they were answered. The store bounds it (entries and bytes); this process keeps none."""

    def __init__(
        self, store: JournalStore, size: int = 1000, *, max_bytes: int = 64 * 1024 * 1024, body_bytes: int = 1024 * 1024
    ) -> None:
        super().__init__(size, max_bytes=max_bytes, body_bytes=body_bytes)
        self.store = store

    def _keep(self, entry: Entry) -> None:
        entry.id = 0  # the store numbers it when it is written

    async def finish(self, entry: Entry) -> None:
        try:
            entry.id = await self.store.journal_add(encode_entry(entry), entry.size)
        except Exception as exc:  # the store stopped answering: the answer still goes out, the loss is logged
            log.error("journal: %s %s not kept, the store failed: %s", entry.method, entry.path, exc)
            return
        if self.watchers:
            for wake in self.watchers:
                wake()

    async def since(self, after: int) -> list[Entry]:
        return [decode_entry(entry_id, blob) for entry_id, blob in await self.store.journal_read(after)]

    async def snapshot(self) -> list[Entry]:
        return await self.since(0)

    async def clear(self) -> None:
        await self.store.journal_clear()
        self.clears += 1
        for wake in self.watchers:
            wake()


def encode_entry(entry: Entry) -> bytes:
    """An entry as the shared stores keep it (JSON; bytes as latin-1 text, which maps each byte to one)."""
    return orjson.dumps(
        [
            entry.at,
            entry.method,
            entry.path,
            entry.query.decode("latin-1"),
            entry.headers.decode("latin-1"),
            entry.operation,
            entry.body,
            entry.raw.decode("latin-1"),
            entry.status,
        ],
        default=str,
    )


def decode_entry(entry_id: int, blob: bytes) -> Entry:
    at, method, path, query, headers, operation, body, raw, status = orjson.loads(blob)
    entry = Entry(
        entry_id,
        at,
        method,
        path,
        query.encode("latin-1"),
        headers.encode("latin-1"),
        operation,
        body,
        raw.encode("latin-1"),
    )
    entry.status = status
    return entry


def body_digest(raw: bytes) -> dict[str, Any]:
    """What the journal keeps of a large body: its size and SHA-256."""
    return {"size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}


def _rough_size(value: Any) -> int:
    """Bytes a parsed form body holds, roughly (strings and lists of them; uploads are file names)."""
    if value is None:
        return 0
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        return sum(len(str(k)) + _rough_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(_rough_size(v) for v in value)
    return 16


def mask_secrets(value: Any) -> Any:
    """`value` with secret fields masked and secret query parameters inside URL strings masked."""
    if isinstance(value, str):
        return _URL_QUERY.sub(lambda m: m.group(1) + redact_secret(m.group(2)), value) if "=" in value else value
    if isinstance(value, dict):
        return {
            k: redact_secret(v) if isinstance(v, str) and str(k).lower() in SECRET_FIELDS and v else mask_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


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
