"""A shared store that stops answering mid-run: calls get a clear 503 in their family's envelope, never a
bare 500 or a hang, and the emulator answers again once the store is back."""

from __future__ import annotations

from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.redis_server import own_redis_server

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}


def test_a_redis_that_goes_away_gives_a_503_naming_the_store() -> None:
    with own_redis_server() as server:
        url = server.url + "?prefix=down&socket_timeout=2&socket_connect_timeout=2"
        with TestClient(create_app(Settings(store=url)), headers={"Authorization": "Bearer sk-x"}) as client:
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
            server.stop()
            answer = client.post("/v1/chat/completions", json=CHAT)
            assert answer.status_code == 503
            error = answer.json()["error"]
            assert error["code"] == "mock_store_unavailable" and f"127.0.0.1:{server.port}" in error["message"]
            anthropic = client.post(
                "/v1/messages",
                json={
                    "model": "claude-3-5-haiku-latest",
                    "max_tokens": 10,
                    "messages": [{"role": "user", "content": "Hi"}],
                },
                headers={"x-api-key": "sk-x"},
            )
            assert anthropic.status_code == 503 and anthropic.json()["type"] == "error"  # Anthropic's own envelope
            server.start()
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
