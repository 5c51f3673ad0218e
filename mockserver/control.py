"""The control API under `/__mock`: health, journal, reset, clock, tasks, callbacks, faults, stubs, OpenAPI document."""

from __future__ import annotations

import hmac
import math
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver import ui
from mockserver.answers import JSONAnswer
from mockserver.faults import parse_fault
from mockserver.latency import MODES, realistic
from mockserver.rules import RuleBook, RuleError
from mockserver.state import MockState
from mockserver.stubs import parse_stub
from mockserver.version import __version__


def _state(request: Request) -> MockState:
    state: MockState = request.app.state.mock
    return state


def control_error(status: int, message: str, field: str | None = None) -> JSONAnswer:
    """Control API errors: `{"error": {"message", "type": "mock_control_error", "param"}}`."""
    return JSONAnswer({"error": {"message": message, "type": "mock_control_error", "param": field}}, status)


ControlEndpoint = Callable[[Request], Awaitable[Response]]
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Ten years: far more than any test needs, and small enough that every later time stays finite.
MAX_ADVANCE_SECONDS = 10 * 365.25 * 86400
MAX_LIMIT = 1_000_000


def control_tokens(request: Request) -> list[str]:
    """The control tokens a request may carry: `Authorization: Bearer` and `x-mock-token` (a client that
    sends an API key as Bearer can still add the token in its own header)."""
    headers = request.headers
    found = []
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        found.append(token.strip())
    if headers.get("x-mock-token", "").strip():
        found.append(headers["x-mock-token"].strip())
    return found


def token_ok(request: Request, expected: str) -> bool:
    """Whether the request carries `expected` (compared in constant time)."""
    wanted = expected.encode()
    return any(hmac.compare_digest(given.encode(), wanted) for given in control_tokens(request))


def _cross_site(request: Request) -> str | None:
    """Why a write looks like a browser page on another origin (None: it does not)."""
    site = request.headers.get("sec-fetch-site", "").lower()
    if site and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site: {site}"
    origin = request.headers.get("origin")
    if origin is None:
        return None  # not a browser, or a same-origin GET-style navigation
    if origin == "null":
        return "Origin: null"
    own = {request.headers.get("host", "").lower()}
    public = _state(request).settings.public_url
    if public:  # behind a proxy the page's origin is the public URL, whatever Host the proxy sends
        own.add(urllib.parse.urlsplit(public).netloc.lower())
    if urllib.parse.urlsplit(origin).netloc.lower() not in own:
        return f"Origin: {origin}"
    return None


