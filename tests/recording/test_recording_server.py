"""The cassette server as an ASGI app: lifespan with a fallback app, its control paths, requests without a Host."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mockserver.contracts import Contracts
from mockserver.recording import create_proxy_app, create_replay_app
from mockserver.recording.asgi_io import incoming_request
from mockserver.settings import Settings
from tests.recording.recording_helpers import JSON, FakeGateway, chat_body


@pytest.fixture
def cassettes(tmp_path: Path, gateway: FakeGateway, test_contracts: Contracts) -> Path:
    """A cassette holding one chat, recorded from the fake gateway."""
    path = tmp_path / "chat.yaml"
    settings = Settings(upstream="http://gateway.test", cassettes=str(path), record_mode="all")
    app = create_proxy_app(settings, contracts=test_contracts, upstream_transport=httpx.ASGITransport(gateway.app))
    with TestClient(app) as client:
        assert client.post("/v1/chat/completions", content=chat_body("one"), headers=JSON).status_code == 200
    return path


def test_a_recorder_that_only_replays_can_hand_misses_to_the_emulator(cassettes: Path, gateway: FakeGateway) -> None:
    settings = Settings(
        upstream="http://gateway.test", cassettes=str(cassettes), record_mode="none", fallback="emulate"
    )
    app = create_proxy_app(settings, upstream_transport=httpx.ASGITransport(gateway.app))
    gateway.calls.clear()
    with TestClient(app, headers={"Authorization": "Bearer sk-x"}) as client:  # runs the emulator's lifespan too
        hit = client.post("/v1/chat/completions", content=chat_body("one"), headers=JSON)
        assert hit.json()["choices"][0]["message"]["content"] == "echo: one"
        models = client.get("/v1/models")
        assert models.status_code == 200 and models.json()["object"] == "list"  # the emulator answered
        health = client.get("/__mock/health").json()
        assert health["status"] == "ok" and "operations" in health  # the emulator's own health
        status = client.get("/__mock/cassettes").json()
        assert (status["mode"], status["played"], status["recording"]) == ("none", 1, False)
    assert app.stats.fallbacks == 2 and not gateway.calls


def test_a_fallback_app_that_cannot_start_stops_the_server_starting(cassettes: Path) -> None:
    @contextlib.asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    app = create_replay_app(Settings(cassettes=str(cassettes)), fallback_app=Starlette(lifespan=broken))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == [{"type": "lifespan.startup.failed", "message": "RuntimeError('no database')"}]


def test_only_get_reads_the_cassette_status(cassettes: Path, test_contracts: Contracts) -> None:
    app = create_replay_app(Settings(cassettes=str(cassettes)), contracts=test_contracts)
    with TestClient(app) as client:
        refused = client.post("/__mock/cassettes", json={})
        assert refused.status_code == 404
        assert (
            refused.json()["error"]["code"] == "not_found"
            and "POST /__mock/cassettes" in refused.json()["error"]["message"]
        )
        assert client.get("/__mock/cassettes/anything").status_code == 404
        assert client.get("/__mock/cassettes").json()["interactions"] == 1


def test_a_request_without_a_host_header_is_addressed_to_the_server() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v1/models",
        "raw_path": b"/v1/models",
        "query_string": b"limit=2",
        "headers": [(b"accept", b"application/json")],
        "server": ("10.0.0.5", 9000),
    }
    request = incoming_request(scope, b"")
    assert request.uri == "http://10.0.0.5:9000/v1/models?limit=2"
    assert request.headers == {"accept": ["application/json"]}
    bare = incoming_request({**scope, "server": None, "query_string": b"", "scheme": "https"}, b"")
    assert bare.uri == "https://localhost/v1/models"
