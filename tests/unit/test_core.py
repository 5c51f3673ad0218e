"""The emulator core: auth, body handling, error envelopes, journal, faults, stubs, control API."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings


def test_health(client: TestClient) -> None:
    body = client.get("/__mock/health").json()
    assert body["status"] == "ok" and body["operations"] > 0 and body["version"]


def test_missing_key_is_401_in_openai_envelope(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as anon:
        r = anon.get("/v1/models")
    assert r.status_code == 401
    err = r.json()["error"]
    assert "request id:" in err["message"] and err["type"]


def test_api_key_list_is_enforced() -> None:
    app = create_app(Settings(api_key=("sk-good",)))
    with TestClient(app) as c:
        assert c.get("/v1/models", headers={"Authorization": "Bearer sk-bad"}).status_code == 401
        assert c.get("/v1/models", headers={"Authorization": "Bearer sk-good"}).status_code == 200
        assert c.get("/v1/models", headers={"Authorization": "Bearer good"}).status_code == 200  # sk- optional
        # a `-N` suffix pins a channel in new-api, which only admins may do
        pinned = c.get("/v1/models", headers={"Authorization": "Bearer good-3"})
        assert pinned.status_code == 403 and "普通用户不支持指定渠道" in pinned.json()["error"]["message"]


def test_unknown_path_is_404_envelope(client: TestClient) -> None:
    r = client.get("/v1/definitely-not-here")
    assert r.status_code == 404
    assert "Invalid URL (GET /v1/definitely-not-here)" in r.json()["error"]["message"]


def test_wrong_method_is_405_envelope(client: TestClient) -> None:
    r = client.delete("/v1/models")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in r.headers["allow"]


def test_journal_is_bounded_and_redacted() -> None:
    app = create_app(Settings(journal_size=3))
    with TestClient(app, headers={"Authorization": "Bearer sk-secret-value-1234"}) as c:
        for _ in range(5):
            c.get("/v1/models")
        entries = c.get("/__mock/requests").json()["requests"]
        assert len(entries) == 3
        assert entries[-1]["headers"]["authorization"] == "Bearer ***1234"
        assert "secret" not in str(entries)
        assert c.delete("/__mock/requests").status_code == 200
        assert c.get("/__mock/requests").json()["count"] == 0


def test_journal_shows_json_form_and_text_bodies_as_received(client: TestClient) -> None:
    client.post(
        "/v1/embeddings",
        content=b'{"model": "text-embedding-3-small", "input": "hi", "dimensions": 8.0}',
        headers={"Content-Type": "application/json"},
    )
    client.post("/v1/embeddings", content=b"{not json", headers={"Content-Type": "application/json"})
    wav = b"RIFF" + b"\0" * 40
    client.post("/v1/audio/transcriptions", data={"model": "whisper-1"}, files={"file": ("a.wav", wav, "audio/wav")})
    json_body, broken, form = client.get("/__mock/requests").json()["requests"]
    assert json_body["body"] == {"model": "text-embedding-3-small", "input": "hi", "dimensions": 8.0}
    assert json_body["status"] == 200 and json_body["operation"] == "embeddings_create"
    assert json_body["headers"]["content-type"] == "application/json"
    assert broken["body"] == "{not json" and broken["status"] == 400
    assert form["body"] == {"model": "whisper-1", "file": "a.wav"}  # uploads by file name, not their bytes


def test_journal_keeps_only_the_size_of_large_bodies_it_cannot_read(client: TestClient) -> None:
    # An operation that takes no body: a big one is remembered by its size, not kept for 1000 requests.
    client.post("/replicate/v1/predictions/nope/cancel", content=b"\x00" * 100_000)
    client.post("/replicate/v1/predictions/nope/cancel", content=b"small note")
    big, small = client.get("/__mock/requests").json()["requests"]
    assert big["body"] == "<100000 bytes>" and small["body"] == "small note"


def test_fault_status_times_and_retry_after(client: TestClient) -> None:
    r = client.post("/__mock/faults", json={"operation": "models_list", "retry_after": 7, "times": 1})
    assert r.status_code == 201
    fault_id = r.json()["id"]
    r = client.get("/v1/models")
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert client.get("/v1/models").status_code == 200
    assert client.get(f"/__mock/faults/{fault_id}").json()["hits"] == 1
    assert client.delete(f"/__mock/faults/{fault_id}").status_code == 200
    assert client.get(f"/__mock/faults/{fault_id}").status_code == 404


def test_fault_with_custom_body_and_path_match(client: TestClient) -> None:
    client.post("/__mock/faults", json={"path": "/v1/mod.*", "method": "GET", "status": 503, "body": {"oops": True}})
    r = client.get("/v1/models")
    assert r.status_code == 503 and r.json() == {"oops": True}


def test_fault_probability_is_deterministic() -> None:
    def run() -> list[int]:
        app = create_app(Settings(seed=5))
        with TestClient(app, headers={"Authorization": "Bearer k"}) as c:
            c.post("/__mock/faults", json={"operation": "models_list", "status": 500, "probability": 0.5})
            return [c.get("/v1/models").status_code for _ in range(20)]

    first = run()
    assert first == run()
    assert 500 in first and 200 in first


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"status": 200}, "match"),
        ({"operation": "models_list", "status": 1000}, "status"),
        ({"operation": "models_list", "status": 500, "probability": 2}, "probability"),
        ({"operation": "models_list"}, "status"),
        ({"operation": "models_list", "status": 500, "times": -1}, "times"),
        ({"path": "(", "status": 500}, "path: not a valid regular expression"),
    ],
)
def test_bad_fault_rules_are_refused_naming_the_field(client: TestClient, rule: dict, field: str) -> None:  # type: ignore[type-arg]
    r = client.post("/__mock/faults", json=rule)
    assert r.status_code == 400
    assert field in r.json()["error"]["message"]


def test_stub_full_response_and_reset(client: TestClient) -> None:
    r = client.post(
        "/__mock/stubs",
        json={"operation": "models_list", "response": {"status": 200, "body": {"object": "list", "data": []}}},
    )
    assert r.status_code == 201
    assert client.get("/v1/models").json() == {"object": "list", "data": []}
    assert client.post("/__mock/reset").json() == {"reset": True}
    assert client.get("/__mock/stubs").json() == {"stubs": []}
    assert client.get("/v1/models").json()["data"]


def test_clock_advance(client: TestClient) -> None:
    before = client.get("/__mock/clock").json()["now"]
    after = client.post("/__mock/clock/advance", json={"seconds": 90}).json()["now"]
    assert after == pytest.approx(before + 90, abs=0.01)
    assert client.post("/__mock/clock/advance", json={"seconds": -1}).status_code == 400
    assert client.post("/__mock/clock/advance", content=b"{nope").status_code == 400


def test_openapi_endpoint(client: TestClient) -> None:
    doc = client.get("/__mock/openapi.json").json()
    assert doc["openapi"] == "3.1.0" and "/v1/models" in doc["paths"]


def test_whole_floats_become_ints_where_json_schema_counts_them_as_integers() -> None:
    from mockserver.pipeline import whole_floats_to_int

    body = {"n": 2.0, "t": 0.7, "big": 1e300, "list": [1.0, [3e0], "4.0"], "flag": True}
    assert whole_floats_to_int(body) == {"n": 2, "t": 0.7, "big": 1e300, "list": [1, [3], "4.0"], "flag": True}
    assert isinstance(whole_floats_to_int(body)["n"], int) and isinstance(whole_floats_to_int(2.0**60), float)


def test_integral_float_counts_are_served(client: TestClient) -> None:
    r = client.post(
        "/v1/completions", json={"model": "gpt-3.5-turbo-instruct", "prompt": "hi", "logprobs": 0.0, "n": 2.0}
    )
    assert r.status_code == 200 and len(r.json()["choices"]) == 2


def _answer(app: Starlette) -> tuple[int, bytes]:
    with TestClient(app, headers={"Authorization": "Bearer sk-x"}) as c:
        r = c.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        return r.status_code, r.content


def test_fast_lane_answers_exactly_as_the_routed_way() -> None:
    # The exact-path fast lane skips Starlette's layers; with a user middleware everything is routed.
    routed = create_app(Settings(seed=3, speed=0.0, start_time=1_750_000_000.0))
    seen: list[str] = []

    async def middleware(request, call_next):  # type: ignore[no-untyped-def]
        seen.append(request.url.path)
        response = await call_next(request)
        response.headers["x-user-middleware"] = "1"
        return response

    routed.add_middleware(BaseHTTPMiddleware, dispatch=middleware)
    assert _answer(create_app(Settings(seed=3, speed=0.0, start_time=1_750_000_000.0))) == _answer(routed)
    assert seen == ["/v1/chat/completions"]


def test_fast_lane_respects_root_path_and_method() -> None:
    app = create_app()
    with TestClient(app, headers={"Authorization": "Bearer sk-x"}, root_path="/gw") as c:
        assert c.get("/v1/models").status_code == 200
    with TestClient(app, headers={"Authorization": "Bearer sk-x"}) as c:
        r = c.get("/v1/chat/completions")  # an exact path with the wrong method still gets the 405 envelope
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
