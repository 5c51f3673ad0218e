"""Fixtures for the fuzzing tests: the emulator in-process with strict responses, and fake targets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings


@pytest.fixture(scope="module")
def strict_emulator() -> Iterator[Any]:
    """One strict emulator (stopped clock) served in-process for a whole module of fuzzing."""
    app = create_app(Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.app_state = app.state.mock  # type: ignore[attr-defined]
        yield client
