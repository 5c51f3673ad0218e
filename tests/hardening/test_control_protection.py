"""The control API's protection: token, cross-origin writes, JSON only, size limit, bounded numbers and regexes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings

TOKEN = "ctl-secret-token"
AUTH = {"Authorization": "Bearer sk-test"}


@pytest.fixture
def guarded() -> Iterator[TestClient]:
    app = create_app(Settings(speed=0.0, start_time=1_750_000_000.0, control_token=TOKEN))
    with TestClient(app, headers=AUTH) as c:
        yield c


@pytest.fixture
def open_client() -> Iterator[TestClient]:
    app = create_app(Settings(speed=0.0, start_time=1_750_000_000.0, control_max_bytes=4096))
    with TestClient(app, headers=AUTH) as c:
        yield c


def test_token_is_required_on_every_control_route_but_health(guarded: TestClient) -> None:
    assert guarded.get("/__mock/health").status_code == 200
    for method, path in [
        ("GET", "/__mock/requests"),
        ("POST", "/__mock/reset"),
        ("GET", "/__mock/clock"),
        ("GET", "/__mock/tasks"),
        ("GET", "/__mock/callbacks"),
        ("GET", "/__mock/faults"),
        ("GET", "/__mock/stubs/x"),
        ("GET", "/__mock/openapi.json"),
    ]:
        answer = guarded.request(method, path)
        assert answer.status_code == 401, path
        assert answer.json()["error"]["type"] == "mock_control_error"
        assert "control token" in answer.json()["error"]["message"]
    wrong = guarded.post("/__mock/reset", headers={"Authorization": "Bearer ctl-secret-tokenX"})
    assert wrong.status_code == 401
    assert guarded.post("/__mock/reset", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert guarded.get("/__mock/clock", headers={"x-mock-token": TOKEN}).status_code == 200


def test_the_token_itself_is_masked_in_the_journal(guarded: TestClient) -> None:
    guarded.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": []}, headers={"x-mock-token": TOKEN})
    entries = guarded.get("/__mock/requests", headers={"x-mock-token": TOKEN}).json()["requests"]
    assert TOKEN not in str(entries)


def test_cross_origin_browser_writes_are_refused(open_client: TestClient) -> None:
    evil = open_client.post("/__mock/reset", headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and evil.json()["error"]["param"] == "Origin"
    site = open_client.post("/__mock/faults", json={"status": 500}, headers={"Sec-Fetch-Site": "cross-site"})
    assert site.status_code == 403
    assert open_client.post("/__mock/reset", headers={"Origin": "null"}).status_code == 403
    same = open_client.post("/__mock/reset", headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200
    assert "access-control-allow-origin" not in evil.headers


def test_only_json_bodies_are_accepted(open_client: TestClient) -> None:
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        answer = open_client.post("/__mock/faults", content=b'{"status": 500}', headers={"Content-Type": ctype})
        assert answer.status_code == 415, ctype
        assert answer.json()["error"]["param"] == "Content-Type"
    assert open_client.post("/__mock/reset", headers={"Content-Type": "text/plain"}).status_code == 415
    assert open_client.get("/__mock/faults").json()["faults"] == []


def test_bodies_beyond_the_limit_are_refused(open_client: TestClient) -> None:
    big = {"operation": "chat_completions", "reply": {"content": "x" * 10_000}}
    assert open_client.post("/__mock/stubs", json=big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        yield b'{"operation": "chat_completions", "reply": {"content": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}}'

    answer = open_client.post("/__mock/stubs", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert open_client.get("/__mock/stubs").json()["stubs"] == []


@pytest.mark.parametrize("seconds", [1e308, -1, 10 * 366 * 86400, "5", True, None])
def test_clock_advance_takes_finite_numbers_up_to_ten_years(open_client: TestClient, seconds: object) -> None:
    answer = open_client.post("/__mock/clock/advance", json={"seconds": seconds})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "seconds"
    assert open_client.get("/__mock/tasks").status_code == 200


def test_clock_advance_non_finite_literal_is_refused(open_client: TestClient) -> None:
    answer = open_client.post(
        "/__mock/clock/advance", content=b'{"seconds": 1e999}', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert open_client.post("/__mock/clock/advance", json={"seconds": 3600}).status_code == 200


@pytest.mark.parametrize("limit", ["9" * 5000, "-1", "1.5", "abc", "10000001"])
def test_limits_are_whole_numbers_in_range(open_client: TestClient, limit: str) -> None:
    for path in ("/__mock/callbacks", "/__mock/tasks"):
        answer = open_client.get(path, params={"limit": limit})
        assert answer.status_code == 400 and answer.json()["error"]["param"] == "limit"
    assert open_client.get("/__mock/callbacks", params={"limit": "5"}).status_code == 200


def test_long_or_nested_quantifier_regexes_are_refused(open_client: TestClient) -> None:
    long = open_client.post("/__mock/faults", json={"match": {"body_regex": "a" * 2_000}, "status": 500})
    assert long.status_code == 400 and "body_regex" in long.json()["error"]["message"]
    nested = open_client.post("/__mock/faults", json={"match": {"body_regex": "(a+)+$"}, "status": 500})
    assert nested.status_code == 400 and "body_regex" in nested.json()["error"]["message"]
    path = open_client.post("/__mock/stubs", json={"match": {"path": "(x*)*y"}, "reply": {"content": "z"}})
    assert path.status_code == 400 and "path" in path.json()["error"]["message"]
    fine = open_client.post("/__mock/faults", json={"match": {"body_regex": "weather|forecast"}, "status": 500})
    assert fine.status_code == 201


def test_the_public_url_counts_as_the_same_origin() -> None:
    settings = Settings(speed=0.0, public_url="https://mock.example.org")
    with TestClient(create_app(settings), headers=AUTH) as c:
        assert c.post("/__mock/reset", headers={"Origin": "https://mock.example.org"}).status_code == 200
        assert c.post("/__mock/reset", headers={"Origin": "https://evil.example.org"}).status_code == 403
