"""`CallbackReceiver`: a live loopback endpoint that records the callbacks (notifyHook, callback_url) it gets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

# Where task ids and statuses sit in the vendors' callback bodies (top level, or under `data`).
_ID_KEYS = ("id", "task_id", "taskId", "job_id", "jobId")
_STATUS_KEYS = ("status", "state", "task_status", "taskStatus")


class CallbackReceiver:
    """Records every request it receives; `wait_for(task_id, status=...)` blocks until one arrives.

    Each entry of `received` is `{"method", "path", "headers", "body", "at"}` (`body` decoded from JSON
    when it is JSON). Answers 200 `{"ok": true}`; set `status_code` to make it refuse (e.g. 500) and
    watch the emulator retry.
    """

    def __init__(self) -> None:
        self.url = ""
        self.status_code = 200
        self._received: list[dict[str, Any]] = []
        self._changed = threading.Condition()

    def __repr__(self) -> str:
        return f"<CallbackReceiver {self.url} received={len(self._received)}>"

    @property
    def received(self) -> list[dict[str, Any]]:
        with self._changed:
            return list(self._received)

    @property
    def bodies(self) -> list[Any]:
        return [entry["body"] for entry in self.received]

    def clear(self) -> None:
        with self._changed:
            self._received.clear()

    def wait_for(self, task_id: str, status: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """The first callback about `task_id` (with `status`, compared case-insensitively, if given).

        Raises AssertionError listing what did arrive when none comes within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for entry in self._received:
                    if about_task(entry["body"], task_id, status):
                        return entry
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
        seen = [_summary(e["body"]) for e in self.received] or ["nothing"]
        wanted = f"task {task_id!r}" + (f" with status {status!r}" if status else "")
        raise AssertionError(f"no callback for {wanted} within {timeout}s at {self.url}; received: " + "; ".join(seen))

    async def wait_for_async(self, task_id: str, status: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """`wait_for` for async tests (waits in a worker thread, never blocking the event loop)."""
        return await asyncio.to_thread(self.wait_for, task_id, status, timeout)

    # -- the ASGI app -------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        raw = b"".join(chunks)
        entry = {
            "method": scope["method"],
            "path": scope["path"],
            "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            "body": _decode(raw),
            "at": time.time(),
        }
        with self._changed:
            self._received.append(entry)
            self._changed.notify_all()
        answer = json.dumps({"ok": self.status_code < 400}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})


@contextlib.contextmanager
def running_receiver() -> Iterator[CallbackReceiver]:
    """A `CallbackReceiver` served on a free loopback port for the duration of the block."""
    from mockserver.testing import serve_in_thread

    receiver = CallbackReceiver()
    with serve_in_thread(receiver) as server:
        receiver.url = server.url + "/callback"
        yield receiver


def about_task(body: Any, task_id: str, status: str | None) -> bool:
    """Does a callback body speak of `task_id` (and, if given, report `status`)?"""
    if not isinstance(body, dict):
        return False
    layers = [body, *(v for v in (body.get("data"), body.get("task")) if isinstance(v, dict))]
    if not any(str(layer.get(key)) == task_id for layer in layers for key in _ID_KEYS if key in layer):
        return False
    if status is None:
        return True
    wanted = status.lower()
    return any(str(layer.get(key, "")).lower() == wanted for layer in layers for key in _STATUS_KEYS)


def _summary(body: Any) -> str:
    if not isinstance(body, dict):
        return repr(body)[:80]
    layers = [body, *(v for v in (body.get("data"),) if isinstance(v, dict))]
    ids = [str(layer[k]) for layer in layers for k in _ID_KEYS if k in layer]
    states = [str(layer[k]) for layer in layers for k in _STATUS_KEYS if k in layer]
    return f"task {ids[0] if ids else '?'} status {states[0] if states else '?'}"


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")
