"""The official anthropic, google-genai and openai (Responses) SDKs against the emulator.

Sync clients talk to a live server on a loopback port; async clients are answered in-process through
httpx2's ASGITransport. `sse_checked` parses a raw stream and checks every event against the contract.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import types
from starlette.testclient import TestClient

from mockserver.contracts import load_contracts
from mockserver.testing import ThreadedServer

API_KEY = "sk-test"
IN_PROCESS = "http://mock.test"

Events = list[tuple[str | None, Any]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def raw(app: Any) -> Iterator[TestClient]:
    """A plain HTTP client on the in-process app; each test sends the auth header its family uses.

    Not entered as a context manager: the app's lifespan belongs to the live server when a test uses both.
    """
    client = TestClient(app)
    try:
        yield client
    finally:
        client.close()


def parse_sse(text: str) -> Events:
    """(event name or None, decoded data) for every event of a raw SSE body."""
    events: Events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            payload = "\n".join(data)
            events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
    return events


@pytest.fixture
def sse_checked() -> Callable[[str, str], Events]:
    """Parse a raw stream of operation `op` and assert every event conforms to its contract."""
    contracts = load_contracts()

    def check(op: str, text: str) -> Events:
        contract = contracts.get(op)
        events = parse_sse(text)
        assert events, "the stream carried no events"
        for n, (name, data) in enumerate(events):
            issues = contract.validate_event(name, data)
            assert not issues, f"{op} event #{n} ({name}) breaks the contract: {issues}"
        return events

    return check


@pytest.fixture
def png_b64() -> Callable[..., str]:
    """A base64 image of the given size and format, made with Pillow."""

    def make(width: int = 64, height: int = 32, fmt: str = "PNG") -> str:
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (200, 60, 30)).save(buffer, format=fmt)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    return make


# ---------------------------------------------------------------------------------------------
# SDK clients


@pytest.fixture
def claude(live: ThreadedServer) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(api_key=API_KEY, base_url=live.url, max_retries=0)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
async def aclaude(app: Any) -> AsyncIterator[anthropic.AsyncAnthropic]:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=IN_PROCESS)
    client = anthropic.AsyncAnthropic(api_key=API_KEY, base_url=IN_PROCESS, http_client=http, max_retries=0)
    try:
        yield client
    finally:
        await client.close()


def _genai(base_url: str, version: str | None, **http: Any) -> genai.Client:
    options = types.HttpOptions(base_url=base_url, api_version=version, **http)
    return genai.Client(api_key=API_KEY, http_options=options)


@pytest.fixture
def gemini(live: ThreadedServer) -> genai.Client:
    """google-genai with its default API version (v1)."""
    return _genai(live.url, None)


@pytest.fixture
def gemini_beta(live: ThreadedServer) -> genai.Client:
    return _genai(live.url, "v1beta")


@pytest.fixture
async def agemini(app: Any) -> AsyncIterator[genai.Client]:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=IN_PROCESS)
    try:
        yield _genai(IN_PROCESS, "v1beta", httpx_async_client=http)
    finally:
        await http.aclose()


@pytest.fixture
def oai(live: ThreadedServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(api_key=API_KEY, base_url=live.url + "/v1", max_retries=0)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
async def aoai(app: Any) -> AsyncIterator[openai.AsyncOpenAI]:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=IN_PROCESS)
    client = openai.AsyncOpenAI(api_key=API_KEY, base_url=IN_PROCESS + "/v1", http_client=http, max_retries=0)
    try:
        yield client
    finally:
        await client.close()
