"""Callbacks: targets refused at submit (`--callback-allow`, link-local by default), a delivery id on
every POST, and a restarted server taking over its crashed predecessor's claims at once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.tasks.targets import refused_target
from mockserver.testing import free_port, serve_in_thread
from tests.tasks.helpers import START, ServerProcess

AUTH = {"Authorization": "Bearer sk-test"}


def _imagine(hook: str) -> dict[str, Any]:
    return {"prompt": "a red fox", "botType": "MID_JOURNEY", "notifyHook": hook, "state": "", "base64Array": []}


def test_refused_target_rules() -> None:
    assert refused_target("http://127.0.0.1:9/x") is None
    assert refused_target("http://10.1.2.3/x") is None
    assert refused_target("https://hooks.example.com/x") is None
    assert refused_target("http://169.254.169.254/latest/meta-data") is not None
    assert refused_target("http://[fe80::1]/x") is not None
    assert refused_target("http://metadata.google.internal/x") is not None
    allow = ("hooks.example.com", "127.0.0.1:5000")
    assert refused_target("https://hooks.example.com:8443/x", allow) is None
    assert refused_target("http://127.0.0.1:5000/x", allow) is None
    assert refused_target("http://127.0.0.1:8080/__mock/reset", allow) is not None
    assert refused_target("not a url", allow) is None  # left to the delivery, which logs it


@pytest.fixture
def allowing() -> Iterator[TestClient]:
    settings = Settings(speed=0.0, start_time=START, callback_allow=("127.0.0.1:5000",))
    with TestClient(create_app(settings), headers=AUTH) as c:
        yield c


def test_disallowed_targets_are_refused_at_submit_in_the_family_envelope(allowing: TestClient) -> None:
    answer = allowing.post("/mj/submit/imagine", json=_imagine("http://127.0.0.1:8080/__mock/reset"))
    assert answer.status_code == 400, answer.text
    assert "not allowed" in answer.text and "--callback-allow" in answer.text
    kling = allowing.post(
        "/kling/v1/videos/text2video", json={"prompt": "p", "callback_url": "http://169.254.169.254/x"}
    )
    assert kling.status_code == 400 and "not allowed" in kling.text, kling.text
    assert allowing.get("/__mock/tasks").json()["count"] == 0
    assert allowing.get("/__mock/callbacks").json()["attempts"] == 0
    ok = allowing.post("/mj/submit/imagine", json=_imagine("http://127.0.0.1:5000/hook"))
    assert ok.status_code == 200 and ok.json()["code"] == 1


class HoldingReceiver:
    """Records each POST's delivery id on arrival; while `hold` is set it never answers."""

    def __init__(self) -> None:
        self.hold = True
        self.arrived: list[str] = []
        self.delivered: list[str] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/hook", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        await request.body()
        delivery = request.headers.get("x-mock-delivery-id", "")
        with self._lock:
            self.arrived.append(delivery)
        while self.hold:
            await asyncio.sleep(0.05)
        with self._lock:
            self.delivered.append(delivery)
        return Response("ok")

    def wait(self, check: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if check(self):
                    return
            time.sleep(0.05)
        raise AssertionError(f"receiver: arrived {self.arrived}, delivered {self.delivered}")


def test_a_restarted_server_takes_over_its_crashed_claims_at_once(tmp_path: Path) -> None:
    receiver = HoldingReceiver()
    db = tmp_path / "tasks.db"
    port = free_port()
    args = ("--store", f"sqlite:///{db}", "--speed", "0", "--start-time", str(START), "--callback-timeout", "120")
    with serve_in_thread(receiver.app) as hooks:
        first = ServerProcess(*args, port=port).wait_ready()
        try:
            ids = []
            for i in range(3):
                answer = first.http.post(
                    "/mj/submit/imagine", json={**_imagine(hooks.url + "/hook"), "prompt": f"p{i}"}
                )
                ids.append(answer.json()["result"])
            steps = {i: len(first.http.get(f"/__mock/tasks/{i}").json()["plan"]) - 1 for i in ids}
            first.http.post("/__mock/clock/advance", json={"seconds": 400})
            receiver.wait(lambda r: len(r.arrived) >= 3, timeout=20)  # one step of each task in flight
            first.proc.kill()  # kill -9: no chance to hand the claims back
            first.proc.wait(10)
        finally:
            first.stop()
        receiver.hold = False
        started = time.monotonic()
        second = ServerProcess(*args, port=port).wait_ready()
        try:
            expected = {f"{task}:{step}" for task, count in steps.items() for step in range(1, count + 1)}
            receiver.wait(lambda r: expected <= set(r.delivered), timeout=30)
            assert time.monotonic() - started < 30  # not the five-minute lease
        finally:
            second.stop()
    assert all(d.count(":") == 1 for d in receiver.arrived)
    # Anything sent twice went out with the same delivery id, so a receiver can drop the repeat.
    assert set(receiver.delivered) == expected


def test_sigterm_during_deliveries_exits_promptly_and_hands_the_claims_back(tmp_path: Path) -> None:
    receiver = HoldingReceiver()
    db = tmp_path / "tasks.db"
    port = free_port()
    args = ("--store", f"sqlite:///{db}", "--speed", "0", "--start-time", str(START), "--callback-timeout", "120")
    with serve_in_thread(receiver.app) as hooks:
        first = ServerProcess(*args, "--shutdown-timeout", "2", port=port).wait_ready()
        try:
            task = first.http.post("/mj/submit/imagine", json=_imagine(hooks.url + "/hook")).json()["result"]
            steps = len(first.http.get(f"/__mock/tasks/{task}").json()["plan"]) - 1
            first.http.post("/__mock/clock/advance", json={"seconds": 400})
            receiver.wait(lambda r: len(r.arrived) >= 1, timeout=20)
            started = time.monotonic()
            first.proc.terminate()
            first.proc.wait(20)
            assert time.monotonic() - started < 10
        finally:
            first.stop()
        receiver.hold = False
        # Another process on the same file (a different port: not a restart of the first) finds the
        # step handed back at once, not after the claim's lease.
        with_other_port = ServerProcess(*args).wait_ready()
        try:
            receiver.wait(lambda r: {f"{task}:{i}" for i in range(1, steps + 1)} <= set(r.delivered), timeout=30)
        finally:
            with_other_port.stop()
