"""The control API under `/__mock`: health, journal, reset, clock, tasks, callbacks, faults, stubs, OpenAPI document."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.answers import JSONAnswer
from mockserver.faults import parse_fault
from mockserver.latency import MODES, realistic
from mockserver.rules import RuleBook, RuleError
from mockserver.state import MockState
from mockserver.stubs import parse_stub
from mockserver.ui import ROUTES as UI_ROUTES
from mockserver.version import __version__


def _state(request: Request) -> MockState:
    state: MockState = request.app.state.mock
    return state


def control_error(status: int, message: str, field: str | None = None) -> JSONAnswer:
    """Control API errors: `{"error": {"message", "type": "mock_control_error", "param"}}`."""
    return JSONAnswer({"error": {"message": message, "type": "mock_control_error", "param": field}}, status)


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RuleError(f"body: invalid JSON ({exc})") from None


async def health(request: Request) -> Response:
    state = _state(request)
    return JSONAnswer({"status": "ok", "version": __version__, "operations": len(state.contracts)})


async def requests(request: Request) -> Response:
    state = _state(request)
    if request.method == "DELETE":
        state.journal.clear()
        return JSONAnswer({"deleted": True})
    entries = state.journal.entries()
    operation = request.query_params.get("operation")
    if operation:
        entries = [e for e in entries if e["operation"] == operation]
    return JSONAnswer({"requests": entries, "count": len(entries)})


async def reset(request: Request) -> Response:
    _state(request).reset()
    return JSONAnswer({"reset": True})


async def clock(request: Request) -> Response:
    return JSONAnswer(_state(request).clock.describe())


async def clock_advance(request: Request) -> Response:
    state = _state(request)
    try:
        data = await _json(request)
    except RuleError as exc:
        return control_error(400, str(exc), "body")
    seconds = data.get("seconds") if isinstance(data, dict) else None
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        return control_error(400, "seconds: must be a number >= 0", "seconds")
    state.clock.advance(float(seconds))
    return JSONAnswer(state.clock.describe())


def _rule_routes(kind: str, parse: Any) -> list[Route]:
    """GET/POST/DELETE on `/__mock/<kind>` and GET/DELETE on `/__mock/<kind>/{id}`."""

    def book(request: Request) -> RuleBook[Any]:
        return getattr(_state(request), kind)  # type: ignore[no-any-return]

    async def collection(request: Request) -> Response:
        rules = book(request)
        if request.method == "GET":
            return JSONAnswer({kind: [r.describe() for r in reversed(list(rules.newest_first()))]})
        if request.method == "DELETE":
            rules.clear()
            return JSONAnswer({"deleted": True})
        try:
            data = await _json(request)
            items = data if isinstance(data, list) else [data]
            made = []
            for item in items:
                given = item.get("id") if isinstance(item, dict) else None
                rule_id = given if isinstance(given, str) else rules.new_id()
                made.append((rule_id, parse(rule_id, item, _state(request).known_operations)))
        except RuleError as exc:
            return control_error(400, str(exc), str(exc).split(":", 1)[0])
        for rule_id, rule in made:
            rules.add(rule_id, rule)
        described = [rule.describe() for _, rule in made]
        return JSONAnswer(described if isinstance(data, list) else described[0], 201)

    async def item(request: Request) -> Response:
        rules = book(request)
        rule_id = request.path_params["rule_id"]
        rule = rules.get(rule_id)
        if rule is None:
            return control_error(404, f"no {kind[:-1]} with id {rule_id!r}", "id")
        if request.method == "DELETE":
            rules.remove(rule_id)
            return JSONAnswer({"deleted": rule_id})
        return JSONAnswer(rule.describe())

    return [
        Route(f"/__mock/{kind}", collection, methods=["GET", "POST", "DELETE"]),
        Route(f"/__mock/{kind}/{{rule_id}}", item, methods=["GET", "DELETE"]),
    ]


def _task_engine(request: Request) -> Any:
    """The task engine (`mockserver.tasks`), found in the state so this module imports nothing above core;
    None when no family has asked for one."""
    return _state(request).ext.get("tasks")


def _limit(request: Request) -> int | JSONAnswer | None:
    raw = request.query_params.get("limit")
    if raw is None:
        return None
    if not raw.isdigit():
        return control_error(400, "limit: must be a whole number >= 0", "limit")
    return int(raw)


async def tasks(request: Request) -> Response:
    """Every task with its current view (`?vendor=`, `?status=` (vendor status or phase), `?limit=`)."""
    limit = _limit(request)
    if isinstance(limit, JSONAnswer):
        return limit
    engine = _task_engine(request)
    if engine is None:
        return JSONAnswer({"tasks": [], "count": 0})
    query = request.query_params
    return JSONAnswer(engine.control_tasks(vendor=query.get("vendor"), status=query.get("status"), limit=limit))


async def task(request: Request) -> Response:
    """One task: its current view and its whole plan (every step with its time)."""
    task_id = request.path_params["task_id"]
    engine = _task_engine(request)
    found = engine.control_task(task_id) if engine is not None else None
    if found is None:
        return control_error(404, f"no task with id {task_id!r}", "id")
    return JSONAnswer(found)


async def callbacks(request: Request) -> Response:
    """Every callback delivery attempt, oldest first (`?task=`, `?limit=`), with totals."""
    limit = _limit(request)
    if isinstance(limit, JSONAnswer):
        return limit
    engine = _task_engine(request)
    if engine is None:
        return JSONAnswer({"callbacks": [], "count": 0, "attempts": 0, "delivered": 0, "failed": 0})
    return JSONAnswer(engine.control_callbacks(task=request.query_params.get("task"), limit=limit))


def _latency_view(state: MockState) -> dict[str, Any]:
    if state.latency_override is None:
        return {"latency": state.settings.latency, "scale": state.latency_scale, "overridden": False}
    profiles, scale = state.latency_override
    return {"latency": "none" if profiles is None else "realistic", "scale": scale, "overridden": True}


async def latency(request: Request) -> Response:
    """`GET` the pacing in force; `POST {"mode": "none"|"realistic", "scale": X}` sets it until the next reset."""
    state = _state(request)
    if request.method == "POST":
        try:
            data = await _json(request)
        except RuleError as exc:
            return control_error(400, str(exc), "body")
        if not isinstance(data, dict):
            return control_error(400, "body: must be a JSON object", "body")
        unknown = sorted(set(data) - {"mode", "scale"})
        if unknown:
            return control_error(400, f"{unknown[0]}: unknown field (known: mode, scale)", unknown[0])
        mode = data.get("mode")
        if mode not in MODES:
            return control_error(400, f"mode: must be one of {', '.join(MODES)} (got {mode!r})", "mode")
        scale = data.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 <= scale <= 1000:
            return control_error(400, f"scale: must be a number within 0..1000 (got {scale!r})", "scale")
        state.latency_override = (realistic() if mode == "realistic" else None, float(scale))
    return JSONAnswer(_latency_view(state))


async def openapi(request: Request) -> Response:
    state = _state(request)
    return JSONAnswer(state.contracts.openapi(server_url=state.settings.base_url))


ROUTES = [
    Route("/__mock/health", health, methods=["GET"]),
    Route("/__mock/requests", requests, methods=["GET", "DELETE"]),
    Route("/__mock/reset", reset, methods=["POST"]),
    Route("/__mock/clock", clock, methods=["GET"]),
    Route("/__mock/clock/advance", clock_advance, methods=["POST"]),
    Route("/__mock/latency", latency, methods=["GET", "POST"]),
    Route("/__mock/tasks", tasks, methods=["GET"]),
    Route("/__mock/tasks/{task_id}", task, methods=["GET"]),
    Route("/__mock/callbacks", callbacks, methods=["GET"]),
    *_rule_routes("faults", parse_fault),
    *_rule_routes("stubs", parse_stub),
    Route("/__mock/openapi.json", openapi, methods=["GET"]),
    *UI_ROUTES,  # the dashboard page and the journal's live stream
]
