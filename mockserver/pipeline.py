"""The request pipeline every operation goes through, and `Call`, what a family handler receives.

receive → journal → auth → fault rules → contract validation → user stubs → family handler →
(--strict-responses) answer checked against the contract.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import re
import string
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import orjson
from starlette._utils import get_route_path
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.answers import JSONAnswer
from mockserver.contracts import Contract, Issue
from mockserver.errors import ApiError, Envelope, error_response, internal_error, new_request_id
from mockserver.faults import Fault
from mockserver.journal import Entry
from mockserver.latency import LatencyError, Pace, output_tokens
from mockserver.state import MockState, call_key
from mockserver.wire import WireFaultResponse

log = logging.getLogger("mockserver")

Handler = Callable[["Call"], Awaitable[Response]]

# Where each family accepts its key besides `Authorization: Bearer`.
KEY_HEADERS: dict[str, tuple[str, ...]] = {
    "anthropic": ("x-api-key",),
    "gemini": ("x-goog-api-key",),
    "midjourney": ("mj-api-secret",),
}
KEY_QUERY: dict[str, tuple[str, ...]] = {"gemini": ("key",)}
JSON_TYPES = ("application/json",)
_ALNUM = string.ascii_letters + string.digits


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A family's route: the contract it serves and the handler; `path`/`method` override the contract's
    (for aliases such as `/mj-fast/...`). `auth=False` serves without a key (e.g. media downloads)."""

    operation: str
    handler: Handler
    path: str | None = None
    method: str | None = None
    auth: bool = True
    # A model call: `--latency` / `x-mock-latency` pace its answer (time to first token, token rate).
    paced: bool = False


class Call:
    """One request to one operation, as a family handler sees it."""

    __slots__ = (
        "_canonical",
        "_request_id",
        "_rng",
        "api_key",
        "body",
        "charge",
        "contract",
        "fault",
        "files",
        "headers",
        "journal_entry",
        "key",
        "now",
        "path_params",
        "playback",
        "query",
        "raw_body",
        "repeat",
        "request",
        "state",
        "stub",
    )

    def __init__(self, request: Request, contract: Contract, state: MockState) -> None:
        self.request = request
        self.contract = contract
        self.state = state
        self.path_params: dict[str, str] = dict(request.path_params)
        # ASGI header names are lower-case already; one pass here beats Starlette's scan per lookup.
        self.headers: dict[str, str] = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
        self.query: dict[str, Any] = {}
        self.body: Any = None
        self.raw_body: bytes = b""
        self.files: dict[str, list[UploadFile]] = {}
        self.api_key: str = ""
        self.charge: Any = None  # what the gateway reserved for this call (mockserver.gateway)
        self.stub: dict[str, Any] | None = None
        self.fault: Fault | None = None
        self.now: float = state.clock.now()
        # The call's `call_key` and how many such calls came before (counted by the store in `begin`).
        self.key = b""
        self.repeat = 0
        self._canonical: bytes | None = None
        self._request_id = ""
        self.journal_entry: Entry | None = None
        self._rng: random.Random | None = None
        # (seconds, chunks) of an audio answer, so `--latency` streams it at playback rate.
        self.playback: tuple[float, int] | None = None

    @property
    def request_id(self) -> str:
        """The gateway-style id error messages carry, made when first asked for."""
        if not self._request_id:
            self._request_id = new_request_id()
        return self._request_id

    # -- helpers for handlers -----------------------------------------------------------------
    @property
    def settings(self) -> Any:
        return self.state.settings

    @property
    def rng(self) -> random.Random:
        """Deterministic RNG for this call: same seed + same calls ⇒ same answers."""
        if self._rng is None:
            self._rng = self.state.rng_of(self.key, self.repeat)
        return self._rng

    def canonical_body(self) -> bytes:
        """The body with its keys sorted (path and query added for bodies that are not JSON): what makes two
        calls the same call."""
        if self._canonical is None:
            body = self.body
            if isinstance(body, (dict, list)):
                try:
                    self._canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
                except TypeError:
                    self._canonical = self.raw_body
            else:
                self._canonical = self.raw_body + self.path.encode() + str(sorted(self.query.items())).encode()
        return self._canonical

    @property
    def path(self) -> str:
        """The request's path below the app's mount point (`root_path`): what the contracts' paths name."""
        return get_route_path(self.request.scope)

    def new_id(self, prefix: str = "", length: int = 24, alphabet: str = _ALNUM) -> str:
        """A deterministic random id such as `chatcmpl-<24 chars>`."""
        return prefix + "".join(self.rng.choices(alphabet, k=length))

    def error(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | int | None = None,
        type: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> ApiError:
        """An `ApiError` for this call's family (raise it)."""
        return ApiError(status, message, param=param, code=code, type=type, extra=extra)

    def json(self, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONAnswer:
        return JSONAnswer(payload, status, headers)

    def sse(
        self,
        events: Iterable[Any] | AsyncIterable[Any],
        *,
        terminator: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> StreamingResponse:
        """Stream server-sent events. Items are a payload (`data:` only) or `(event_name, payload)`.

        The contract checks each event in strict mode. Each event is one chunk on the wire, which is
        what a fault's `stream_cut_after`, `stall_ms` and `malformed` count (see `mockserver.wire`).
        """
        return StreamingResponse(
            self._sse_bytes(events, terminator),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})},
        )

    async def _sse_bytes(
        self, events: Iterable[Any] | AsyncIterable[Any], terminator: str | None
    ) -> AsyncIterator[bytes]:
        strict = self.state.settings.strict_responses
        sent = 0
        async for item in _aiter(events):
            name, payload = item if isinstance(item, tuple) else (None, item)
            if strict:
                issues = self.contract.validate_event(name, payload)
                if issues:
                    log.error("strict-responses: %s event %s does not conform: %s", self.contract.id, name, issues)
                    yield _sse_frame(
                        "error", {"error": {"message": _strict_message(issues), "type": "mock_contract_violation"}}
                    )
                    return
            yield _sse_frame(name, payload)
            sent += 1
            if not sent % _YIELD_EVERY:
                await asyncio.sleep(0)
        if terminator is not None:
            yield f"data: {terminator}\n\n".encode()


