"""`Emulator`: what a test holds to drive a running emulator — its URL, a key, and the `/__mock` control API."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import Any

# (method, path, JSON body or None) -> (status, decoded JSON answer)
Send = Callable[[str, str, Any], tuple[int, Any]]

DEFAULT_API_KEY = "sk-mockserver-test"


# new-api's quota unit: 500,000 quota = 1 USD.
QUOTA_PER_USD = 500_000


class ControlError(AssertionError):
    """The control API refused a request (e.g. a malformed fault rule); the message names the field.

    `.status` is the HTTP status, `.field` the field the emulator named (`operation`, `status`, ...) and
    `.detail` its message alone (`operation: unknown operation 'chat_completion' (closest: ...)`)."""

    def __init__(self, message: str, *, status: int = 0, field: str | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.detail = detail or message


class BudgetExceeded(AssertionError):
    """Calls inside `mockserver.budget(...)` spent more than the budget."""


@dataclasses.dataclass
class Budget:
    """What `mockserver.budget(...)` yields: the limit, and (after the block) the quota spent."""

    limit: int
    start: int
    quota: int = 0

    @property
    def usd(self) -> float:
        return self.quota / QUOTA_PER_USD


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
            error = payload.get("error") if isinstance(payload, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            field = error.get("param") if isinstance(error, dict) else None
            detail = str(message or payload)
            raise ControlError(
                f"{method.upper()} {full} answered {status}: {detail}", status=status, field=field, detail=detail
            )
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
        `times`, `probability`, `retry_after`, and the wire faults `stream_cut_after`, `ttfb_ms`,
        `stall_ms`, `reset`, `malformed`); returns the rule as stored. A rule the emulator refuses (an
        unknown operation or field, a bad regex, a status outside 100..599) raises `ControlError`."""
        result: dict[str, Any] = self.control("POST", "faults", {**(rule or {}), **fields})
        return result

    def latency(self, mode: str = "realistic", *, scale: float = 1.0) -> dict[str, Any]:
        """Pace model answers (`realistic` profiles, every delay × `scale`) until the next reset — the
        fixtures reset before each test, so it lasts one test. `latency("none")` turns it off."""
        result: dict[str, Any] = self.control("POST", "latency", {"mode": mode, "scale": scale})
        return result

    def stub(self, rule: Mapping[str, Any] | None = None, /, **fields: Any) -> dict[str, Any]:
        """Fix generated content for matching requests (`match` regex or `operation`/`body_json` +
        `content`, `tool_calls`, `reasoning`, `json`, or a whole `response`)."""
        result: dict[str, Any] = self.control("POST", "stubs", {**(rule or {}), **fields})
        return result

    # -- the gateway: keys, usage and budgets -----------------------------------------------------
    def create_key(self, spec: Mapping[str, Any] | None = None, /, **fields: Any) -> dict[str, Any]:
        """Create a gateway key (`key`, `name`, `quota`, `expired_time`, `status`, `model_limits`,
        `allow_ips`, `group`, `rpm`, `tpm`, `rate_window`); returns it with its full `key` and `id`."""
        result: dict[str, Any] = self.control("POST", "keys", {**(spec or {}), **fields})
        return result

    @property
    def keys(self) -> list[dict[str, Any]]:
        """Every gateway key with its remaining and used quota."""
        return _listing(self.control("GET", "keys"), "keys")

    def usage(self, key: str | None = None) -> dict[str, Any]:
        """Totals of one key (default: this emulator's `api_key`): `calls`, `errors`, `prompt_tokens`,
        `completion_tokens`, `quota` (refunds taken off), `refunded`, `usd`."""
        query = urllib.parse.urlencode({"key": key or self.api_key})
        result: dict[str, Any] = self.control("GET", f"usage?{query}")
        return result

    def cost_of(self, action: Callable[[], Any], *, key: str | None = None) -> int:
        """Run `action` and return the quota it spent on `key` (default: `api_key`)."""
        before = int(self.usage(key)["quota"])
        action()
        return int(self.usage(key)["quota"]) - before

    @contextlib.contextmanager
    def budget(self, quota: int | None = None, *, usd: float | None = None, key: str | None = None) -> Iterator[Budget]:
        """Fail the test when the calls inside spend more than `quota` (or `usd` dollars) on `key`:

        with mockserver.budget(usd=0.01) as spent:
            summarize(document)
        print(spent.quota)
        """
        if (quota is None) == (usd is None):
            raise ControlError("budget: give exactly one of quota= or usd=")
        limit = quota if quota is not None else round(float(usd or 0) * QUOTA_PER_USD)
        tracker = Budget(limit, int(self.usage(key)["quota"]))
        yield tracker
        tracker.quota = int(self.usage(key)["quota"]) - tracker.start
        if tracker.quota > limit:
            raise BudgetExceeded(
                f"spent {tracker.quota} quota (${tracker.quota / QUOTA_PER_USD:.6f}), over the budget of "
                f"{limit} quota (${limit / QUOTA_PER_USD:.6f}) on key {key or self.api_key!r}"
            )


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
