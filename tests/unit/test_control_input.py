"""Fault and stub rules are checked: a typo is a 400 naming the field, never a rule that silently never fires."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.rules import RuleError
from mockserver.settings import Settings


def _refused(client: TestClient, kind: str, rule: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/__mock/{kind}", json=rule)
    assert r.status_code == 400, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["type"] == "mock_control_error"
    return error


@pytest.mark.parametrize("kind", ["faults", "stubs"])
def test_an_unknown_operation_names_the_closest_ids(client: TestClient, kind: str) -> None:
    rule = {"operation": "chat_completion", "status": 500} if kind == "faults" else {"operation": "chat_completion"}
    rule |= {"content": "x"} if kind == "stubs" else {}
    error = _refused(client, kind, rule)
    assert error["param"] == "operation"
    assert error["message"].startswith("operation: unknown operation 'chat_completion' (closest: chat_completions")
    # ...and the next chat call is untouched, because nothing was stored.
    assert client.get(f"/__mock/{kind}").json() == {kind: []}
    answer = client.post(
        "/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("kind", "rule", "field", "message"),
    [
        ("faults", {"operation": "chat_completions", "stauts": 500}, "stauts", "did you mean 'status'?"),
        ("faults", {"match": {"operation": "chat_completions", "pth": "/x"}, "status": 500}, "match.pth", "unknown"),
        ("faults", {"path": "/v1/(chat", "status": 500}, "path", "not a valid regular expression"),
        ("faults", {"body_regex": "[", "status": 500}, "body_regex", "not a valid regular expression"),
        ("faults", {"operation": "chat_completions", "status": 99}, "status", "between 100 and 599 (got 99)"),
        ("faults", {"operation": "chat_completions", "status": 600}, "status", "between 100 and 599"),
        ("faults", {"operation": "chat_completions", "status": True}, "status", "between 100 and 599"),
        ("faults", {"operation": "chat_completions", "method": "GET", "status": 500}, "method", "never match"),
        ("faults", {"operation": "chat_completions", "method": "FETCH", "status": 500}, "method", "HTTP method"),
        ("faults", {"operation": "chat_completions", "body": {"x": 1}}, "body", "needs a status"),
        ("faults", {"operation": "chat_completions", "times": 0, "status": 500}, "times", "at least 1"),
        ("faults", {"operation": "chat_completions", "probability": 0, "status": 500}, "probability", "above 0"),
        ("faults", {"operation": "chat_completions", "reset": "yes"}, "reset", "true or false"),
        ("faults", {"operation": "chat_completions", "reset": True, "status": 500}, "reset", "no status"),
        ("faults", {"operation": "chat_completions", "malformed": -1}, "malformed", "index"),
        ("faults", {"operation": "chat_completions", "ttfb_ms": -5}, "ttfb_ms", ">= 0"),
        ("faults", {"operation": "chat_completions", "stall_ms": 1.5}, "stall_ms", "whole number"),
        ("faults", {"operation": "chat_completions", "headers": ["x"], "status": 500}, "headers", "object"),
        ("faults", {"operation": "chat_completions", "status": 500, "match": "x"}, "operation", "not both"),
        ("faults", {"operation": "kling_text2video_submit", "scenario": "fial"}, "scenario", "unknown scenario 'fial'"),
        ("faults", {"operation": "mj_submit_imagine", "scenario": "moderation"}, "scenario", "known: success, fail"),
        ("faults", {"operation": "chat_completions", "scenario": "fail"}, "scenario", "starts no task"),
        ("stubs", {"operation": "chat_completions", "contnet": "hi"}, "contnet", "did you mean 'content'?"),
        ("stubs", {"operation": "chat_completions", "reply": {"text": "hi"}}, "reply.text", "unknown field"),
        ("stubs", {"operation": "chat_completions", "response": {"status": 700}}, "response.status", "100 and 599"),
        ("stubs", {"operation": "chat_completions", "response": {"code": 200}}, "response.code", "unknown field"),
        ("stubs", {"path": "*", "content": "x"}, "path", "not a valid regular expression"),
        ("stubs", {"operation": "chat_completions", "content": "x", "times": 0}, "times", ">= 1"),
    ],
)
def test_malformed_rules_are_refused_naming_the_field(
    client: TestClient, kind: str, rule: dict[str, Any], field: str, message: str
) -> None:
    error = _refused(client, kind, rule)
    assert error["param"] == field, error
    assert message in error["message"], error


def test_a_list_with_one_bad_rule_stores_none(client: TestClient) -> None:
    rules = [{"operation": "models_list", "status": 503}, {"operation": "models_lst", "status": 503}]
    error = _refused(client, "faults", rules)  # type: ignore[arg-type]
    assert "closest: models_list" in error["message"]
    assert client.get("/__mock/faults").json() == {"faults": []}


def test_valid_wire_fault_is_stored_with_every_field(client: TestClient) -> None:
    rule = {"operation": "chat_completions", "ttfb_ms": 5, "stall_ms": 1, "malformed": 2, "times": 1}
    stored = client.post("/__mock/faults", json=rule).json()
    assert (stored["ttfb_ms"], stored["stall_ms"], stored["malformed"], stored["reset"]) == (5, 1, 2, False)


def test_a_midjourney_fault_scenario_is_honoured(client: TestClient) -> None:
    rule = {"operation": "mj_submit_imagine", "scenario": "fail", "message": "GPU on fire", "times": 1}
    assert client.post("/__mock/faults", json=rule).status_code == 201
    task_id = client.post("/mj/submit/imagine", json={"prompt": "a fox", "botType": "MID_JOURNEY"}).json()["result"]
    client.post("/__mock/clock/advance", json={"seconds": 600})
    task = client.get(f"/mj/task/{task_id}/fetch").json()
    assert (task["status"], task["failReason"]) == ("FAILURE", "GPU on fire")


def test_stub_folder_with_a_typo_fails_at_start_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"operation": "chat_completion", "content": "x"}))
    with pytest.raises(RuleError, match=r"a\.json: operation: unknown operation 'chat_completion'"):
        create_app(Settings(stubs=str(tmp_path)))
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(RuleError, match=r"a\.json: not a readable JSON file"):
        create_app(Settings(stubs=str(tmp_path)))
    with pytest.raises(RuleError, match="is not a folder"):
        create_app(Settings(stubs=str(tmp_path / "missing")))


def test_plugin_control_error_carries_the_message(mockserver: Any) -> None:
    from pytest_plugin.control import ControlError

    with pytest.raises(ControlError) as info:
        mockserver.fault(operation="chat_completion", status=500)
    assert info.value.status == 400 and info.value.field == "operation"
    assert "closest: chat_completions" in str(info.value)
    with pytest.raises(ControlError, match="stauts: unknown field"):
        mockserver.stub(operation="chat_completions", content="x", stauts=1)
