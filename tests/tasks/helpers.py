"""Shared test helpers for tasks and Midjourney: a loopback callback receiver, a live emulator, and
emulator subprocesses on a shared store."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testing import free_port, serve_in_thread
from tests.task_client import TaskClient

AUTH = {"Authorization": "Bearer sk-test"}
START = 1_750_000_000.0
ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """A loopback endpoint recording every POST it gets. `status_code` makes it refuse, `delay` slow."""

    def __init__(self) -> None:
        self.url = ""
        self.status_code = 200
        self.fail_next = 0  # answer 500 to this many requests first
        self.delay = 0.0
        self.calls: list[dict[str, Any]] = []
        self.refused = 0
        self._cond = threading.Condition()
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        raw = await request.body()
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        with self._cond:
            if self.fail_next > 0:
                self.fail_next -= 1
                self.refused += 1
                return Response("try again", status_code=500)
            self.calls.append({"path": request.url.path, "body": orjson.loads(raw), "at": time.monotonic()})
            self._cond.notify_all()
        return Response("ok" if self.status_code < 300 else "no", status_code=self.status_code)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        with self._cond:
            return [c["body"] for c in self.calls]

    def for_task(self, task_id: str) -> list[dict[str, Any]]:
        return [b for b in self.bodies if b.get("id") == task_id]

    def wait_until(self, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not check([c["body"] for c in self.calls]):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver: condition not met within {timeout}s; got {len(self.calls)} calls")
                self._cond.wait(left)
            return [c["body"] for c in self.calls]


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_in_thread(receiver.app) as server:
        receiver.url = server.url + "/hook"
        yield receiver


class Live(TaskClient):
    """A live emulator: `post`/`get` JSON with a key, `advance` the clock, `fetch` a Midjourney task."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.settings = settings
        self.http = httpx.Client(base_url=url, headers=AUTH, timeout=30.0, trust_env=False)

    def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, **kw)

    def close(self) -> None:
        self.http.close()


def emulator_settings(**overrides: Any) -> Settings:
    fields: dict[str, Any] = {"strict_responses": True, "speed": 0.0, "start_time": START, "port": free_port()}
    fields.update(overrides)
    return Settings(**fields)


@contextlib.contextmanager
def live_emulator(**overrides: Any) -> Iterator[Live]:
    """The emulator on a free loopback port whose settings know that port (so links point at it)."""
    settings = emulator_settings(**overrides)
    app = create_app(settings)
    with serve_in_thread(app, port=settings.port) as server:
        live = Live(server.url, settings)
        try:
            yield live
        finally:
            live.close()


class ServerProcess:
    """`python -m mockserver serve ...` (or another server `command`, e.g. replay) in a subprocess,
    stopped (and waited for) on exit."""

    def __init__(
        self, *args: str, port: int | None = None, env: dict[str, str] | None = None, command: str = "serve"
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "mockserver", command, "--port", str(self.port), *args]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.http = httpx.Client(base_url=self.url, headers=AUTH, timeout=30.0, trust_env=False)

    def wait_ready(self, timeout: float = 60.0) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"server exited with {self.proc.returncode}: {err}")
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/__mock/health").status_code == 200:
                    return self
            time.sleep(0.05)
        raise TimeoutError(f"server on {self.url} not ready within {timeout}s")

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if self.proc.stderr:
            self.proc.stderr.close()


@contextlib.contextmanager
def server_process(*args: str, port: int | None = None) -> Iterator[ServerProcess]:
    server = ServerProcess(*args, port=port)
    try:
        yield server.wait_ready()
    finally:
        server.stop()
