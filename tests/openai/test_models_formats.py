"""GET /v1/models answers in the format new-api picks from the headers, so every official SDK can list models."""

from __future__ import annotations

import anthropic
import pytest
from google import genai
from google.genai import types
from starlette.testclient import TestClient

from mockserver.contracts import load_contracts
from mockserver.testing import ThreadedServer

CONTRACT = load_contracts().get("models_list")


def test_openai_format_by_default(client: TestClient) -> None:
    body = client.get("/v1/models").json()
    assert body["object"] == "list" and body["data"][0]["object"] == "model"
    assert CONTRACT.validate_response(200, body) == []


def test_anthropic_format_for_x_api_key_and_version(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        body = c.get("/v1/models", headers={"x-api-key": "sk-a", "anthropic-version": "2023-06-01"}).json()
    assert body["has_more"] is False and body["first_id"] == body["data"][0]["id"]
    assert {m["type"] for m in body["data"]} == {"model"}
    assert any(m["id"].startswith("claude") for m in body["data"])
    assert CONTRACT.validate_response(200, body) == []


@pytest.mark.parametrize("where", ["header", "query"])
def test_gemini_format_for_a_google_key(app, where: str) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        if where == "header":
            r = c.get("/v1/models", headers={"x-goog-api-key": "g-key"})
        else:
            r = c.get("/v1/models?key=g-key")
    body = r.json()
    assert r.status_code == 200 and body["models"] and all(m["name"].startswith("models/") for m in body["models"])
    assert CONTRACT.validate_response(200, body) == []


def test_x_api_key_alone_is_still_a_key_but_the_openai_format(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        assert c.get("/v1/models", headers={"x-api-key": "sk-a"}).json()["object"] == "list"
        assert c.get("/v1/models").status_code == 401


def test_official_sdks_list_models(live: ThreadedServer) -> None:
    claude = anthropic.Anthropic(base_url=live.url, api_key="sk-test")
    ids = [m.id for m in claude.models.list()]
    assert any(i.startswith("claude") for i in ids)
    google = genai.Client(api_key="g-test", http_options=types.HttpOptions(base_url=live.url))
    names = [m.name for m in google.models.list()]
    assert names and all(n.startswith("models/") for n in names)
