"""`LimitedHttp`: uvicorn's httptools protocol with limits on what one connection may cost.

uvicorn's httptools protocol reads request heads of any size and count, and a connection that has
sent half a request waits forever (the keep-alive timer only runs between requests). `LimitedHttp`
adds what a public-facing server needs: a head larger than `max_header_bytes` or with more than
`max_headers` fields is answered 431 and closed, and a head not complete within `request_timeout`
seconds is answered 408 and closed; a body that stalls for `request_timeout` seconds between two
pieces closes the connection (the pipeline then sees a disconnect). Answers here are plain text: the
request could not be parsed, so no family envelope applies.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # uvicorn[standard] brings httptools

from mockserver.settings import SERVER_OPTIONS, Settings

LIMITS_ENV = "MOCKSERVER__HTTP_LIMITS"
_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _Refused(Exception):
    """Stops the parser after the connection has been answered and closed."""


class LimitedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol with head size/count limits (431) and a head read timeout (408)."""

    max_header_bytes = 65536
    max_headers = 100
    request_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if type(self) is LimitedHttp and LIMITS_ENV in os.environ:  # a spawned worker of `mockserver serve`
            for name, value in json.loads(os.environ[LIMITS_ENV]).items():
                setattr(self, name, value)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._refused = False
        self._tail = b""
        self._head_bytes = 0
        self._header_count = 0
        self._in_head = True
        self._in_body = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.request_timeout, self._head_timeout)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_timeout(self) -> None:
        self._body_timer = None
        if self._in_body and not self.transport.is_closing():
            self.transport.close()

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(408, f"request head not received within {self.request_timeout:g}s")

    def _refuse(self, status: int, message: str) -> None:
        self._refused = True
        self._disarm()
        body = message.encode("ascii", "replace")
        head = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])
        head += b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
        head += b"content-length: %d\r\n\r\n" % len(body)
        if not self.transport.is_closing():
            self.transport.write(head + body)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            # Count the head only: a packet may carry the end of the head and the start of the body.
            seen = self._tail + data
            end = seen.find(b"\r\n\r\n")
            self._head_bytes += len(data) if end < 0 else max(0, end - len(self._tail))
            self._tail = seen[-3:] if end < 0 else b""
            if self._head_bytes > self.max_header_bytes + 8192:  # + request line and slack
                self._refuse(431, f"request head larger than {self.max_header_bytes} bytes")
                return
        super().data_received(data)
        if self._in_body and not self._refused:  # more of the body is due: it may not stall
            if self._body_timer is not None:
                self._body_timer.cancel()
            self._body_timer = self.loop.call_later(self.request_timeout, self._body_timeout)

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # a refusal already answered and closed the connection
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._tail = b""
        self._head_bytes = 0
        self._header_count = 0
        self._arm()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.max_headers:
            self._refuse(431, f"more than {self.max_headers} header fields")
            raise _Refused
        if len(name) + len(value) > self.max_header_bytes:
            self._refuse(431, f"header {name[:40]!r} larger than {self.max_header_bytes} bytes")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._in_body = True
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()


def _limits(settings: Settings) -> dict[str, Any]:
    return {
        "max_header_bytes": settings.max_header_bytes,
        "max_headers": settings.max_headers,
        "request_timeout": settings.request_timeout,
    }


def server_options(settings: Settings, *, worker_processes: bool = False) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config`/`uvicorn.run`: `SERVER_OPTIONS` plus this server's limits.

    In-process servers get a subclass carrying the limits. Worker processes (`mockserver serve`) are
    spawned and cannot receive a class made at run time, so they get `LimitedHttp` itself and read
    the limits from an environment variable this sets.
    """
    options: dict[str, Any] = dict(SERVER_OPTIONS)
    options["timeout_keep_alive"] = max(1, round(settings.keep_alive_timeout))
    options["timeout_graceful_shutdown"] = max(1, round(settings.shutdown_timeout))
    if worker_processes:
        os.environ[LIMITS_ENV] = json.dumps(_limits(settings))
        options["http"] = LimitedHttp
    else:
        options["http"] = type("MockHttp", (LimitedHttp,), _limits(settings))
    return options
