"""Replicas: real `mockserver serve` processes on free loopback ports sharing one `--store`, for the
topology tests (two replicas behaving as one emulator).

Each replica runs `python -m mockserver serve --port P --store URL ...` with a stopped clock at a fixed
time (`--speed 0 --start-time START`, advanced through the control API) and one public URL, as
replicas behind one load balancer would. Its stderr goes to a file, quoted in every failure message.
`kill_9` ends one without letting it clean up, as a crash or an OOM kill would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from mockserver.testing import free_port, serve_in_thread
from pytest_plugin.callbacks import CallbackReceiver

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Bearer sk-topology"}
START = 1_750_000_000.0
PUBLIC = "http://emulator.topology.test"
# What a replica's arguments are, besides its port and store.
BASE_ARGS = ("--speed", "0", "--start-time", str(START), "--public-url", PUBLIC, "--seed", "0")
ONE_PROCESS = "one-process"
# One `serve --workers 2` (default store): its workers must behave as replicas do. A and B are the same
# URL; each call opens a new connection, so the kernel hands it to either worker.
WORKERS = "workers"
NOT_WIRED = "redis:// store not wired into serve yet"

_prefixes = itertools.count(1)


class StoreNotWired(Exception):
    """`serve --store URL` refused the URL as a usage error (exit 2 naming --store): that kind of
    store is not available in this build."""


class Replica:
    """One `mockserver serve` process: its URL, an httpx client with a key, and its stderr."""

    def __init__(
        self, name: str, store: str, *extra: str, folder: Path, port: int | None = None, keep_alive: bool = True
    ) -> None:
        self.name = name
        self.store = store
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._stderr_path = folder / f"{name}-{self.port}.stderr"
        self._stderr = self._stderr_path.open("wb")
        cmd = [sys.executable, "-m", "mockserver", "serve", "--port", str(self.port), "--store", store]
        self.proc = subprocess.Popen(
            [*cmd, *BASE_ARGS, *extra],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        limits = httpx.Limits() if keep_alive else httpx.Limits(max_keepalive_connections=0)
        self.http = httpx.Client(base_url=self.url, headers=AUTH, timeout=30.0, trust_env=False, limits=limits)

    def __repr__(self) -> str:
        return f"<Replica {self.name} {self.url} pid={self.proc.pid}>"

    # -- life ------------------------------------------------------------------------------------
    def stderr(self) -> str:
        self._stderr.flush()
        return self._stderr_path.read_text(errors="replace").strip()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float = 30.0) -> Replica:
        """Block until `/__mock/health` answers 200; `StoreNotWired` or RuntimeError (with stderr) if it
        exits first, TimeoutError if it never answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                err = self.stderr()
                if code == 2 and "--store" in err:
                    raise StoreNotWired(err)
                raise RuntimeError(f"replica {self.name} exited with {code} before it was healthy: {err}")
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/__mock/health").status_code == 200:
                    return self
            time.sleep(0.05)
        raise TimeoutError(f"replica {self.name} on {self.url} not healthy within {timeout}s: {self.stderr()}")

    def stop(self) -> None:
        """Terminate (then kill, if it does not stop) and close what it holds."""
        self.http.close()
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._stderr.close()

    # -- calls -----------------------------------------------------------------------------------
    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=body, **kw)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """A control API call that must succeed; its JSON answer."""
        response = self.http.request(method, "/__mock/" + path, json=body)
        assert response.status_code in (200, 201), f"{self.name} {method} /__mock/{path}: {response.text}"
        return response.json()

    def chat(self, content: str, *, model: str = "gpt-4o-mini") -> httpx.Response:
        return self.post("/v1/chat/completions", chat_body(content, model=model))

    def advance(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", "clock/advance", {"seconds": seconds})
        return result

    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "clock")
        return result

    def imagine(self, prompt: str, hook: str = "") -> str:
        """Submit a Midjourney imagine task; its id."""
        body = {"prompt": prompt, "botType": "MID_JOURNEY", "notifyHook": hook, "state": "", "base64Array": []}
        response = self.post("/mj/submit/imagine", body)
        assert response.status_code == 200 and response.json().get("code") == 1, f"{self.name}: {response.text}"
        return str(response.json()["result"])

    def fetch(self, task_id: str) -> dict[str, Any]:
        response = self.get(f"/mj/task/{task_id}/fetch")
        assert response.status_code == 200, f"{self.name} fetch {task_id}: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    def plan(self, task_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.control("GET", f"tasks/{task_id}")["plan"]
        return result


def chat_body(content: str, *, model: str = "gpt-4o-mini") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}]}


