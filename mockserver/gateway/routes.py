"""Control API for the gateway: `/__mock/keys` (create, list, read, edit, delete), `/__mock/usage`, `/__mock/prices`."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.answers import JSONAnswer
from mockserver.gateway.core import USER_ID, USERNAME, Gateway, gateway_of
from mockserver.gateway.keys import EDITABLE, FIELDS, KeySpecError, parse_key, secret_of

# Fields `PATCH /__mock/keys/{id}` may change (the secret and id stay).
_EDITABLE = tuple(f for f in FIELDS if f not in ("id", "key"))


def _error(status: int, message: str, field: str | None = None) -> JSONAnswer:
    return JSONAnswer({"error": {"message": message, "type": "mock_control_error", "param": field}}, status)


def _gateway(request: Request) -> Gateway:
    found = gateway_of(request.app.state.mock)
    if found is None:  # create_app always installs it; a hand-built app may not
        raise RuntimeError("this app has no gateway installed")
    return found


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise KeySpecError(f"body: invalid JSON ({exc})") from None


def _field(message: str) -> str:
    return message.split(":", 1)[0].rsplit(".", 1)[-1]


async def keys(request: Request) -> Response:
    """GET: every key; POST: create one key or a list (201); DELETE: back to the keys the server started with."""
    gateway = _gateway(request)
    store = await gateway.ready()
    state = request.app.state.mock
    if request.method == "GET":
        await store.refresh(state.clock.now())
        return JSONAnswer({"keys": [k.view(full=True) for k in await store.all_keys()]})
    if request.method == "DELETE":
        await gateway.reset_keys()
        return JSONAnswer({"deleted": True})
    try:
        data = await _body(request)
        items = data if isinstance(data, list) else [data]
        made = [
            parse_key(
                item,
                where="key" if not isinstance(data, list) else f"[{i}]",
                now=state.clock.now(),
                fallback_seed=f"{state.settings.seed}|control|{gateway.next_seed()}",
            )
            for i, item in enumerate(items)
        ]
        stored = [await store.add(key) for key in made]
    except KeySpecError as exc:
        return _error(400, str(exc), _field(str(exc)))
    except ValueError as exc:
        return _error(409, str(exc), "key")
    views = [k.view(full=True) for k in stored]
    return JSONAnswer(views if isinstance(data, list) else views[0], 201)


def _key_id(request: Request) -> int | JSONAnswer:
    raw = request.path_params["key_id"]
    if not raw.isdigit() or len(raw) > 12:
        return _error(400, f"id: must be a whole number (got {raw!r})", "id")
    return int(raw)


async def key(request: Request) -> Response:
    """GET one key, PATCH some of its fields, DELETE it."""
    store = await _gateway(request).ready()
    key_id = _key_id(request)
    if isinstance(key_id, JSONAnswer):
        return key_id
    found = await store.get(key_id)
    if found is None:
        return _error(404, f"no key with id {key_id}", "id")
    if request.method == "DELETE":
        await store.remove(key_id)
        return JSONAnswer({"deleted": key_id})
    if request.method == "PATCH":
        try:
            data = await _body(request)
            if not isinstance(data, dict):
                raise KeySpecError("body: must be an object of key fields")
            unknown = sorted(set(data) - set(_EDITABLE))
            if unknown:
                raise KeySpecError(f"key.{unknown[0]}: cannot be changed here (editable: {', '.join(_EDITABLE)})")
            merged = {**found.view(full=True), **data}
            merged.pop("used_quota", None)
            merged.pop("created_time", None)
            merged.pop("accessed_time", None)
            if "quota" in data:
                merged.pop("remain_quota", None)
            if ("quota" in data or "remain_quota" in data) and "unlimited_quota" not in data:
                merged["unlimited_quota"] = False
            elif merged.get("unlimited_quota") and "remain_quota" not in data:
                merged.pop("remain_quota", None)  # an unlimited key's remaining quota is not a limit to keep
            parsed = parse_key(merged, where="key")
        except KeySpecError as exc:
            return _error(400, str(exc), _field(str(exc)))
        changes = {f: getattr(parsed, f) for f in EDITABLE}
        updated = await store.update(key_id, changes)
        if updated is None:
            return _error(404, f"no key with id {key_id}", "id")
        found = updated
    return JSONAnswer(found.view(full=True))


async def usage(request: Request) -> Response:
    """Totals of one key (`?key=sk-...`) or of every call, and the log rows behind them (`?rows=1`)."""
    gateway = _gateway(request)
    store = await gateway.ready()
    now = request.app.state.mock.clock.now()
    sent = request.query_params.get("key")
    if sent is not None and not sent.strip():
        return _error(400, "key: must not be empty (leave it out for every key's totals)", "key")
    secret = secret_of(sent) if sent else None
    totals = (await store.usage(secret, now)).as_dict()
    answer: dict[str, Any] = {"key": sent, **totals}
    found = await store.find(secret) if secret else None
    if found is not None:
        answer["remain_quota"] = found.remain_quota
        answer["unlimited_quota"] = found.unlimited_quota
        answer["status"] = found.view()["status"]
    if request.query_params.get("rows") in ("1", "true"):
        rows = await store.logs(now)
        answer["rows"] = [
            row.as_dict(USER_ID, USERNAME, gateway.describe) for row in rows if secret is None or row.secret == secret
        ]
    return JSONAnswer(answer)


async def price_table(request: Request) -> Response:
    """The price table in force, with its sources."""
    return JSONAnswer(_gateway(request).prices.describe())


ROUTES = [
    Route("/__mock/keys", keys, methods=["GET", "POST", "DELETE"]),
    Route("/__mock/keys/{key_id}", key, methods=["GET", "PATCH", "DELETE"]),
    Route("/__mock/usage", usage, methods=["GET"]),
    Route("/__mock/prices", price_table, methods=["GET"]),
]
