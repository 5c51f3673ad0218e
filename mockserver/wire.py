"""Wire faults: send an answer the way a broken network or upstream would (late, stalled, cut, reset, garbled).

A fault's wire fields act on the ASGI messages of whatever answer the pipeline produced:

- `ttfb_ms`: wait before the response head (the first byte).
- `stall_ms`: pause before every stream chunk after the first (a plain answer: between head and body).
- `stream_cut_after`: after that many stream chunks (events) close the connection without the
  terminating chunk, so the client sees a truncated chunked body; a plain answer is cut halfway.
- `reset`: close the connection before any byte is sent.
- `malformed`: truncate chunk (event) number N of a stream in the middle, or a plain body (its
  Content-Length matches what is sent, so the HTTP message is whole and the JSON is not).

Closing a connection is not part of ASGI. Under uvicorn the app's `send` is a bound method of the
request cycle that owns the transport: the emulator (`app.Emulator`) keeps that `send` in the scope
under `RAW_SEND`, and `drop_connection` closes its transport and waits until the server has noticed, so
uvicorn logs nothing and sends nothing more. Under any other server (Starlette's `TestClient`,
`httpx.ASGITransport`, the plugin's in-process driver) `ConnectionDropped` is raised instead.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from mockserver.faults import Fault

RAW_SEND = "mockserver.raw_send"
# How long to wait for the server to notice a closed connection (a slow reader may still be flushing).
_NOTICE_TIMEOUT = 5.0


class ConnectionDropped(Exception):
    """The emulator dropped the connection on purpose (a wire fault) where it could not close it itself.

    `reset` is True when nothing had been sent yet."""

    def __init__(self, reset: bool) -> None:
        what = "before sending a response" if reset else "in the middle of the response body"
        super().__init__(f"mockserver closed the connection {what} (wire fault)")
        self.reset = reset


class _Stop(Exception):
    """Ends the wrapped answer once its connection is closed."""


def _server_cycle(scope: Scope) -> Any:
    """uvicorn's request cycle (it owns the transport), if this request came through uvicorn."""
    raw = scope.get(RAW_SEND)
    cycle = getattr(raw, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close") or not hasattr(cycle, "disconnected"):
        return None
    return cycle


async def drop_connection(scope: Scope, *, reset: bool) -> None:
    """Close the client's connection now (abort it when `reset`); raise `ConnectionDropped` where we can't."""
    cycle = _server_cycle(scope)
    if cycle is None:
        raise ConnectionDropped(reset)
    if reset:
        cycle.transport.abort()
    else:
        cycle.transport.close()  # flushes what was already written, then FIN; no terminating chunk
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _NOTICE_TIMEOUT
    while not cycle.disconnected and loop.time() < deadline:
        await asyncio.sleep(0.002)


class WireFaultResponse(Response):
    """An answer sent through a fault's wire behaviour (see the module docstring)."""

    def __init__(self, inner: Response, fault: Fault) -> None:
        self.inner = inner
        self.fault = fault
        self.status_code = inner.status_code
        self.background = None
        self.raw_headers = inner.raw_headers
        self.streamed = isinstance(inner, StreamingResponse)
        if not self.streamed and fault.malformed is not None and inner.body:
            inner.body = inner.body[: max(1, len(inner.body) // 2)]
            inner.headers["content-length"] = str(len(inner.body))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fault = self.fault
        if fault.ttfb_ms:
            await asyncio.sleep(fault.ttfb_ms / 1000)
        if fault.reset:
            await drop_connection(scope, reset=True)
            return
        chunks = 0

        async def faulty_send(message: Message) -> None:
            nonlocal chunks
            if message["type"] != "http.response.body":
                await send(message)
                return
            body: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if not body:
                if not more and fault.stream_cut_after is not None:
                    await self._cut(scope)  # the stream ended before the cut: it still never ends cleanly
                await send(message)
                return
            if fault.stall_ms and (chunks or not self.streamed):
                await asyncio.sleep(fault.stall_ms / 1000)
            if self.streamed:
                if fault.stream_cut_after is not None and chunks >= fault.stream_cut_after:
                    await self._cut(scope)
                if fault.malformed == chunks:
                    body = _garble(body)
            elif fault.stream_cut_after is not None:
                await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
                await self._cut(scope)
            chunks += 1
            await send({**message, "body": body})

        try:
            await self.inner(scope, receive, faulty_send)
        except _Stop:
            return
        except BaseExceptionGroup as group:
            if not group.subgroup(_Stop) or group.subgroup(lambda e: not isinstance(e, _Stop)):
                raise
            return

    async def _cut(self, scope: Scope) -> None:
        await drop_connection(scope, reset=False)
        raise _Stop()


def _garble(chunk: bytes) -> bytes:
    """Half of a chunk, keeping an SSE event's blank-line framing so the client parses a broken event."""
    half = chunk[: max(1, len(chunk) // 2)]
    return half.rstrip(b"\n") + b"\n\n" if chunk.endswith(b"\n\n") else half
