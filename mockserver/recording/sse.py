"""Server-sent events: split a recorded stream body into (event name, data) pairs."""

from __future__ import annotations


def parse_sse(body: bytes) -> list[tuple[str | None, str]]:
    """Events in order; `data:` lines of one event are joined with newlines, comments are skipped."""
    events: list[tuple[str | None, str]] = []
    name: str | None = None
    data: list[str] = []
    text = body.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    for line in [*text.split("\n"), ""]:
        if not line:
            if data:
                events.append((name, "\n".join(data)))
            name, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value or None
        elif field == "data":
            data.append(value)
    return events


def parse_ndjson(body: bytes) -> list[tuple[str | None, str]]:
    """One unnamed event per non-empty line."""
    return [(None, line) for line in body.decode("utf-8", "replace").splitlines() if line.strip()]
