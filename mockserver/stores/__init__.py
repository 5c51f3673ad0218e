"""Stores: where an emulator's mutable state lives, chosen by `--store`, with the clock that goes with it.

`memory` (one process, the default) keeps everything in dicts; `sqlite:///PATH` keeps it in one file that
every worker and process on the host shares — the clock's settings included, so processes agree on time.
`open_store(url, ...)` is the one place that turns the setting into stores and their clock.
"""

from __future__ import annotations

import dataclasses
import time

from mockserver.clock import VirtualClock
from mockserver.stores.base import Claim, TaskStore
from mockserver.stores.memory import MemoryStore
from mockserver.stores.memory_state import MemoryState
from mockserver.stores.shared_base import SharedState

__all__ = ["Claim", "MemoryStore", "SharedState", "Stores", "TaskStore", "open_store", "parse_store_url"]


@dataclasses.dataclass(frozen=True)
class Stores:
    """What one `--store` URL opens: the task store, the shared state beside it, and the clock."""

    tasks: TaskStore
    shared: SharedState
    clock: VirtualClock


def parse_store_url(url: str) -> tuple[str, str]:
    """`(kind, where)` of a `--store` value: `("memory", "")`, `("sqlite", PATH)` or `("redis", URL)`;
    ValueError naming the problem otherwise."""
    if url in ("", "memory", "memory://"):
        return "memory", ""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise ValueError("--store sqlite:///PATH needs a file path")
        return "sqlite", path
    if url.startswith(("redis://", "rediss://")):
        from mockserver.stores.redis_link import parse_redis_url

        parse_redis_url(url)
        return "redis", url
    raise ValueError(f"unsupported --store {url!r}: use memory, sqlite:///PATH or redis://HOST:PORT/DB")


def open_store(
    url: str,
    *,
    speed: float = 1.0,
    start: float | None = None,
    instant: bool = False,
    journal_size: int = 1000,
    journal_max_bytes: int = 64 * 1024 * 1024,
    lease: float = 300.0,
) -> Stores:
    """The stores a `--store` URL names and the clock that goes with them. A shared store's clock runs
    on wall time, the reading every process has in common; its settings (anchor, speed, advances) live
    in the store's settings document, so processes agree on the time. `lease`: seconds a callback claim
    stays exclusive on a shared store."""
    kind, path = parse_store_url(url)
    if kind == "memory":
        return Stores(
            MemoryStore(),
            MemoryState(journal_size=journal_size),
            VirtualClock(speed=speed, start=start, instant=instant),
        )
    clock = VirtualClock(speed=speed, start=start, instant=instant, monotonic=time.time)
    limits = {"journal_size": journal_size, "journal_max_bytes": journal_max_bytes}
    if kind == "redis":
        from mockserver.stores.redis_link import RedisLink
        from mockserver.stores.redis_state import RedisState
        from mockserver.stores.redis_tasks import RedisTaskStore

        link = RedisLink(path)  # one link: the stores share each loop's client
        return Stores(RedisTaskStore(link, lease=lease), RedisState(link, **limits), clock)
    from mockserver.stores.sqlite import SqliteStore
    from mockserver.stores.sqlite_state import SqliteState

    return Stores(SqliteStore(path, lease=lease), SqliteState(path, **limits), clock)
