"""`JSONAnswer`: a JSON response that keeps its payload, so strict mode can check it without re-parsing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

_JSON = (b"content-type", b"application/json")


class JSONAnswer(Response):
    """A JSON response built with orjson that remembers the object it was built from."""

    media_type = "application/json"

    def __init__(self, payload: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> None:
        # Every answer passes through here, so the raw headers are built directly rather than by
        # Starlette's generic init_headers.
        self._payload = payload
        self.status_code = status_code
        self.background = None
        self.body = orjson.dumps(payload)
        raw = [(b"content-length", str(len(self.body)).encode()), _JSON]
        if headers:
            raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
        self.raw_headers = raw

    @property
    def payload(self) -> Any:
        return self._payload
