"""The cassette model: recorded requests and responses, stream chunks, interactions, cassettes."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Headers that describe one connection or one encoding of the body, never the interaction itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
        "content-encoding",
        "host",
    }
)


class CassetteError(ValueError):
    """A cassette cannot be read; the message names the file and the interaction."""


Headers = dict[str, list[str]]


def header_value(headers: Mapping[str, list[str]], name: str) -> str | None:
    """The first value of header `name` (case-insensitive), or None."""
    lowered = name.lower()
    for key, values in headers.items():
        if key.lower() == lowered and values:
            return values[0]
    return None


@dataclasses.dataclass(eq=False)
class RecordedRequest:
    """A request as recorded: method, full URI, headers (name → values) and body bytes."""

    method: str
    uri: str
    headers: Headers = dataclasses.field(default_factory=dict)
    body: bytes | None = None

    @functools.cached_property
    def _split(self) -> Any:
        return urlsplit(self.uri)

    @property
    def scheme(self) -> str:
        return str(self._split.scheme or "http")

    @property
    def host(self) -> str:
        return str(self._split.hostname or "")

    @property
    def port(self) -> int:
        port = self._split.port
        return int(port) if port else (443 if self.scheme == "https" else 80)

    @property
    def path(self) -> str:
        return str(self._split.path or "/")

    @property
    def query_string(self) -> str:
        return str(self._split.query)

    @functools.cached_property
    def query(self) -> list[tuple[str, str]]:
        """Query parameters in order (blank values kept)."""
        return parse_qsl(self.query_string, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ('' when absent)."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One piece of a streamed answer: `at` seconds after the response head, `size` bytes of the body."""

    at: float
    size: int


@dataclasses.dataclass(eq=False)
class RecordedResponse:
    """A response as recorded; `chunks` (streams only) cut `body` into the pieces the upstream sent."""

    status: int
    headers: Headers = dataclasses.field(default_factory=dict)
    body: bytes = b""
    message: str | None = None
    chunks: list[Chunk] | None = None
    # Seconds from sending the request to receiving the response head.
    elapsed: float | None = None
    # The upstream or the client dropped the connection before the body was complete.
    incomplete: bool = False

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def pieces(self) -> Iterator[tuple[float, bytes]]:
        """(seconds after the head, bytes) in the order sent: the recorded chunking, or one piece."""
        if self.chunks and sum(c.size for c in self.chunks) == len(self.body):
            offset = 0
            for chunk in self.chunks:
                yield chunk.at, self.body[offset : offset + chunk.size]
                offset += chunk.size
        elif self.chunks:
            # The body was edited by hand: keep the timing, cut at event boundaries instead.
            parts = [p + b"\n\n" for p in self.body.split(b"\n\n") if p.strip()]
            for i, part in enumerate(parts):
                yield self.chunks[min(i, len(self.chunks) - 1)].at, part
        else:
            yield 0.0, self.body


@dataclasses.dataclass(eq=False)
class Interaction:
    """One request and its response, or (`kind == "callback"`) one captured task callback."""

    request: RecordedRequest
    response: RecordedResponse
    operation: str | None = None
    recorded_at: str | None = None
    kind: str = "http"
    # Callbacks: the index of the submit interaction in the same cassette, and seconds after its answer.
    callback_of: int | None = None
    after: float | None = None
    # Keys we do not know (from VCR.py or a newer mockserver), written back unchanged.
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    _yaml: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(eq=False)
class Cassette:
    """A list of interactions and the file it came from (None until saved)."""

    interactions: list[Interaction] = dataclasses.field(default_factory=list)
    path: Path | None = None
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.interactions)

    def __iter__(self) -> Iterator[Interaction]:
        return iter(self.interactions)
