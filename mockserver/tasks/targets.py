"""Which callback URLs a task may carry: `--callback-allow HOST[:PORT]`, or by default any host but the
addresses no webhook receiver lives at (link-local — the cloud metadata service —, multicast,
unspecified)."""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Iterable

# Names that stand for the metadata service without being an address.
_METADATA_NAMES = frozenset({"metadata.google.internal", "metadata"})


def _split_entry(entry: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]` or `[v6]:port` → (lower-case host, port or None)."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.lstrip(":")
        return host, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def refused_target(url: str, allow: Iterable[str] = ()) -> str | None:
    """Why a callback may not go to `url` (None: it may). Strings that are not http(s) URLs are left to
    the delivery, which logs them as unsupported."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "its port is not a number from 0 to 65535"
    allowed = [_split_entry(e) for e in allow if e.strip()]
    if allowed:
        if any(h == host and (p is None or p == port) for h, p in allowed):
            return None
        return f"{host}:{port} is not in --callback-allow"
    if host in _METADATA_NAMES:
        return f"{host} is a cloud metadata service"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return f"{host} is a link-local, multicast or unspecified address"
    return None
