"""Content stubs through the control API and `--stubs DIR`: matching, `times`, whole responses, clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.rules import RuleError
from mockserver.settings import Settings

AUTH = {"Authorization": "Bearer sk-test"}


def chat(client: TestClient, text: str, **extra: Any) -> dict[str, Any]:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **extra}
    answer = client.post("/v1/chat/completions", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def content(client: TestClient, text: str, **extra: Any) -> str:
    return str(chat(client, text, **extra)["choices"][0]["message"]["content"])


@pytest.mark.parametrize(
    ("stub", "field"),
    [
        ([1], "body"),
        ({"match": 5, "content": "x"}, "match"),
        ({"operation": 5, "content": "x"}, "operation"),
        ({"body_json": ["not", "a", "map"], "content": "x"}, "body_json"),
        ({"content": "x"}, "match"),
        ({"path": "(", "content": "x"}, "path: not a valid regular expression"),
        ({"body_regex": "x", "reply": "text"}, "reply"),
        ({"body_regex": "x", "content": 5}, "content"),
        ({"body_regex": "x", "tool_calls": [{"arguments": {}}]}, "tool_calls"),
        ({"body_regex": "x", "tool_calls": "get_weather"}, "tool_calls"),
        ({"body_regex": "x", "response": "ok"}, "response"),
        ({"body_regex": "x", "response": {"status": 700}}, "response.status"),
        ({"body_regex": "x", "response": {"status": "200"}}, "response.status"),
        ({"body_regex": "x"}, "reply"),
        ({"body_regex": "x", "content": "y", "times": -1}, "times"),
        ({"body_regex": "x", "content": "y", "times": 1.5}, "times"),
    ],
)
def test_a_bad_stub_is_refused_naming_the_field(client: TestClient, stub: Any, field: str) -> None:
    answer = client.post("/__mock/stubs", json=stub)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "mock_control_error" and field in error["message"]
    assert client.get("/__mock/stubs").json() == {"stubs": []}  # nothing of a refused batch is kept


def test_a_refused_batch_adds_none_of_its_stubs(client: TestClient) -> None:
    good = {"body_regex": "x", "content": "y"}
    assert client.post("/__mock/stubs", json=[good, {"body_regex": "x"}]).status_code == 400
    assert client.get("/__mock/stubs").json() == {"stubs": []}


def test_times_limits_a_stub_then_generation_resumes(client: TestClient) -> None:
    made = client.post("/__mock/stubs", json={"match": "weather", "content": "Sunny.", "times": 2}).json()
    assert made["times"] == 2 and made["hits"] == 0 and made["match"] == {"body_regex": "weather"}
    assert [content(client, "weather?") for _ in range(2)] == ["Sunny.", "Sunny."]
    assert content(client, "weather?") != "Sunny."
    assert client.get(f"/__mock/stubs/{made['id']}").json()["hits"] == 2


def test_the_newest_matching_stub_wins_and_others_are_left_alone(client: TestClient) -> None:
    client.post("/__mock/stubs", json={"body_regex": "capital", "content": "Old."})
    newest = client.post("/__mock/stubs", json={"body_regex": "capital", "content": "New."}).json()
    assert content(client, "capital of France?") == "New."
    assert content(client, "unrelated") not in ("Old.", "New.")
    assert client.delete(f"/__mock/stubs/{newest['id']}").json() == {"deleted": newest["id"]}
    assert content(client, "capital of France?") == "Old."
    missing = client.get(f"/__mock/stubs/{newest['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "id"
    assert client.delete("/__mock/stubs").json() == {"deleted": True}
    assert content(client, "capital of France?") != "Old."


def test_match_on_method_path_and_json_fields(client: TestClient) -> None:
    client.post(
        "/__mock/stubs",
        json=[
            {"id": "mini", "match": {"method": "post", "body_json": {"model": "gpt-4o-mini"}}, "content": "Mini."},
            {"id": "by-path", "path": "/v1/chat/.*", "body_json": {"n": 2}, "content": "Two."},
        ],
    )
    assert client.get("/__mock/stubs/mini").json()["match"] == {"method": "POST", "body_json": {"model": "gpt-4o-mini"}}
    mini = client.post(
        "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert mini.json()["choices"][0]["message"]["content"] == "Mini."
    assert [c["message"]["content"] for c in chat(client, "hi", n=2)["choices"]] == ["Two.", "Two."]
    assert content(client, "hi") not in ("Mini.", "Two.")
    assert client.get("/v1/models").status_code == 200  # a GET never matches the POST-only stub


def test_a_stub_can_answer_a_whole_response_with_status_and_headers(client: TestClient) -> None:
    client.post(
        "/__mock/stubs",
        json={
            "operation": "chat_completions",
            "body_regex": "teapot",
            "response": {"status": 418, "body": {"error": {"message": "short and stout"}}, "headers": {"x-tea": "1"}},
        },
    )
    answer = client.post(
        "/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "teapot"}]}
    )
    assert answer.status_code == 418 and answer.headers["x-tea"] == "1"
    assert answer.json() == {"error": {"message": "short and stout"}}


def test_a_stubs_folder_is_loaded_at_start_and_after_every_reset(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"id": "one", "body_regex": "alpha", "reply": {"content": "A."}}))
    (tmp_path / "b.json").write_text(
        json.dumps([{"body_regex": "beta", "content": "B."}, {"match": "gamma", "json": {"g": 1}}])
    )
    (tmp_path / "notes.txt").write_text("not a stub")
    settings = Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0, stubs=str(tmp_path))
    with TestClient(create_app(settings), headers=AUTH) as client:
        assert len(client.get("/__mock/stubs").json()["stubs"]) == 3
        assert content(client, "alpha") == "A." and content(client, "beta") == "B."
        client.delete("/__mock/stubs")
        assert content(client, "alpha") != "A."
        client.post("/__mock/reset")
        assert "one" in {s["id"] for s in client.get("/__mock/stubs").json()["stubs"]}
        assert content(client, "alpha") == "A."


def test_a_bad_stub_file_names_the_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text(json.dumps([{"body_regex": "ok", "content": "fine"}, {"body_regex": "x"}]))
    with pytest.raises(RuleError, match=r"broken\.json: reply"):
        create_app(Settings(stubs=str(tmp_path)))
