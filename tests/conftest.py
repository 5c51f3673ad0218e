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


def pytest_configure(config: pytest.Config) -> None:
    """Only the whole suite (`python -m pytest`, no paths) prints the coverage table and holds the gate:
    part of the suite covers part of the code, and would fail a gate meant for all of it."""
    cov = config.pluginmanager.get_plugin("_cov")
    asked = " ".join(config.invocation_params.args)
    if cov is None or config.args_source is pytest.Config.ArgsSource.TESTPATHS:
        return
    if "--cov-fail-under" not in asked:
        cov.options.cov_fail_under = None
    if "--cov-report" not in asked:
        cov.options.cov_report = {}


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
