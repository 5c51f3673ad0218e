"""Error envelopes, one per API family, and `ApiError`, the exception that carries one.

The gateway (new-api based) answers its own errors in the OpenAI shape with a request id in the
message; Anthropic, Gemini and the task vendors have envelopes of their own. A family module adds an
envelope with `register_envelope`; everything else raises `ApiError` and never builds bodies itself.
"""

from __future__ import annotations

import itertools
import random
import string
import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from mockserver.answers import JSONAnswer

# Request ids are not part of any deterministic answer: wall time, a counter and a per-process tag.
_rid_counter = itertools.count(1)
_rid_tag = "".join(random.SystemRandom().choices(string.ascii_letters, k=8))
_rid_second: list[Any] = [0, ""]


def new_request_id() -> str:
    """A gateway-style request id: local time, a counter and letters (`20240903132633000000001AeCxdlyd`)."""
    now = int(time.time())
    if now != _rid_second[0]:
        _rid_second[0], _rid_second[1] = now, time.strftime("%Y%m%d%H%M%S", time.localtime(now))
    return f"{_rid_second[1]}{next(_rid_counter) % 10**9:09d}{_rid_tag}"


class ApiError(Exception):
    """An error answer: HTTP status, a message, and the optional parts each envelope knows about.

    `param` names the offending field (a JSON path); `code` and `type` fill the envelope's own slots;
    `extra` is merged into the body by envelopes that carry more (e.g. Midjourney's `properties`).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | int | None = None,
        type: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type
        self.param = param
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


Envelope = Callable[[ApiError, str], tuple[int, Any]]

_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_ANTHROPIC_TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}

_OPENAI_TYPE = {
    400: "invalid_request_error",
    401: "new_api_error",
    403: "new_api_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "new_api_error",
    503: "new_api_error",
}


def openai_envelope(err: ApiError, request_id: str) -> tuple[int, Any]:
    """`{"error": {"message": "... (request id: X)", "type", "param", "code"}}` as new-api answers."""
    return err.status, {
        "error": {
            "message": f"{err.message} (request id: {request_id})",
            "type": err.type or _OPENAI_TYPE.get(err.status, "new_api_error"),
            "param": err.param,
            "code": err.code if err.code is not None else "",
        }
    }


def anthropic_envelope(err: ApiError, request_id: str) -> tuple[int, Any]:
    """`{"type": "error", "error": {"type", "message"}, "request_id"}` as Anthropic answers."""
    return err.status, {
        "type": "error",
        "error": {
            "type": err.type or _ANTHROPIC_TYPE.get(err.status, "api_error"),
            "message": err.message,
        },
        "request_id": f"req_{request_id}",
    }


def gemini_envelope(err: ApiError, request_id: str) -> tuple[int, Any]:
    """`{"error": {"code", "message", "status"}}` as Google's APIs answer."""
    return err.status, {
        "error": {
            "code": err.status,
            "message": err.message,
            "status": err.type or _GEMINI_STATUS.get(err.status, "UNKNOWN"),
        }
    }


def system_envelope(err: ApiError, request_id: str) -> tuple[int, Any]:
    """`{"success": false, "message"}` as the YEScale System API answers."""
    return err.status, {"success": False, "message": err.message, **err.extra}


ENVELOPES: dict[str, Envelope] = {
    "openai": openai_envelope,
    "anthropic": anthropic_envelope,
    "gemini": gemini_envelope,
    "yescale": system_envelope,
}


def register_envelope(family: str, envelope: Envelope) -> None:
    """Let a family module add its own error shape (called at import time)."""
    ENVELOPES[family] = envelope


def error_body(family: str, err: ApiError, request_id: str | None = None) -> tuple[int, Any]:
    """The status and body `family` answers `err` with."""
    return ENVELOPES.get(family, openai_envelope)(err, request_id or new_request_id())


def error_response(family: str, err: ApiError, request_id: str | None = None) -> Response:
    """A JSON response in `family`'s envelope (with the request id header the gateway sets)."""
    rid = request_id or new_request_id()
    status, body = error_body(family, err, rid)
    headers = {"X-Oneapi-Request-Id": rid, **err.headers}
    return JSONAnswer(body, status, headers)
