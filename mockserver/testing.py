"""Run an ASGI app on a free loopback port in a background thread (tests, fixtures, benchmarks)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any


def wait_healthy(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """Poll `url`/__mock/health until it answers; fail early if `proc` (the server process) exits."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server process exited with {proc.returncode} before it was healthy")
        try:
            body: dict[str, Any] = httpx.get(url + "/__mock/health", timeout=1.0).json()
            return body
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not become healthy within {timeout}s")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """uvicorn serving `app` in a daemon thread; `url` is set once it listens."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, root_path: str = "") -> None:
        import uvicorn

        self.host = host
        self.port = port or free_port(host)
        from mockserver.serving import server_options
        from mockserver.settings import Settings

        # The emulator's own limits (head size, timeouts) when `app` is one; the defaults otherwise.
        mock = getattr(getattr(app, "state", None), "mock", None)
        settings = getattr(mock, "settings", None) or Settings()
        options = server_options(settings)
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", lifespan="on", root_path=root_path, **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"mockserver:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"server on port {self.port} failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on port {self.port} did not start within {timeout}s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout)


@contextlib.contextmanager
def serve_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, root_path: str = ""
) -> Iterator[ThreadedServer]:
    """`with serve_in_thread(app) as server: httpx.get(server.url + ...)` — torn down on exit. `root_path`
    is uvicorn's `--root-path` (the app served below a proxy's prefix)."""
    server = ThreadedServer(app, host, port, root_path=root_path).start()
    try:
        yield server
    finally:
        server.stop()
