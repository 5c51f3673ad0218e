"""Midjourney test helpers: the emulator in-process (strict responses, stopped clock) behind a small API."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.task_client import TaskClient

AUTH = {"Authorization": "Bearer sk-test"}
START = 1_750_000_000.0
BASE = "http://127.0.0.1:8080"
PNG_1x1 = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class Mj(TaskClient):
    """The emulator through a TestClient: JSON calls, the clock, and task shortcuts."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, path, **kw)

    def submit(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(path, body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def imagine(self, prompt: str = "cat", **extra: Any) -> str:
        answer = self.submit("/mj/submit/imagine", {"prompt": prompt, "botType": "MID_JOURNEY", **extra})
        assert answer["code"] == 1, answer
        return str(answer["result"])

    def action(self, task_id: str, custom_id: str, **extra: Any) -> dict[str, Any]:
        return self.submit("/mj/submit/action", {"taskId": task_id, "customId": custom_id, **extra})

    def button(self, task: dict[str, Any], label: str) -> str:
        for b in task["buttons"]:
            if label in (b["label"], b["emoji"]) or b["customId"].startswith(label):
                return str(b["customId"])
        raise AssertionError(f"no button {label!r} in {[b['label'] or b['emoji'] for b in task['buttons']]}")


@contextlib.contextmanager
def mj_client(**overrides: Any) -> Iterator[Mj]:
    fields: dict[str, Any] = {"strict_responses": True, "speed": 0.0, "start_time": START}
    fields.update(overrides)
    with TestClient(create_app(Settings(**fields)), headers=AUTH, base_url=BASE) as client:
        yield Mj(client)
