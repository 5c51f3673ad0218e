"""Fixtures for the recording tests: the fake gateway served live, a callback receiver, test contracts."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockserver.contracts import Contracts, load_contracts
from mockserver.recording.server import create_proxy_app
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, free_port, serve_in_thread
from tests.recording.recording_helpers import CONTRACTS, CallbackReceiver, FakeGateway, LiveProxy


@pytest.fixture
def start_proxy(test_contracts: Contracts) -> Iterator[Callable[..., LiveProxy]]:
    """`start_proxy(settings)`: the recording proxy served live (its own URL known, for callback capture)."""
    with contextlib.ExitStack() as stack:

        def start(settings: Settings, **kw: Any) -> LiveProxy:
            port = free_port()
            settings = settings.replace(port=port)
            app = create_proxy_app(settings, contracts=test_contracts, **kw)
            server = stack.enter_context(serve_in_thread(app, port=port))
            return LiveProxy(app, server)

        yield start


@pytest.fixture(scope="session")
def test_contracts() -> Contracts:
    """A small, stable contract set (the real one grows while other areas are written)."""
    return load_contracts(str(CONTRACTS))


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def live_gateway(gateway: FakeGateway) -> Iterator[ThreadedServer]:
    with serve_in_thread(gateway.app) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[tuple[CallbackReceiver, ThreadedServer]]:
    rec = CallbackReceiver()
    with serve_in_thread(rec.app) as server:
        yield rec, server
