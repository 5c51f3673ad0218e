"""Error envelopes, one per API family, and `ApiError`, the exception that carries one.

The gateway (new-api based) answers its own errors in the OpenAI shape with a request id in the
message (`openai_envelope`, the default). Anthropic, Gemini, the System API and the task vendors have
envelopes of their own, declared by their family packages (`ENVELOPES`) and looked up by vendor name in
the table `mockserver.registry` builds. Everything raises `ApiError` and never builds bodies itself.
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

_OPENAI_TYPE = {
    **dict.fromkeys((400, 404, 405, 413, 415), "invalid_request_error"),
    **dict.fromkeys((401, 403, 500, 503), "new_api_error"),
    429: "rate_limit_error",
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


def internal_error(exc: BaseException, where: str | None = None) -> ApiError:
    """What an unexpected exception becomes: a 500 that says it is a mockserver bug, never a bare one."""
    place = f" while serving {where}" if where else ""
    return ApiError(500, f"mockserver internal error{place}: {exc!r}", code="mock_bug")


def error_response(envelope: Envelope, err: ApiError, request_id: str | None = None) -> Response:
    """A JSON response in `envelope`'s shape (with the request id header the gateway sets)."""
    rid = request_id or new_request_id()
    status, body = envelope(err, rid)
    headers = {"X-Oneapi-Request-Id": rid, **err.headers}
    return JSONAnswer(body, status, headers)
