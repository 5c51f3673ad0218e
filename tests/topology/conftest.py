"""Fixtures of the topology tests: one pair of replicas per store kind for the folder, reset before each
test, and a loopback callback receiver."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer, redis_server
from tests.topology.replicas import (
    NOT_WIRED,
    ONE_PROCESS,
    WORKERS,
    HoldingReceiver,
    Replicas,
    StoreNotWired,
    redis_store,
    running_holding_receiver,
    running_replicas,
    sqlite_store,
)

__all__ = ["redis_server"]  # a fixture: importing it makes it available here

STORE_KINDS = ["sqlite", "redis"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether the test itself failed, so the fixture can show the replicas' stderr."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


def store_url(request: pytest.FixtureRequest, kind: str, folder: Path) -> str:
    if kind in (ONE_PROCESS, WORKERS):
        return kind
    if kind == "sqlite":
        return sqlite_store(folder)
    server: RedisServer = request.getfixturevalue("redis_server")
    return redis_store(server.url)


@pytest.fixture(scope="package", params=[*STORE_KINDS, WORKERS, ONE_PROCESS])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """Replicas A and B on one store (sqlite file or Redis prefix), for the whole folder (processes are
    slow to start on a busy machine; each test resets them). Also the two workers of one
    `serve --workers 2` (`WORKERS`), and, as the tests' own check, one process standing for both
    (`ONE_PROCESS`): every test passes there."""
    url = store_url(request, request.param, tmp_path_factory.mktemp("store"))
    try:
        with running_replicas(url) as replicas:
            yield replicas
    except StoreNotWired:
        pytest.skip(NOT_WIRED)


@pytest.fixture
def replicas(pair: Replicas, request: pytest.FixtureRequest) -> Iterator[Replicas]:
    """The folder's pair, reset on both sides before the test; their stderr printed if the test fails."""
    pair.reset_each()
    yield pair
    if request.node.stash.get(_FAILED, False):
        print(pair.stderr())


@pytest.fixture(params=STORE_KINDS)
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL no replica has used yet (for tests that start and kill their own replicas)."""
    return store_url(request, request.param, tmp_path)


@pytest.fixture(scope="package")
def folder_receiver() -> Iterator[HoldingReceiver]:
    with running_holding_receiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(folder_receiver: HoldingReceiver) -> HoldingReceiver:
    """A loopback callback receiver, emptied (and answering at once) before the test."""
    folder_receiver.held.clear()
    folder_receiver.clear()
    return folder_receiver
