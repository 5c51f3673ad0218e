"""`RedisLink`: where a `--store redis://HOST:PORT/DB?prefix=NAME` store lives, and its asyncio client.

Several emulators may share one Redis: every key a store writes starts with `<prefix>:` (default
`mockserver`), so `?prefix=team-a` and `?prefix=team-b` never see each other's state. The client is the
`redis` package's asyncio client; one is made per running event loop (a client's connections belong to
the loop that opened them, and tests may run several loops in one process).
"""

from __future__ import annotations

import asyncio
import re
import threading
import urllib.parse
from typing import Any

DEFAULT_PREFIX = "mockserver"
_PREFIX = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
# Query parameters the redis client itself understands (passed through), besides our own `prefix`.
_CLIENT_OPTIONS = frozenset({"socket_timeout", "socket_connect_timeout", "health_check_interval", "client_name"})


class RedisUrlError(ValueError):
    """A `--store redis://...` value that cannot be used; the message names the part."""


def parse_redis_url(url: str) -> tuple[str, str]:
    """`(client_url, prefix)` of a `redis://` or `rediss://` store URL; `RedisUrlError` naming the bad part."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise RedisUrlError(f"--store {url!r}: a Redis store URL starts with redis:// or rediss://")
    if not parts.hostname:
        raise RedisUrlError(f"--store {url!r}: no host (use redis://HOST:PORT/DB)")
    try:
        port = parts.port
    except ValueError:
        raise RedisUrlError(f"--store {url!r}: the port must be a number from 1 to 65535") from None
    if port == 0:
        raise RedisUrlError(f"--store {url!r}: the port must be a number from 1 to 65535")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise RedisUrlError(f"--store {url!r}: the database must be a number (redis://HOST:PORT/0), got {db!r}")
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    prefix = DEFAULT_PREFIX
    passed = []
    for name, value in query:
        if name == "prefix":
            if not _PREFIX.match(value):
                raise RedisUrlError(
                    f"--store {url!r}: prefix must be 1 to 64 letters, digits, '.', '_' or '-' (got {value!r})"
                )
            prefix = value
        elif name in _CLIENT_OPTIONS:
            passed.append((name, value))
        else:
            known = ", ".join(sorted({"prefix", *_CLIENT_OPTIONS}))
            raise RedisUrlError(f"--store {url!r}: unknown parameter {name!r} (known: {known})")
    client_url = urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, parts.path or "/0", urllib.parse.urlencode(passed), "")
    )
    return client_url, prefix


def masked(url: str) -> str:
    """`url` with its password (if any) replaced by `***`."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}***@{host}"))


class RedisLink:
    """A Redis store's address, key prefix and asyncio clients (one per event loop)."""

    def __init__(self, url: str) -> None:
        self.client_url, self.prefix = parse_redis_url(url)
        self.url = masked(url)  # what messages and pages show: never the password
        self._clients: dict[int, Any] = {}
        self._lock = threading.Lock()

    def key(self, *parts: str) -> str:
        """A key of this store: `<prefix>:<part>:<part>...`."""
        return ":".join((self.prefix, *parts))

    def client(self) -> Any:
        """The `redis.asyncio.Redis` client of the running event loop (made on first use)."""
        import redis.asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._clients.get(id(loop))
            if found is None or found[0] is not loop:
                found = (loop, redis.asyncio.Redis.from_url(self.client_url))
                self._clients[id(loop)] = found
        return found[1]

    async def aclose(self) -> None:
        """Close the running loop's client (others close with their loops)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._clients.pop(id(loop), None)
        if found is not None:
            await found[1].aclose()
