"""Where the intent tests send their requests (see `conftest.target`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """Where the client libraries send their requests, and the emulator handle behind it."""

    url: str
    api_key: str
    handle: Any

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"
