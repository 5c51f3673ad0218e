"""`TaskClient`: JSON calls against an emulator, its virtual clock, and reads of Midjourney tasks.

Shared by the in-process Midjourney helper (`tests/midjourney/mj_helpers.py`, a TestClient) and the
live-server helper (`tests/tasks/helpers.py`, an httpx client); each says only how it sends a request.
"""

from __future__ import annotations

from typing import Any

import httpx


class TaskClient:
    """Subclasses set `send(method, path, **kw) -> httpx.Response`."""

    def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        raise NotImplementedError

    def post(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.send("POST", path, json=body, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.send("GET", path, **kw)

    def advance(self, seconds: float) -> dict[str, Any]:
        response = self.post("/__mock/clock/advance", {"seconds": seconds})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def now(self) -> float:
        return float(self.get("/__mock/clock").json()["now"])

    def fetch(self, task_id: str) -> dict[str, Any]:
        response = self.get(f"/mj/task/{task_id}/fetch")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def plan(self, task_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get(f"/__mock/tasks/{task_id}").json()["plan"]
        return result

    def finish(self, task_id: str) -> dict[str, Any]:
        """Advance the clock to the task's last planned step (if it is still ahead) and fetch the task."""
        last = self.plan(task_id)[-1]["at"]
        now = self.now()
        if last > now:
            self.advance(last - now + 0.001)
        return self.fetch(task_id)
