"""Requests the self-fuzzing pass once turned into 500s in the native families."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_malformed_image_url_is_a_400_naming_the_field(client: TestClient) -> None:
    block = {"type": "image", "source": {"type": "url", "url": "http://["}}
    body = {"model": "claude-sonnet-4-20250514", "max_tokens": 10, "messages": [{"role": "user", "content": [block]}]}
    r = client.post("/v1/messages", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert "messages.0.content.0.source.url" in r.json()["error"]["message"]  # Anthropic's path style


def test_malformed_url_in_a_gemini_url_context_prompt_is_not_retrieved(client: TestClient) -> None:
    body = {"contents": [{"parts": [{"text": "Summarise http://[ please"}]}], "tools": [{"urlContext": {}}]}
    r = client.post("/v1beta/models/gemini-2.5-flash:generateContent", json=body)
    assert r.status_code == 200, r.text
