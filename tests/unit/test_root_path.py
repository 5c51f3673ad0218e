"""The emulator below a path prefix: mounted in another Starlette app, and behind uvicorn's `--root-path`."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testing import serve_in_thread

KEY = {"Authorization": "Bearer sk-test"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi"}]}


def test_mounted_under_a_prefix_every_kind_of_route_answers() -> None:
    outer = Starlette(routes=[Mount("/gw", app=create_app(Settings(speed=0.0)))])
    with TestClient(outer, headers=KEY) as client:
        assert client.get("/gw/__mock/health").json()["status"] == "ok"  # control API
        models = client.get("/gw/v1/models")  # exact path (the fast lane)
        assert models.status_code == 200 and models.json()["object"] == "list"
        assert client.get("/gw/v1/models/gpt-4o-mini").json()["id"] == "gpt-4o-mini"  # a path parameter
        chat = client.post("/gw/v1/chat/completions", json=CHAT)
        assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"]
        submitted = client.post("/gw/mj/submit/imagine", json={"prompt": "a cat", "botType": "MID_JOURNEY"}).json()
        assert client.get(f"/gw/mj/task/{submitted['result']}/fetch").status_code == 200
        # Errors keep their vendor's envelope below the prefix too (Kling: an integer business code).
        missing = client.get("/gw/kling/v1/videos/text2video/no-such-task")
        assert missing.status_code == 404 and isinstance(missing.json()["code"], int)
        journal = client.get("/gw/__mock/requests").json()
        assert any(entry["operation"] == "chat_completions" for entry in journal["requests"])


def test_same_answers_mounted_or_not() -> None:
    settings = Settings(speed=0.0, start_time=1_750_000_000.0)
    with TestClient(create_app(settings), headers=KEY) as plain:
        direct = plain.post("/v1/chat/completions", json=CHAT).json()
    outer = Starlette(routes=[Mount("/prefix", app=create_app(settings))])
    with TestClient(outer, headers=KEY) as client:
        mounted = client.post("/prefix/v1/chat/completions", json=CHAT).json()
    direct.pop("created"), mounted.pop("created")
    assert mounted == direct


def test_behind_uvicorns_root_path() -> None:
    # A proxy that strips `/gw` forwards `/v1/models`; uvicorn's `--root-path /gw` restores the prefix.
    with serve_in_thread(create_app(Settings(speed=0.0)), root_path="/gw") as server:
        for path in ("/v1/models", "/__mock/health"):
            answer = httpx.get(server.url + path, headers=KEY)
            assert answer.status_code == 200, (path, answer.text)
        chat = httpx.post(server.url + "/v1/chat/completions", json=CHAT, headers=KEY)
        assert chat.status_code == 200 and chat.json()["object"] == "chat.completion"
