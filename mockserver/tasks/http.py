"""`CallbackClient`: a small HTTP/1.1 client for POSTing callback bodies, on bare asyncio streams.

Callbacks are many small POSTs to a few receivers, sent by up to dozens of concurrent deliveries.
General-purpose clients pay for features this does not need (and httpx's pool slows down sharply with
many concurrent connections), so this keeps an idle keep-alive pool per origin, writes each request in
one piece, reads the status and discards the body (Content-Length, chunked, or until close), and bounds
every exchange by a timeout. https works through the default SSL context.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.parse
from collections.abc import Mapping

_MAX_HEAD = 64 * 1024
_IDLE_PER_ORIGIN = 64


class CallbackError(Exception):
    """A failed exchange; `kind` names it as httpx would (`ConnectError`, `ReadTimeout`, ...)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


Origin = tuple[str, str, int]
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _origin(url: str) -> tuple[Origin, str, str]:
    """(scheme, host, port), the request target and the Host header of an absolute http(s) URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackError("UnsupportedProtocol", f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    default = port == (443 if parts.scheme == "https" else 80)
    return (parts.scheme, parts.hostname, port), target, host if default else f"{host}:{port}"


class CallbackClient:
    """POST bytes to URLs with keep-alive connections; `post` returns the status code."""

    def __init__(self, timeout: float = 5.0, user_agent: str = "mockserver-callbacks") -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self._idle: dict[Origin, list[Conn]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str] | None = None) -> int:
        origin, target, host = _origin(url)
        lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"User-Agent: {self.user_agent}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        lines += [f"Content-Length: {len(body)}", "Connection: keep-alive"]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(origin, request)
        except TimeoutError:
            raise CallbackError("ReadTimeout", f"no answer within {self.timeout:g}s") from None

    async def _exchange(self, origin: Origin, request: bytes) -> int:
        pooled = self._take(origin)
        if pooled is not None:
            try:
                return await self._send(origin, pooled, request)
            except ConnectionError:
                pass  # the receiver closed an idle connection: try once on a fresh one
            except asyncio.IncompleteReadError as exc:
                if exc.partial:  # it had started to answer: do not send the callback twice
                    raise CallbackError("RemoteProtocolError", "connection closed mid-answer") from None
        try:
            return await self._send(origin, await self._connect(origin), request)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            raise CallbackError("RemoteProtocolError", str(exc) or type(exc).__name__) from None

    def _take(self, origin: Origin) -> Conn | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn[1].is_closing() and not conn[0].at_eof():
                return conn
            conn[1].close()
        return None

    async def _connect(self, origin: Origin) -> Conn:
        scheme, host, port = origin
        context: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        try:
            return await asyncio.open_connection(host, port, ssl=context)
        except (OSError, ssl.SSLError) as exc:
            raise CallbackError("ConnectError", str(exc) or type(exc).__name__) from None

    async def _send(self, origin: Origin, conn: Conn, request: bytes) -> int:
        reader, writer = conn
        keep = False
        try:
            writer.write(request)
            await writer.drain()
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                raise CallbackError("RemoteProtocolError", "response head too large") from None
            if len(head) > _MAX_HEAD:
                raise CallbackError("RemoteProtocolError", "response head too large")
            status, keep = await self._read_rest(reader, head)
            return status
        finally:
            if keep and len(self._idle.setdefault(origin, [])) < _IDLE_PER_ORIGIN:
                self._idle[origin].append(conn)
            else:
                writer.close()

    @staticmethod
    async def _read_rest(reader: asyncio.StreamReader, head: bytes) -> tuple[int, bool]:
        """Parse the status and headers, drain the body; (status, whether the connection stays open)."""
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise CallbackError("RemoteProtocolError", f"bad status line {lines[0][:80]!r}")
        status = int(parts[1])
        fields: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        keep = parts[0] == "HTTP/1.1" and fields.get("connection", "").lower() != "close"
        if status in (204, 304) or 100 <= status < 200:
            return status, keep
        if "chunked" in fields.get("transfer-encoding", "").lower():
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    return status, keep
        length = fields.get("content-length")
        if length is not None and length.isdigit():
            await reader.readexactly(int(length))
            return status, keep
        await reader.read()  # no length: the body runs until the receiver closes
        return status, False

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for _, writer in idle:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
        self._idle.clear()
