"""Fixtures for the video, music and async-image vendor tests (helpers live in tests/vendors/probes.py).

The `client` fixture (tests/conftest.py) runs the emulator in-process with strict responses and a
stopped clock; tests move time with `api.advance` and never sleep.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.vendors.probes import Api


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
