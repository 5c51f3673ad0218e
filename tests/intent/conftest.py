"""Fixtures for the intent tests: each client library runs against a live emulator and in-process.

`target` is parametrised: "live" uses the plugin's `mockserver` fixture (a loopback server), "respx"
uses `mockserver_respx` (no sockets; unmodified SDKs talk to https://api.yescale.io). The session's
emulator runs with strict responses, so every answer is also checked against its contract.
"""

from __future__ import annotations

import pytest

from mockserver.settings import Settings
from tests.intent.targets import Target


@pytest.fixture(scope="session")
def mockserver_settings() -> Settings:
    return Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0)


@pytest.fixture(params=["live", "respx"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "live":
        server = request.getfixturevalue("mockserver")
        return Target(server.url, server.api_key, server)
    handle = request.getfixturevalue("mockserver_respx")
    return Target("https://api.yescale.io", "sk-test", handle)
