"""OpenAI SDK clients against the emulator: sync through a live server, async in-process (httpx2 ASGI)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import openai
import pytest

from mockserver.testing import ThreadedServer

API_KEY = "sk-test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sdk(live: ThreadedServer) -> Iterator[openai.OpenAI]:
    """The official sync client pointed at a live emulator (no retries, so failures show at once)."""
    client = openai.OpenAI(base_url=live.url + "/v1", api_key=API_KEY, max_retries=0)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
async def asdk(app: Any) -> AsyncIterator[openai.AsyncOpenAI]:
    """The official async client answered in-process by the ASGI app (no sockets)."""
    transport = httpx2.ASGITransport(app=app)
    http = httpx2.AsyncClient(transport=transport, base_url="http://mock.test")
    client = openai.AsyncOpenAI(base_url="http://mock.test/v1", api_key=API_KEY, http_client=http, max_retries=0)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def raw(app: Any) -> Iterator[Any]:
    """A plain HTTP client on the in-process app (for bodies the SDK would never send)."""
    from starlette.testclient import TestClient

    with TestClient(app, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        yield client
