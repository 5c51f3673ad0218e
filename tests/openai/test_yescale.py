"""The YEScale System API: user, keys (delete, edit quota), tasks, logs, auth, bad input, reset."""

from __future__ import annotations

from typing import Any

import pytest

ACCESS = {"Authorization": "Bearer dash-access-token"}
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there"}]}


def _get(raw: Any, path: str, **params: Any) -> dict[str, Any]:
    r = raw.get(path, headers=ACCESS, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["message"] == ""
    return body  # type: ignore[no-any-return]


def test_user_reflects_served_requests(raw: Any) -> None:
    before = _get(raw, "/yescale/user")["data"]
    assert before["access_token"] == "dash-access-token" and before["username"]
    raw.post("/v1/chat/completions", json=CHAT)
    raw.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"})
    raw.get("/v1/models")  # reads are free
    after = _get(raw, "/yescale/user")["data"]
    assert after["request_count"] == before["request_count"] + 2
    spent = after["used_quota"] - before["used_quota"]
    assert spent > 0 and before["quota"] - after["quota"] == spent


def test_logs_are_the_journal_newest_first_with_usage(raw: Any) -> None:
    chat = raw.post("/v1/chat/completions", json=CHAT).json()
    raw.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": "bad"})
    raw.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"})
    page = _get(raw, "/yescale/logs", p=1, page_size=10)["data"]
    assert page["total"] == 3 and page["page"] == 1
    embed, error, ok = page["items"]
    assert embed["model_name"] == "text-embedding-3-small" and embed["completion_tokens"] == 0
    assert error["type"] == 5 and error["quota"] == 0
    assert ok["type"] == 2 and ok["model_name"] == "gpt-4o"
    assert ok["prompt_tokens"] == chat["usage"]["prompt_tokens"]
    assert ok["completion_tokens"] == chat["usage"]["completion_tokens"]
    assert ok["quota"] > 0 and ok["created_at"] == 1_750_000_000
    only_errors = _get(raw, "/yescale/logs", type=5)["data"]
    assert [row["id"] for row in only_errors["items"]] == [error["id"]]
    assert _get(raw, "/yescale/logs", model_name="embedding")["data"]["total"] == 1
    second = _get(raw, "/yescale/logs", p=2, page_size=2)["data"]
    assert [row["id"] for row in second["items"]] == [ok["id"]]
    assert _get(raw, "/yescale/logs", start_timestamp=1_750_000_001)["data"]["total"] == 0


def test_keys_delete_and_edit_quota(raw: Any) -> None:
    keys = _get(raw, "/yescale/apikeylist")["data"]
    assert len(keys) >= 3 and all("**********" in k["key"] for k in keys)
    victim, edited = keys[1], keys[2]
    r = raw.delete(f"/yescale/deletekey/{victim['id']}", headers=ACCESS)
    assert r.status_code == 200 and r.json() == {"success": True, "message": ""}
    assert victim["id"] not in [k["id"] for k in _get(raw, "/yescale/apikeylist")["data"]]
    r = raw.put(f"/yescale/editquota/{edited['id']}", headers=ACCESS, json={"remain_quota": 50_000_000})
    assert r.status_code == 200 and r.json()["success"] is True
    now = {k["id"]: k for k in _get(raw, "/yescale/apikeylist")["data"]}
    assert now[edited["id"]]["remain_quota"] == 50_000_000
    assert _get(raw, "/yescale/apikeylist", keyword=edited["name"][:4])["data"][0]["id"] == edited["id"]
    tail = edited["key"][-4:]
    assert [k["id"] for k in _get(raw, "/yescale/apikeylist", token=tail)["data"]] == [edited["id"]]
    raw.post("/__mock/reset")
    assert victim["id"] in [k["id"] for k in _get(raw, "/yescale/apikeylist")["data"]]


def test_usage_counts_against_the_key_used_after_an_edit(raw: Any) -> None:
    first = _get(raw, "/yescale/apikeylist")["data"][1]  # a limited sample key
    assert first["unlimited_quota"] is False
    raw.put(f"/yescale/editquota/{first['id']}", headers=ACCESS, json={"remain_quota": 1_000_000})
    full = next(k["key"] for k in raw.get("/__mock/keys").json()["keys"] if k["id"] == first["id"])
    raw.post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {full}"})
    key = _get(raw, "/yescale/apikeylist")["data"][1]
    assert key["remain_quota"] < 1_000_000 and key["used_quota"] > first["used_quota"]
    assert 1_000_000 - key["remain_quota"] == key["used_quota"] - first["used_quota"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("DELETE", "/yescale/deletekey/abc", None, 400),
        ("DELETE", "/yescale/deletekey/999999", None, 404),
        ("PUT", "/yescale/editquota/999999", {"remain_quota": 5}, 404),
        ("PUT", "/yescale/editquota/abc", {"remain_quota": 5}, 400),
        ("GET", "/yescale/task?start_timestamp=10", None, 400),
        ("GET", "/yescale/task?start_timestamp=10&end_timestamp=5", None, 400),
        ("GET", "/yescale/logs?p=first", None, 400),
    ],
)
def test_bad_input_in_the_system_envelope(raw: Any, method: str, path: str, body: Any, status: int) -> None:
    r = raw.request(method, path, headers=ACCESS, json=body)
    assert r.status_code == status, r.text
    error = r.json()
    assert error["success"] is False and error["message"]


def test_edit_quota_body_is_validated(raw: Any) -> None:
    key_id = _get(raw, "/yescale/apikeylist")["data"][0]["id"]
    for bad in ({}, {"remain_quota": -1}, {"remain_quota": "lots"}):
        r = raw.put(f"/yescale/editquota/{key_id}", headers=ACCESS, json=bad)
        assert r.status_code == 400 and r.json()["success"] is False and "remain_quota" in r.json()["message"]


def test_access_token_is_required_and_api_keys_are_refused(app: Any) -> None:
    from starlette.testclient import TestClient

    with TestClient(app) as client:
        assert client.get("/yescale/user").status_code == 401
        r = client.get("/yescale/user", headers={"Authorization": "Bearer sk-relay-key"})
        assert r.status_code == 401 and r.json()["success"] is False and "access token" in r.json()["message"]


def test_tasks_in_window(raw: Any) -> None:
    everything = _get(raw, "/yescale/task", start_timestamp=0, end_timestamp=1_750_000_000)["data"]
    assert everything["total"] > 0
    times = [t["submit_time"] for t in everything["items"]]
    assert times == sorted(times, reverse=True)
    middle = times[len(times) // 2]
    later = _get(raw, "/yescale/task", start_timestamp=middle, end_timestamp=1_750_000_000)["data"]
    assert 0 < later["total"] < everything["total"] and all(t["submit_time"] >= middle for t in later["items"])
