"""Model list and retrieve, `--model` extras, `--strict-models`, and the legacy billing routes."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings

DOCUMENTED = [
    "gpt-4o",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-large",
    "whisper-1",
    "tts-1-hd",
    "claude-sonnet-4-20250514",
    "gemini-2.0-flash-exp-image-generation",
    "deepseek-v3-1-250821",
    "gpt-image-1",
    "kling-v2-master",
    "veo3-pro-frames",
    "chirp-v4",
    "MiniMax-Hailuo-02",
]


def test_list_has_every_documented_model(sdk: openai.OpenAI) -> None:
    ids = [m.id for m in sdk.models.list()]
    assert set(DOCUMENTED) <= set(ids) and len(ids) == len(set(ids))


def test_retrieve(sdk: openai.OpenAI) -> None:
    model = sdk.models.retrieve("gpt-4o")
    assert (model.id, model.object, model.owned_by) == ("gpt-4o", "model", "openai")


def test_unknown_model_is_an_error_body_with_200(raw: Any) -> None:
    # new-api's RetrieveModel: HTTP 200 with an OpenAI error object, no request id in the message
    r = raw.get("/v1/models/gpt-9-ultra")
    assert r.status_code == 200
    assert r.json() == {
        "error": {
            "message": "The model 'gpt-9-ultra' does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


def _client(**settings: Any) -> TestClient:
    app = create_app(Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0, **settings))
    return TestClient(app, headers={"Authorization": "Bearer sk-test"})


def test_extra_models_and_strict_models() -> None:
    with _client(models=("my-finetune",), strict_models=True) as client:
        assert client.get("/v1/models/my-finetune").status_code == 200
        chat = {"model": "my-finetune", "messages": [{"role": "user", "content": "hi"}]}
        assert client.post("/v1/chat/completions", json=chat).status_code == 200
        for path, body in [
            ("/v1/chat/completions", {**chat, "model": "gpt-unknown"}),
            ("/v1/completions", {"model": "gpt-unknown", "prompt": "x"}),
            ("/v1/embeddings", {"model": "gpt-unknown", "input": "x"}),
        ]:
            r = client.post(path, json=body)
            assert r.status_code == 503, path
            assert r.json()["error"]["code"] == "model_not_found" and "gpt-unknown" in r.json()["error"]["message"]


def test_unknown_models_are_served_without_strict_mode(raw: Any) -> None:
    body = {"model": "some-new-model-2030", "messages": [{"role": "user", "content": "hi"}]}
    assert raw.post("/v1/chat/completions", json=body).json()["model"] == "some-new-model-2030"


def test_billing_agrees_with_the_system_api(raw: Any) -> None:
    sub = raw.get("/v1/dashboard/billing/subscription").json()
    assert sub["object"] == "billing_subscription" and sub["hard_limit_usd"] == sub["soft_limit_usd"] > 0
    before = raw.get("/v1/dashboard/billing/usage", params={"start_date": "2025-01-01", "end_date": "2025-01-31"})
    assert before.status_code == 200
    raw.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    after = raw.get("/v1/dashboard/billing/usage").json()
    assert after["total_usage"] > before.json()["total_usage"]
    user = raw.get("/yescale/user", headers={"Authorization": "Bearer access-token"}).json()["data"]
    assert after["total_usage"] == pytest.approx(user["used_quota"] / 500_000 * 100)
    assert sub["hard_limit_usd"] == pytest.approx((user["quota"] + user["used_quota"]) / 500_000, abs=0.01)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": "2025-02-01", "end_date": "2025-01-01"}, "start_date"),
        ({"end_date": "2025-13-45"}, "end_date"),
    ],
)
def test_billing_usage_bad_dates(raw: Any, query: dict[str, str], param: str) -> None:
    r = raw.get("/v1/dashboard/billing/usage", params=query)
    assert r.status_code == 400 and r.json()["error"]["param"] == param


def test_billing_routes_are_served_without_the_v1_prefix(raw: Any) -> None:
    """new-api's router/dashboard.go registers both spellings on the same handlers."""
    for path in ("/dashboard/billing/subscription", "/dashboard/billing/usage"):
        plain, prefixed = raw.get(path), raw.get(f"/v1{path}")
        assert plain.status_code == prefixed.status_code == 200, path
        assert plain.json() == prefixed.json()
    bad = raw.get("/dashboard/billing/usage", params={"start_date": "January"})
    assert bad.status_code == 400 and "start_date" in bad.json()["error"]["param"]


def test_gateway_refusals_use_abort_with_openai_message_shape() -> None:
    """Auth failures are the gateway's own errors: `{"error": {"message", "type": "new_api_error",
    "code"}}`, no `param` (abortWithOpenAiMessage); validation errors keep `param`."""
    with _client(api_key=("sk-right",)) as client:
        chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        wrong = client.post("/v1/chat/completions", json=chat, headers={"Authorization": "Bearer sk-wrong"})
        assert wrong.status_code == 401
        assert list(wrong.json()["error"]) == ["message", "type", "code"]
        assert wrong.json()["error"]["type"] == "new_api_error"
        missing = client.post("/v1/chat/completions", json=chat, headers={"Authorization": ""})
        assert missing.status_code == 401 and "param" not in missing.json()["error"]
        invalid = client.post(
            "/v1/chat/completions", json={"model": "gpt-4o"}, headers={"Authorization": "Bearer sk-right"}
        )
        assert invalid.status_code == 400 and invalid.json()["error"]["param"] == "messages"
