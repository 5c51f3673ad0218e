"""Fixtures for the media tests: a live emulator whose links point at itself, and the official SDK.

Helpers (settings, link fetching, decoders) live in tests/media/media_helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.testing import ThreadedServer, free_port, serve_in_thread
from tests.media.media_helpers import AUTH, media_settings


@pytest.fixture(scope="module")
def media_live() -> Iterator[ThreadedServer]:
    """One emulator per test module on a free port, with `base_url` set to it so media links resolve."""
    port = free_port()
    with serve_in_thread(create_app(media_settings(port)), port=port) as server:
        yield server


@pytest.fixture(scope="module")
def oai(media_live: ThreadedServer) -> Iterator[openai.OpenAI]:
    """The official OpenAI SDK pointed at the emulator."""
    client = openai.OpenAI(base_url=media_live.url + "/v1", api_key="sk-test", max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def http(media_live: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=media_live.url, headers=AUTH, timeout=30) as client:
        yield client


@pytest.fixture
def fresh_client() -> Iterator[TestClient]:
    """A new in-process emulator (fresh call counters) for determinism checks."""
    with TestClient(create_app(media_settings()), headers=AUTH) as client:
        yield client
