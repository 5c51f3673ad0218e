"""Shared fixtures: the emulator in-process (strict responses on) and on a live loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, serve_in_thread

# The plugin's tests run inner pytest sessions; `pytest_plugins` is only honoured in the top conftest.
pytest_plugins = ["pytester"]

AUTH = {"Authorization": "Bearer sk-test"}


@pytest.fixture
def settings() -> Settings:
    """Strict responses, a stopped clock at a fixed time: every answer is reproducible and checked."""
    return Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0)


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, headers=AUTH, raise_server_exceptions=True) as c:
        yield c


@pytest.fixture
def live(app) -> Iterator[ThreadedServer]:  # type: ignore[no-untyped-def]
    """The same app served on a free loopback port."""
    with serve_in_thread(app) as server:
        yield server
