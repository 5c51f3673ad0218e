"""`JSONAnswer`: a JSON response that keeps its payload, so strict mode can check it without re-parsing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


class JSONAnswer(Response):
    """A JSON response built with orjson that remembers the object it was built from."""

    media_type = "application/json"

    def __init__(self, payload: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> None:
        self.payload = payload
        super().__init__(orjson.dumps(payload), status_code=status_code, headers=headers)
