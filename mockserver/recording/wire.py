"""Recorded headers on the ASGI wire, and a compact packed form of them for the replay index."""

from __future__ import annotations

from mockserver.recording.model import HOP_BY_HOP, Headers

# The serving ASGI server adds its own; passing the recorded ones on would duplicate them.
SERVER_HEADERS = frozenset({"date", "server"})


def asgi_headers(headers: Headers, *extra: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    """Recorded headers as ASGI header pairs, without those that describe one connection or encoding."""
    out = [
        (name.lower().encode("latin-1"), value.encode("latin-1", "replace"))
        for name, values in headers.items()
        if name.lower() not in HOP_BY_HOP and name.lower() not in SERVER_HEADERS
        for value in values
    ]
    out.extend((k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in extra)
    return out


def pack_headers(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """Header pairs as one bytes object (`name\\0value` lines): one object to touch per replayed answer."""
    return b"\n".join(name + b"\0" + value.replace(b"\n", b" ") for name, value in pairs)


def unpack_headers(packed: bytes) -> list[tuple[bytes, bytes]]:
    """The pairs `pack_headers` packed."""
    if not packed:
        return []
    return [(name, value) for name, _, value in (line.partition(b"\0") for line in packed.split(b"\n"))]