# A long stream lets other connections run every this many events. Not after each: a loop pass costs a
# `select` call, several times what building an event does (bench/bench_stream.py).
_YIELD_EVERY = 32


async def _aiter(items: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if hasattr(items, "__aiter__"):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


def _sse_frame(name: str | None, payload: Any) -> bytes:
    data = payload if isinstance(payload, (bytes, str)) else orjson.dumps(payload)
    if isinstance(data, str):
        data = data.encode()
    if name:
        return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"


def _strict_message(issues: list[Issue]) -> str:
    return "mockserver answer violates its contract (--strict-responses): " + "; ".join(map(str, issues[:5]))


# ---------------------------------------------------------------------------------------------
# The pipeline


def normalize_key(key: str) -> str:
    """The key as the gateway stores it: `sk-` is optional, everything else counts (a `-N` suffix is a
    channel pin new-api refuses for ordinary users, so `sk-a-1` is not `sk-a`)."""
    return key.strip().removeprefix("sk-")


def key_locations(contract: Contract) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Headers and query parameters that may carry the key besides `Authorization: Bearer`: the
    family's (`KEY_HEADERS`, `KEY_QUERY`) plus any a contract declares under `request.auth`."""
    extra = contract.request.get("auth") or {}
    headers = (*KEY_HEADERS.get(contract.family, ()), *extra.get("headers", ()))
    query = (*KEY_QUERY.get(contract.family, ()), *extra.get("query", ()))
    return tuple(dict.fromkeys(h.lower() for h in headers)), tuple(dict.fromkeys(query))


def find_key(call: Call, headers_allowed: tuple[str, ...], query_allowed: tuple[str, ...]) -> str:
    headers = call.headers
    auth = headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        if not token and scheme:
            return scheme.strip()
    for header in headers_allowed:
        value = headers.get(header, "").strip()
        if value:
            return value
    for name in query_allowed:
        value = call.request.query_params.get(name, "").strip()
        if value:
            return value
    return ""


async def check_auth(call: Call, locations: tuple[tuple[str, ...], tuple[str, ...]] | None = None) -> None:
    headers_allowed, query_allowed = locations or key_locations(call.contract)
    key = find_key(call, headers_allowed, query_allowed)
    if not key:
        raise ApiError(401, "No API key provided (send Authorization: Bearer <key>)", code="missing_api_key")
    call.api_key = key
    secret = normalize_key(key)  # compared exactly: only the `sk-` prefix is optional, as in new-api
    gateway = call.state.ext.get("gateway")
    if gateway is not None:  # keys, quota, limits, pre-consumption: mockserver.gateway
        await gateway.admit(call, key)
    elif call.state.settings.api_key and secret not in {normalize_key(k) for k in call.state.settings.api_key}:
        raise ApiError(401, "Invalid token", code="invalid_api_key")


async def read_body(request: Request, limit: int, declared: str | None = None) -> bytes:
    """The whole body, refused with 413 past `limit` (checked on Content-Length and while reading)."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body of {declared} bytes exceeds the {limit}-byte limit", param="body")
    # Most bodies arrive in one ASGI message: take it without Starlette's stream machinery.
    message = await request.receive()
    if message["type"] == "http.disconnect":
        raise ApiError(400, "client disconnected before the body was complete", param="body")
    first: bytes = message.get("body", b"")
    if len(first) > limit:
        raise ApiError(413, f"request body exceeds the {limit}-byte limit", param="body")
    if not message.get("more_body", False):
        request._body = first
        return first
    chunks: list[bytes] = [first]
    size = len(first)
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"request body exceeds the {limit}-byte limit", param="body")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "client disconnected before the body was complete", param="body") from None
    body = b"".join(chunks)
    request._body = body  # lets request.form() reuse what was read
    return body


def _media_type(call: Call) -> str:
    return call.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def parse_body(call: Call, expected: str | None) -> None:
    request = call.request
    contract = call.contract
    if request.method in ("GET", "HEAD", "DELETE") and not expected:
        return
    raw = await read_body(request, call.state.settings.max_body_bytes, call.headers.get("content-length"))
    call.raw_body = raw
    if not expected:
        return
    got = _media_type(call)
    if expected == "application/json":
        if got and got not in JSON_TYPES and not got.endswith("+json"):
            raise ApiError(
                415, f"unsupported content type {got!r}: this endpoint takes application/json", param="Content-Type"
            )
        if not raw.strip():
            raise ApiError(400, "request body is empty: this endpoint takes a JSON body", param="body")
        try:
            call.body = orjson.loads(raw)
            if _FLOAT_LITERAL.search(raw):
                call.body = whole_floats_to_int(call.body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"invalid JSON in request body: {exc}", param="body", code="invalid_json") from None
    elif expected.startswith("multipart/"):
        if got not in ("multipart/form-data", "application/x-www-form-urlencoded"):
            raise ApiError(
                415,
                f"unsupported content type {got or 'none'!r}: this endpoint takes multipart/form-data",
                param="Content-Type",
            )
        try:
            form = await request.form(max_files=64, max_fields=512)
        except Exception as exc:  # malformed multipart of any kind is the client's fault
            raise ApiError(400, f"malformed multipart body: {exc}", param="body") from None
        fields: dict[str, Any] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                call.files.setdefault(name, []).append(value)
                value = value.filename or "upload"
            if name in fields:
                prev = fields[name]
                fields[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
            else:
                fields[name] = value
        call.body = coerce_strings(fields, contract.schema("request.body"))
    else:
        call.body = raw


_MAX_EXACT = 2**53
# A zero fraction (`1.0`, `2.00`) or an exponent (`1e3`, `2.5E+1`): the body may hold a whole-number
# float (strings may match too). `0.7` does not, so most bodies skip the walk.
_FLOAT_LITERAL = re.compile(rb"\d\.0+(?![0-9])|\d[eE][-+]?\d")


def whole_floats_to_int(value: Any) -> Any:
    """Turn floats with no fraction (`1.0`, `1e3`) into ints, as OpenAI's own servers (pydantic) read them.

    JSON Schema counts 1.0 as an integer, so a body that passed validation may carry one where a
    handler counts, slices or repeats; converting once here keeps every handler honest.
    """
    if isinstance(value, float):
        return int(value) if value.is_integer() and -_MAX_EXACT <= value <= _MAX_EXACT else value
    if isinstance(value, dict):
        return {k: whole_floats_to_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_floats_to_int(v) for v in value]
    return value


def coerce_strings(values: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """Turn form/query strings into the numbers and booleans the schema declares (top level only)."""
    props = (schema or {}).get("properties") or {}
    out = dict(values)
    for name, value in values.items():
        prop = props.get(name)
        if not isinstance(prop, dict) or not isinstance(value, str):
            continue
        kinds = prop.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "string" in kinds:
            continue
        try:
            if "integer" in kinds and value.lstrip("-").isdigit():
                out[name] = int(value)
            elif "number" in kinds:
                out[name] = float(value)
            elif "boolean" in kinds and value.lower() in ("true", "false"):
                out[name] = value.lower() == "true"
            elif "array" in kinds:
                out[name] = [value]
        except ValueError:
            pass
    return out


class _Checks:
    """What `validate` needs of a contract, looked up once per endpoint rather than per request."""

    __slots__ = ("body", "headers", "query")

    def __init__(self, contract: Contract) -> None:
        self.query = contract.validator("request.query")
        self.headers = contract.validator("request.headers")
        self.body = contract.validator("request.body") if contract.request_content_type else None


def validate(call: Call, checks: _Checks) -> None:
    query = dict(call.request.query_params) if call.request.scope["query_string"] else {}
    if checks.query is not None:
        call.query = coerce_strings(query, checks.query.schema)
        issues = checks.query.issues(call.query)
        if issues:
            raise _validation_error(issues, "query parameter ")
    else:
        call.query = query
    if checks.headers is not None:
        issues = checks.headers.issues(call.headers)
        if issues:
            raise _validation_error(issues, "header ")
    if checks.body is not None:
        issues = checks.body.issues(call.body)
        if issues:
            raise _validation_error(issues, "")


def _validation_error(issues: list[Issue], where: str) -> ApiError:
    first = issues[0]
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    field = first.path or "body"
    return ApiError(400, f"invalid request: {where}{field}: {first.message}{more}", param=field, code="invalid_request")


def _match_args(call: Call) -> dict[str, Any]:
    body = call.body
    if isinstance(body, (dict, list)):
        text = call.canonical_body().decode("utf-8", "replace")
    else:
        text = call.raw_body.decode("utf-8", "replace") if call.raw_body else ""
    return {
        "operation": call.contract.id,
        "method": call.request.method,
        "path": call.path,
        "body_text": text,
        "body": body,
    }


def fault_response(call: Call, fault: Fault) -> Response | None:
    """The answer a firing fault replaces the real one with (None: latency or stream cut only)."""
    if fault.status is None:
        return None
    if fault.body is not None:
        payload = fault.body
        content = payload if isinstance(payload, (bytes, str)) else orjson.dumps(payload)
        media = "application/json" if not isinstance(payload, (bytes, str)) else "text/plain"
        return Response(content, status_code=fault.status, media_type=media, headers=fault.headers)
    err = ApiError(fault.status, fault.message, code="mock_fault", headers=fault.headers)
    return error_response(call.state.envelope(call.contract.vendor), err, call.request_id)


def endpoint_app(endpoint: Endpoint, contract: Contract, state: MockState) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a family handler in the pipeline; the result is a Starlette request endpoint."""
    handler = endpoint.handler
    family = state.envelope(contract.vendor)
    locations = key_locations(contract)
    expected = contract.request_content_type
    kept = _journal_kind(expected)
    checks = _Checks(contract)

    async def run(request: Request) -> Response:
        call = Call(request, contract, state)
        try:
            await parse_body(call, expected)
            call.key = call_key(contract.id, call.canonical_body())
            call.repeat = await state.begin(call.key)  # counted in the store; settings re-read if they moved
            call.now = state.clock.now()
        except ApiError as err:
            _journal(call, kept)
            return await _finish(call, error_response(family, err, call.request_id))
        _journal(call, kept)
        try:
            if endpoint.auth:
                await check_auth(call, locations)
            elif (guard := state.ext.get("media_guard")) is not None and not await guard(
                request.url.path, call.headers, request.query_params
            ):  # a key-less download (e.g. /mj/image/{id}): with keys it needs one, or the link's signature
                raise ApiError(401, "this link needs a key or the signature it was handed out with (sig)")
            if state.faults:
                fault = await state.pick_fault(**_match_args(call))
                if fault is not None:
                    call.fault = fault
                    if fault.latency_ms and not await _delay(request, fault.latency_ms / 1000):
                        return await _finish(call, Response(status_code=499))  # the client left: nobody to answer
                    replaced = fault_response(call, fault)
                    if replaced is not None:
                        return await _finish(call, replaced)
            validate(call, checks)
            if state.stubs:
                stub = await state.pick_stub(**_match_args(call))
                if stub is not None:
                    if stub.response is not None:
                        resp = stub.response
                        return await _finish(call, JSONAnswer(resp["body"], resp["status"], resp["headers"]))
                    call.stub = stub.reply
            pace = _pace(call) if endpoint.paced else None
            response = await handler(call)
            if pace is not None:
                response = await _paced(call, response, pace)
        except ApiError as err:  # gateway refusals carry their own envelope (new-api's, on every route)
            if err.status in (401, 403) and call.journal_entry is not None:
                # Refused before the key was accepted: whoever sent it may not fill the journal.
                state.journal.drop_body(call.journal_entry, f"refused with {err.status}")
            return await _finish(call, error_response(getattr(err, "envelope", None) or family, err, call.request_id))
        except Exception as exc:  # a bug in the emulator: say so in the family's envelope, never a bare 500
            log.exception("mockserver bug while serving %s", contract.id)
            return await _finish(call, error_response(family, internal_error(exc, contract.id), call.request_id))
        if state.settings.strict_responses:
            response = _strict(call, response)
        return await _finish(call, response)

    return run


def _pace(call: Call) -> Pace | None:
    """The delays this call's answer keeps, if any latency applies (a bad `x-mock-latency` is a 400)."""
    state = call.state
    header = call.headers.get("x-mock-latency")
    if header is None and state.latency is None and state.latency_override is None:
        return None  # the common case costs two lookups
    body = call.body
    model = body.get("model") if isinstance(body, dict) else None
    model = model if isinstance(model, str) else call.path_params.get("model", "")
    try:
        start = asyncio.get_running_loop().time()
        return state.pace_for(call.key, call.repeat, model, body, header, start)
    except LatencyError as exc:
        raise ApiError(400, str(exc), param="x-mock-latency") from None


async def _paced(call: Call, response: Response, pace: Pace) -> Response:
    """A stream sends each chunk after its delay; any other answer waits TTFT + tokens / rate first."""
    if isinstance(response, StreamingResponse):
        response.body_iterator = pace.stream(response.body_iterator, playback=call.playback)
    elif response.status_code < 400:
        await pace.wait_whole(output_tokens(getattr(response, "payload", None)))
    return response


async def _delay(request: Request, seconds: float) -> bool:
    """Wait `seconds` (a latency fault); False as soon as the client disconnects instead."""
    sleeper = asyncio.ensure_future(asyncio.sleep(seconds))
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((sleeper, watcher), return_when=asyncio.FIRST_COMPLETED)
        return not watcher.done()
    finally:
        sleeper.cancel()
        watcher.cancel()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


def endpoint_asgi(run: Callable[[Request], Awaitable[Response]], family: Envelope) -> ASGIApp:
    """The same endpoint as a raw ASGI app, for the app's exact-path fast lane (no Starlette layers).

    `run` turns every error into the family's envelope already; an exception escaping it anyway is
    answered as the error middleware would. Sending is uvicorn's business, as it is behind Starlette.
    """

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await run(Request(scope, receive, send))
        except Exception as exc:
            log.exception("mockserver bug while answering %s", scope["path"])
            response = error_response(family, internal_error(exc))
        await response(scope, receive, send)

    return asgi


_JOURNAL_RAW_LIMIT = 65536  # larger bodies that are neither JSON nor a form are journaled by size only


def _journal_kind(expected: str | None) -> str:
    if expected and expected.startswith("multipart/"):
        return "form"
    return "json" if expected == "application/json" else "other"


def _journal(call: Call, kind: str) -> None:
    scope = call.request.scope
    raw = call.raw_body
    body: Any = None
    if kind == "form" and call.body is not None:
        body, raw = call.body, b""  # the fields, uploads by file name: the raw bytes would be binary
    elif kind == "other" and len(raw) > _JOURNAL_RAW_LIMIT:
        body, raw = f"<{len(raw)} bytes>", b""
    call.journal_entry = call.state.journal.record(
        method=scope["method"],
        path=scope["path"],
        query=scope["query_string"],
        headers=scope["headers"],
        body=body,
        raw=raw,
        operation=call.contract.id,
        at=call.now,
    )


async def _finish(call: Call, response: Response) -> Response:
    entry = call.journal_entry
    if entry is not None:
        entry.status = response.status_code
        journal = call.state.journal
        if journal.watchers:  # a dashboard is open: keep the answer to show it there
            entry.keep_answer(response)
        await journal.finish(entry)
    if call.charge is not None:  # the gateway charges what the call used (an error costs nothing)
        await call.state.ext["gateway"].settle(call, response)
    for uploads in call.files.values():  # handlers read uploads eagerly; unclosed spool files leak
        for upload in uploads:
            upload.file.close()
    fault = call.fault
    if fault is not None and fault.on_the_wire:
        return WireFaultResponse(response, fault)
    return response


def _strict(call: Call, response: Response) -> Response:
    """In strict mode an answer that breaks its contract becomes a 500 naming the field."""
    contract = call.contract
    status = response.status_code
    if not contract.has_response(status) and status < 500:
        issues = [Issue("", f"status {status} is not documented for {contract.id}")]
    elif isinstance(response, JSONAnswer):
        issues = contract.validate_response(status, response.payload)
    else:
        return response
    if not issues:
        return response
    log.error("strict-responses: %s answer does not conform: %s", contract.id, issues)
    err = ApiError(500, _strict_message(issues), code="mock_contract_violation", param=issues[0].path or None)
    return error_response(call.state.envelope(call.contract.vendor), err, call.request_id)
