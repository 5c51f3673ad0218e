"""`Emulator`: what a test holds to drive a running emulator — its URL, a key, and the `/__mock` control API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

# (method, path, JSON body or None) -> (status, decoded JSON answer)
Send = Callable[[str, str, Any], tuple[int, Any]]

DEFAULT_API_KEY = "sk-mockserver-test"


class ControlError(AssertionError):
    """The control API refused a request (e.g. a malformed fault rule); the message names the field."""


class Emulator:
    """A running emulator as a test sees it: `url`, `base_url`, `api_key` and control helpers.

    `mockserver.fault(operation="chat_completions", status=429, retry_after=1, times=1)`,
    `mockserver.stub(match="weather", content="Sunny.")`, `mockserver.advance(30)`,
    `mockserver.requests`, `mockserver.tasks`, `mockserver.callbacks`.
    """

    def __init__(self, url: str, api_key: str, send: Send) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self._send = send

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    @property
    def base_url(self) -> str:
        """`url + "/v1"`: what OpenAI-style SDKs take as `base_url`."""
        return self.url + "/v1"

    @property
    def headers(self) -> dict[str, str]:
        """`Authorization: Bearer <api_key>`, for hand-made requests."""
        return {"Authorization": f"Bearer {self.api_key}"}

    # -- the control API ----------------------------------------------------------------------
    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call `/__mock/<path>` and return its JSON answer; a refusal raises `ControlError`."""
        full = path if path.startswith("/__mock") else "/__mock/" + path.lstrip("/")
        status, payload = self._send(method.upper(), full, body)
        if status >= 400:
            message = payload.get("error", {}).get("message") if isinstance(payload, dict) else None
            raise ControlError(f"{method.upper()} {full} answered {status}: {message or payload!r}")
        return payload

    def reset(self) -> None:
        """Forget requests, tasks, callbacks, faults and stubs (done before every test)."""
        self.control("POST", "reset")

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the virtual task clock forward; returns the clock's new state."""
        result: dict[str, Any] = self.control("POST", "clock/advance", {"seconds": seconds})
        return result

    @property
    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "clock")
        return result

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The journal of received requests (secrets redacted), oldest first."""
        return _listing(self.control("GET", "requests"), "requests")

    def requests_for(self, operation: str) -> list[dict[str, Any]]:
        """The journal entries of one operation (e.g. `chat_completions`)."""
        return [r for r in self.requests if r.get("operation") == operation]

    @property
    def tasks(self) -> list[dict[str, Any]]:
        """Every async task (Midjourney, Suno, video, ...) with its current view."""
        return _listing(self.control("GET", "tasks"), "tasks")

    def task(self, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", f"tasks/{task_id}")
        return result

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        """Every callback delivery attempt: task, url, status sent, attempt, answer or error."""
        return _listing(self.control("GET", "callbacks"), "callbacks")

    def fault(self, rule: Mapping[str, Any] | None = None, /, **fields: Any) -> dict[str, Any]:
        """Inject a fault rule (`operation`/`path`/`method`/`match` + `status`, `body`, `latency_ms`,
        `times`, `probability`, `retry_after`, `stream_cut_after`); returns the rule as stored."""
        result: dict[str, Any] = self.control("POST", "faults", {**(rule or {}), **fields})
        return result

    def stub(self, rule: Mapping[str, Any] | None = None, /, **fields: Any) -> dict[str, Any]:
        """Fix generated content for matching requests (`match` regex or `operation`/`body_json` +
        `content`, `tool_calls`, `reasoning`, `json`, or a whole `response`)."""
        result: dict[str, Any] = self.control("POST", "stubs", {**(rule or {}), **fields})
        return result


def _listing(payload: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(payload, dict) and isinstance(payload.get(key), list):
        return list(payload[key])
    if isinstance(payload, list):
        return payload
    raise ControlError(f"unexpected answer from /__mock/{key}: {payload!r}")


def urllib_sender(url: str, timeout: float = 30.0, token: str | None = None) -> Send:
    """Send control requests over the network with the standard library (never seen by respx), with
    the emulator's control token when it has one."""
    root = url.rstrip("/")

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(root + path, data=data, method=method)
        if token:
            request.add_header("x-mock-token", token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read())

    return send


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