def kill_9(replica: Replica) -> None:
    """End a replica with SIGKILL: no shutdown hook runs, its claims and connections are left as they were."""
    os.kill(replica.proc.pid, signal.SIGKILL)
    replica.proc.wait(timeout=10)


class Replicas:
    """Replicas of one emulator on one store: `a`, `b` (the first two), `all`."""

    def __init__(self, store: str, replicas: Sequence[Replica], folder: Path, extra: Sequence[str] = ()) -> None:
        self.store = store
        self.all = list(replicas)
        self.folder = folder
        self.extra = tuple(extra)  # the flags every replica of this set starts with

    def start(self, *names: str, port: int | None = None) -> list[Replica]:
        """More replicas on the store, started together (the first on `port` if given, e.g. a killed
        one's, as a supervisor restarts it)."""
        new = [
            Replica(name, self.store, *self.extra, folder=self.folder, port=port if i == 0 else None)
            for i, name in enumerate(names)
        ]
        self.all.extend(new)
        for replica in new:
            replica.wait_ready()
        return new

    @property
    def a(self) -> Replica:
        return self.all[0]

    @property
    def b(self) -> Replica:
        return self.all[1]

    def reset_each(self) -> None:
        """`POST /__mock/reset` on every live replica, so a test starts clean whatever is shared yet."""
        for replica in self.all:
            if replica.alive:
                replica.control("POST", "reset")

    def stderr(self) -> str:
        return "\n".join(f"--- {r.name} stderr:\n{r.stderr()}" for r in self.all)


@contextlib.contextmanager
def running_replicas(store: str, count: int = 2, *extra: str) -> Iterator[Replicas]:
    """`count` replicas on `store`, healthy; stopped (terminate, then kill) on exit. Raises
    `StoreNotWired` when serve refuses the store URL. The store `one-process` is the tests' own check:
    one `memory` process stands for every replica, so every state is shared by construction, and a
    test that fails there is wrong itself."""
    folder = Path(tempfile.mkdtemp(prefix="mockserver-topology-"))
    started: list[Replica] = []
    replicas: Replicas | None = None
    try:
        if store in (ONE_PROCESS, WORKERS):
            workers = ("--workers", "2") if store == WORKERS else ()
            started.append(Replica("a=b", "memory", *workers, *extra, folder=folder, keep_alive=store != WORKERS))
            started[-1].wait_ready()
            replicas = Replicas(store, started * count, folder)
            yield replicas
            return
        # All at once, as a deployment starts its replicas: creating the store's tables and clock must
        # be safe when several do it together.
        started.extend(Replica(name, store, *extra, folder=folder) for name in "abcdefgh"[:count])
        for replica in started:
            replica.wait_ready()
        replicas = Replicas(store, started, folder, extra)
        yield replicas
    finally:
        for replica in {id(r): r for r in (*started, *(replicas.all if replicas else ()))}.values():
            replica.stop()
        shutil.rmtree(folder, ignore_errors=True)


def sqlite_store(folder: Path) -> str:
    return f"sqlite:///{folder / 'state.db'}"


def redis_store(server_url: str) -> str:
    """A store URL on a Redis server with a key prefix of its own (replica sets never see each other)."""
    return f"{server_url}?prefix=topology-{os.getpid()}-{next(_prefixes)}"


def wait_for(check: Callable[[], Any], what: str, timeout: float = 15.0, every: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy (that value is returned); AssertionError naming
    `what` (and the last value) when it never does."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


@contextlib.contextmanager
def explained(replicas: Replicas) -> Iterator[None]:
    """An AssertionError raised inside carries the replicas' stderr (what they logged while it failed)."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{replicas.stderr()}") from exc


class HoldingReceiver(CallbackReceiver):
    """A callback receiver that can hold its answers: with `held` set, each callback is recorded at once
    but answered only when `held` is cleared, so its sender is caught mid-delivery."""

    def __init__(self) -> None:
        super().__init__()
        self.held = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def send_when_released(message: dict[str, Any]) -> None:
            while message["type"] == "http.response.start" and self.held.is_set():
                await asyncio.sleep(0.02)
            await send(message)

        await super().__call__(scope, receive, send_when_released)


@contextlib.contextmanager
def running_holding_receiver() -> Iterator[HoldingReceiver]:
    receiver = HoldingReceiver()
    with serve_in_thread(receiver) as server:
        receiver.url = server.url + "/callback"
        try:
            yield receiver
        finally:
            receiver.held.clear()  # never leave a sender (or the server's shutdown) waiting
