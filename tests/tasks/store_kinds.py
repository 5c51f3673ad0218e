"""The task store kinds the conformance suite (`test_stores.py`) runs against, and its fixtures.

Each kind opens *handles on one store*: every call of `StoreKind.make` is another connection to the same
records, as another worker or replica would open it (`memory` lives in one process, so its handles are
one object). A new store kind joins the suite with one entry in `STORE_KINDS` (Redis: a real server from
`tests.redis_server`, a prefix per test).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from mockserver.stores import MemoryStore, TaskStore
from mockserver.stores.sqlite import SqliteStore


@dataclasses.dataclass(frozen=True)
class StoreKind:
    """One kind of task store under test: `make()` opens another handle on the same store."""

    name: str
    make: Callable[[], TaskStore]
    # Whether handles are separate connections (a store processes share), so closing one keeps the data.
    shared: bool


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreKind:
    one = MemoryStore()
    return StoreKind("memory", lambda: one, shared=False)


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> StoreKind:
    path = str(tmp_path / "tasks.db")
    return StoreKind("sqlite", lambda: SqliteStore(path), shared=True)


def _redis(request: pytest.FixtureRequest, tmp_path: Path) -> StoreKind:
    from mockserver.stores.redis_tasks import RedisTaskStore

    url = request.getfixturevalue("redis_url")  # tests.redis_server: a real server, a prefix per test
    return StoreKind("redis", lambda: RedisTaskStore(url), shared=True)


STORE_KINDS: dict[str, Callable[[pytest.FixtureRequest, Path], StoreKind]] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "redis": _redis,
}


@pytest.fixture(params=list(STORE_KINDS))
def store_kind(request: pytest.FixtureRequest, tmp_path: Path) -> StoreKind:
    """Each kind of task store in turn."""
    return STORE_KINDS[request.param](request, tmp_path)


@pytest.fixture
async def store(store_kind: StoreKind) -> AsyncIterator[TaskStore]:
    """A handle on a fresh store of each kind, closed after the test (on the test's event loop)."""
    made = store_kind.make()
    yield made
    await made.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
