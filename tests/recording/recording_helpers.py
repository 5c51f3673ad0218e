"""Helpers for the recording tests: a scriptable fake gateway, a callback receiver, an ASGI driver."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mockserver.recording.server import CassetteApp
from mockserver.testing import ThreadedServer

HERE = Path(__file__).parent
CONTRACTS = HERE / "contracts"


@dataclasses.dataclass
class LiveProxy:
    """The recording proxy served on a loopback port."""

    app: CassetteApp
    server: ThreadedServer

    @property
    def url(self) -> str:
        return self.server.url


class FakeGateway:
    """An upstream that counts calls, streams slowly on demand, runs a task and sends callbacks."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.gate = threading.Event()
        self.use_gate = False
        self.stream_finished = threading.Event()
        self.polls: dict[str, int] = {}
        self.tasks = 0
        self.callback_gap = 0.02
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/echo", self.echo, methods=["GET", "POST"]),
                Route("/v1/audio/transcriptions", self.transcribe, methods=["POST"]),
                Route("/v1/audio/speech", self.speech, methods=["POST"]),
                Route("/mj/submit/imagine", self.imagine, methods=["POST"]),
                Route("/mj/task/{id}/fetch", self.fetch, methods=["GET"]),
                Route("/v1/messages", self.messages, methods=["POST"]),
            ]
        )

    def _count(self, request: Request) -> None:
        self.calls.append(f"{request.method} {request.url.path}")

    async def chat(self, request: Request) -> Response:
        self._count(request)
        body = await request.json()
        text = body["messages"][-1]["content"]
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 1750000000,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": f"echo: {text}"},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"total_tokens": 7},
                }
            )

        async def events() -> Any:
            for i, piece in enumerate(["Hel", "lo ", text]):
                chunk = {"id": "chatcmpl-2", "choices": [{"index": 0, "delta": {"content": piece}}]}
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
                if i == 0 and self.use_gate:
                    await asyncio.to_thread(self.gate.wait, 10)
                await asyncio.sleep(0.03)
            yield b"data: [DONE]\n\n"
            self.stream_finished.set()

        return StreamingResponse(events(), media_type="text/event-stream")

    async def models(self, request: Request) -> Response:
        self._count(request)
        return JSONResponse({"object": "list", "data": [{"id": "gpt-4o"}]})

    async def echo(self, request: Request) -> Response:
        """Everything received, echoed back — headers, query and body — plus a cookie."""
        self._count(request)
        raw = await request.body()
        payload = {"headers": dict(request.headers), "query": str(request.url.query), "body": raw.decode()}
        cookie = request.headers.get("cookie", "none")
        if request.query_params.get("stream"):
            auth = request.headers.get("authorization", "")

            async def events() -> Any:
                yield f"data: {orjson.dumps({'part': 1, 'auth': auth[:20]}).decode()}\n\n".encode()
                yield f"data: {orjson.dumps({'part': 2, 'auth': auth[20:]}).decode()}\n\n".encode()
                yield f"data: {orjson.dumps({'part': 3, 'echo': auth}).decode()}\n\n".encode()

            return StreamingResponse(events(), media_type="text/event-stream", headers={"set-cookie": f"s={cookie}"})
        return JSONResponse(
            payload, headers={"set-cookie": f"s={cookie}", "x-echo-key": request.headers.get("x-api-key", "")}
        )

    async def transcribe(self, request: Request) -> Response:
        self._count(request)
        async with request.form() as form:
            upload: Any = form["file"]
            data = await upload.read()
            return JSONResponse({"text": f"{upload.filename}:{len(data)}:{form['model']}"})

    async def speech(self, request: Request) -> Response:
        self._count(request)
        return Response(bytes(range(256)) * 4, media_type="audio/mpeg")

    async def imagine(self, request: Request) -> Response:
        self._count(request)
        body = await request.json()
        self.tasks += 1
        task_id = f"task-{self.tasks}"
        hook = body.get("notifyHook")
        answer = {"code": 1, "description": "提交成功", "result": task_id, "properties": {"notifyHook": hook}}
        background = BackgroundTask(self._callbacks, hook, task_id) if hook else None
        return JSONResponse(answer, background=background)

    async def _callbacks(self, hook: str, task_id: str) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            for status, progress in (("SUBMITTED", "0%"), ("IN_PROGRESS", "50%"), ("SUCCESS", "100%")):
                await asyncio.sleep(self.callback_gap)
                body = {"id": task_id, "status": status, "progress": progress, "properties": {"notifyHook": hook}}
                await client.post(hook, json=body)

    async def fetch(self, request: Request) -> Response:
        self._count(request)
        task_id = request.path_params["id"]
        n = self.polls.get(task_id, 0)
        self.polls[task_id] = n + 1
        status, progress = [("SUBMITTED", "0%"), ("IN_PROGRESS", "50%"), ("SUCCESS", "100%")][min(n, 2)]
        return JSONResponse({"id": task_id, "status": status, "progress": progress})

    async def messages(self, request: Request) -> Response:
        self._count(request)
        return JSONResponse({"type": "message", "content": [{"type": "text", "text": "hi"}]})


class CallbackReceiver:
    """A live endpoint that keeps what is POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.done = threading.Event()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.json()
        self.received.append(body)
        if body.get("status") == "SUCCESS":
            self.done.set()
        return JSONResponse({"ok": True, "n": len(self.received)})


@dataclasses.dataclass
class Answer:
    """A response captured at the ASGI level: every body message is one chunk, as sent."""

    status: int
    headers: dict[str, str]
    chunks: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def json(self) -> Any:
        return orjson.loads(self.body)


async def acall(
    app: Any, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None, query: str = ""
) -> Answer:
    """Drive an ASGI app directly and keep each body message (so chunk boundaries are visible)."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), *raw_headers],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    status = 0
    out_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers.update({k.decode(): v.decode() for k, v in message.get("headers", [])})
        elif message["type"] == "http.response.body" and message.get("body"):
            chunks.append(message["body"])

    await app(scope, receive, send)
    return Answer(status, out_headers, chunks)


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    """Poll `condition()` until it is true (for work another thread finishes, such as a callback write)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def call(app: Any, method: str, path: str, **kw: Any) -> Answer:
    """`acall` from synchronous code."""
    return asyncio.run(acall(app, method, path, **kw))


def chat_body(content: str = "Hi", *, stream: bool = False, **extra: Any) -> bytes:
    return orjson.dumps(
        {"model": "gpt-4o", "messages": [{"role": "user", "content": content}], "stream": stream, **extra}
    )


JSON = {"content-type": "application/json"}