def check_control(request: Request) -> Response | None:
    """The refusal a control request gets (None: let it through). Used by every `/__mock/*` route but
    health: the token when one is set, and for writes no cross-site browser origin, JSON bodies only
    and no body beyond `control_max_bytes`."""
    settings = _state(request).settings
    expected = settings.control_token
    if expected and not token_ok(request, expected):
        answer = control_error(401, "the control API needs the control token (Authorization: Bearer or x-mock-token)")
        answer.headers["WWW-Authenticate"] = 'Bearer realm="mockserver control"'
        return answer
    if request.method not in _WRITES:
        return None
    why = _cross_site(request)
    if why is not None:
        return control_error(403, f"cross-origin writes to the control API are refused ({why})", "Origin")
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        return control_error(
            415,
            f"unsupported content type {media!r}: the control API takes JSON"
            " (Content-Type: application/json; with curl, --json)",
            "Content-Type",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.control_max_bytes:
        return control_error(413, f"body larger than {settings.control_max_bytes} bytes", "body")
    return None


def guarded(endpoint: ControlEndpoint) -> ControlEndpoint:
    """`endpoint` behind `check_control` (the dashboard's routes use it too)."""

    async def run(request: Request) -> Response:
        refused = check_control(request)
        return refused if refused is not None else await endpoint(request)

    run.__name__ = getattr(endpoint, "__name__", "control")
    run.__doc__ = endpoint.__doc__
    return run


async def _body(request: Request) -> bytes:
    """The body, read no further than the control API's size limit."""
    limit = _state(request).settings.control_max_bytes
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RuleError(f"body: larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json(request: Request) -> Any:
    raw = await _body(request)
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
    await _state(request).reset()
    return JSONAnswer({"reset": True})


async def clock(request: Request) -> Response:
    return JSONAnswer(_state(request).clock.describe())


async def clock_advance(request: Request) -> Response:
    state = _state(request)
    try:
        data = await _json(request)
    except RuleError as exc:
        return control_error(413 if str(exc).startswith("body: larger than") else 400, str(exc), "body")
    seconds = data.get("seconds") if isinstance(data, dict) else None
    if (
        not isinstance(seconds, (int, float))
        or isinstance(seconds, bool)
        or not math.isfinite(seconds)
        or not 0 <= seconds <= MAX_ADVANCE_SECONDS
    ):
        return control_error(400, f"seconds: must be a number from 0 to {MAX_ADVANCE_SECONDS:g} (ten years)", "seconds")
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
            status = 413 if str(exc).startswith("body: larger than") else 400
            return control_error(status, str(exc), str(exc).split(":", 1)[0])
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
        Route(f"/__mock/{kind}", guarded(collection), methods=["GET", "POST", "DELETE"]),
        Route(f"/__mock/{kind}/{{rule_id}}", guarded(item), methods=["GET", "DELETE"]),
    ]


def _task_engine(request: Request) -> Any:
    """The task engine (`mockserver.tasks`), found in the state so this module imports nothing above core;
    None when no family has asked for one."""
    return _state(request).ext.get("tasks")


def _limit(request: Request) -> int | JSONAnswer | None:
    raw = request.query_params.get("limit")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 7 or int(raw) > MAX_LIMIT:
        return control_error(400, f"limit: must be a whole number from 0 to {MAX_LIMIT}", "limit")
    return int(raw)


async def _engine_listing(request: Request, empty: dict[str, Any], read: Callable[[Any, int | None], Any]) -> Response:
    """A listing the task engine answers (`?limit=` checked first), or `empty` when there is no engine."""
    limit = _limit(request)
    if isinstance(limit, JSONAnswer):
        return limit
    engine = _task_engine(request)
    return JSONAnswer(empty if engine is None else read(engine, limit))


async def tasks(request: Request) -> Response:
    """Every task with its current view (`?vendor=`, `?status=` (vendor status or phase), `?limit=`)."""
    query = request.query_params
    return await _engine_listing(
        request,
        {"tasks": [], "count": 0},
        lambda engine, limit: engine.control_tasks(vendor=query.get("vendor"), status=query.get("status"), limit=limit),
    )


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
    return await _engine_listing(
        request,
        {"callbacks": [], "count": 0, "attempts": 0, "delivered": 0, "failed": 0},
        lambda engine, limit: engine.control_callbacks(task=request.query_params.get("task"), limit=limit),
    )


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


# Health stays open (container health checks carry no token); everything else is guarded.
# Health stays open (container health checks carry no token); everything else goes through `guarded`.
ROUTES = [
    Route("/__mock/health", health, methods=["GET"]),
    Route("/__mock/requests", guarded(requests), methods=["GET", "DELETE"]),
    Route("/__mock/reset", guarded(reset), methods=["POST"]),
    Route("/__mock/clock", guarded(clock), methods=["GET"]),
    Route("/__mock/clock/advance", guarded(clock_advance), methods=["POST"]),
    Route("/__mock/latency", guarded(latency), methods=["GET", "POST"]),
    Route("/__mock/tasks", guarded(tasks), methods=["GET"]),
    Route("/__mock/tasks/{task_id}", guarded(task), methods=["GET"]),
    Route("/__mock/callbacks", guarded(callbacks), methods=["GET"]),
    *_rule_routes("faults", parse_fault),
    *_rule_routes("stubs", parse_stub),
    Route("/__mock/openapi.json", guarded(openapi), methods=["GET"]),
    *ui.routes(guard=guarded),  # the dashboard page (a static shell) and the journal's live stream
]
