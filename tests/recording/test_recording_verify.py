"""`verify`: every drift kind, unknown fields where extra ones are allowed, the summary, JUnit XML, the CLI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson
import pytest

from mockserver.cli import main
from mockserver.contracts import Contracts
from mockserver.recording import Cassette, Interaction, RecordedRequest, RecordedResponse, save_cassette, verify_paths
from tests.recording.recording_helpers import CONTRACTS

BASE = "https://api.yescale.io"
JSON_H = {"content-type": ["application/json"]}
SSE_H = {"content-type": ["text/event-stream"]}
CHAT_REQ = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
CHAT_OK = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}],
    "usage": {"total_tokens": 3},
}


def http(
    method: str,
    path: str,
    request: Any = None,
    status: int = 200,
    response: Any = None,
    *,
    sse: bytes | None = None,
    **kw: Any,
) -> Interaction:
    body = orjson.dumps(request) if request is not None else None
    if sse is not None:
        resp = RecordedResponse(status, dict(SSE_H), sse)
    else:
        resp = RecordedResponse(status, dict(JSON_H), orjson.dumps(response) if response is not None else b"")
    return Interaction(RecordedRequest(method, BASE + path, dict(JSON_H), body), resp, **kw)


def sse(*events: Any) -> bytes:
    out = b""
    for event in events:
        name, data = event if isinstance(event, tuple) else (None, event)
        out += (f"event: {name}\n".encode() if name else b"") + b"data: " + orjson.dumps(data) + b"\n\n"
    return out + b"data: [DONE]\n\n"


def good_cassette() -> Cassette:
    delta = {"id": "c2", "choices": [{"index": 0, "delta": {"content": "he"}}]}
    return Cassette(
        [
            http("POST", "/v1/chat/completions", CHAT_REQ, 200, CHAT_OK),
            http("POST", "/v1/chat/completions", {**CHAT_REQ, "stream": True}, sse=sse(delta, delta)),
            http(
                "POST",
                "/v1/chat/completions",
                {"model": "x", "messages": []},
                401,
                {"error": {"message": "no", "type": "t"}},
            ),
            http(
                "POST",
                "/mj/submit/imagine",
                {"prompt": "cat", "notifyHook": "http://h/cb"},
                200,
                {"code": 1, "result": "t1"},
            ),
            http(
                "POST",
                "http://h/cb",
                {"id": "t1", "status": "SUCCESS"},
                200,
                {"ok": True},
                kind="callback",
                callback_of=3,
            ),
            http("GET", "/v1/models?limit=2", None, 200, {"object": "list", "data": []}),
        ]
    )


def drift_cassette() -> Cassette:
    bad_delta = {"id": "c2", "choices": [{"index": 0, "delta": {"content": "he", "refusal": None}}]}
    return Cassette(
        [
            # unknown fields where the schema allows extra ones, nested and behind an anyOf
            http(
                "POST",
                "/v1/chat/completions",
                CHAT_REQ,
                200,
                {
                    **CHAT_OK,
                    "system_fingerprint": "fp",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "x", "refusal": None}}],
                    "usage": {"total_tokens": 3, "cached": 1},
                },
            ),
            http("POST", "/v1/chat/completions", CHAT_REQ, 200, {k: v for k, v in CHAT_OK.items() if k != "created"}),
            http("POST", "/v1/chat/completions", CHAT_REQ, 200, {**CHAT_OK, "created": "1"}),
            http("POST", "/v1/chat/completions", CHAT_REQ, 500, {"error": {"message": "boom", "type": "x"}}),
            http(
                "POST", "/v1/chat/completions", {**CHAT_REQ, "stream": True, "foo": 1}, sse=sse(("ping", {}), bad_delta)
            ),
            http("POST", "/v1/chat/completions", {"model": "m"}, 200, CHAT_OK),
            # refused as the contract says it would be: the request is not drift, the answer conforms
            http(
                "POST", "/v1/chat/completions", {"model": "m", "bad": 1}, 400, {"error": {"message": "no", "type": "t"}}
            ),
            http("POST", "/v1/chat/completions", CHAT_REQ, 200, {**CHAT_OK, "object": "chat.thing"}),
            http("GET", "/v1/models?limit=abc", None, 200, {"object": "list", "data": [], "extra": 1}),
            http("POST", "/mj/submit/imagine", {"prompt": "cat"}, 200, {"code": 1, "result": "t2"}),
            http(
                "POST",
                "http://h/cb",
                {"id": "t2", "status": "WEIRD"},
                200,
                {"ok": True},
                kind="callback",
                callback_of=9,
            ),
            http("GET", "/v1/unknown", None, 200, {}),
        ]
    )


def _kinds(report: Any) -> dict[tuple[str, str, str], str]:
    return {(d.operation, d.where, d.path): d.kind for d in report.drift}


def test_conforming_recordings_confirm_inferred_contracts(tmp_path: Path, test_contracts: Contracts) -> None:
    save_cassette(tmp_path / "good.yaml", good_cassette())
    report = verify_paths([tmp_path], contracts=test_contracts)
    assert report.ok, report.to_text()
    assert report.interactions == 6 and report.cassettes == 1
    assert report.confirmed_inferred == ["chat_completions", "mj_submit_imagine"]
    assert report.operations["chat_completions"].interactions == 3
    assert report.operations["mj_submit_imagine"].interactions == 2  # the callback counts for its submit
    assert "result: no drift" in report.to_text()


def test_every_drift_kind_is_reported_per_operation(tmp_path: Path, test_contracts: Contracts) -> None:
    save_cassette(tmp_path / "drift.yaml", drift_cassette())
    report = verify_paths([tmp_path / "drift.yaml"], contracts=test_contracts)
    assert not report.ok
    kinds = _kinds(report)
    expected = {
        ("chat_completions", "response 200", "system_fingerprint"): "unknown field",
        ("chat_completions", "response 200", "choices[0].message.refusal"): "unknown field",
        ("chat_completions", "response 200", "usage.cached"): "unknown field",
        ("chat_completions", "response 200", "created"): "type change",
        ("chat_completions", "response 500", ""): "undocumented status code",
        ("chat_completions", "event ping", ""): "unknown event type",
        ("chat_completions", "event message", "choices[0].delta.refusal"): "unknown field",
        ("chat_completions", "request body", "foo"): "unknown field",
        ("chat_completions", "request body", "messages"): "missing required field",
        ("chat_completions", "response 200", "object"): "schema violation",
        ("models_list", "response 200", "extra"): "unknown field",
        ("models_list", "query", "limit"): "type change",
        ("mj_submit_imagine", "callback", "status"): "schema violation",
    }
    for key, kind in expected.items():
        assert kinds.get(key) == kind, (key, kinds)
    missing_created = [d for d in report.drift if d.kind == "missing required field" and d.where == "response 200"]
    assert missing_created and missing_created[0].path == "created"
    # additionalProperties: false and the properties walk find the same field: reported once
    assert len([d for d in report.drift if d.operation == "models_list" and d.path == "extra"]) == 1
    assert report.uncovered == {"GET /v1/unknown": 1}
    assert not [d for d in report.drift if d.path == "bad"]
    assert report.contradicted_inferred == ["chat_completions", "mj_submit_imagine"]
    first = next(d for d in report.drift if d.path == "system_fingerprint")
    assert first.source == f"{tmp_path / 'drift.yaml'}#0"
    text = report.to_text()
    assert "DRIFT  chat_completions (openai, inferred)" in text
    assert "NOTE   no contract covers GET /v1/unknown (1 interactions)" in text
    assert "inferred contracts the recordings contradict: chat_completions, mj_submit_imagine" in text


def test_repeated_drift_is_counted_not_repeated(tmp_path: Path, test_contracts: Contracts) -> None:
    extra = {**CHAT_OK, "system_fingerprint": "fp"}
    save_cassette(tmp_path / "c.yaml", Cassette([http("POST", "/v1/chat/completions", CHAT_REQ, 200, extra)] * 3))
    report = verify_paths([tmp_path], contracts=test_contracts)
    (drift,) = report.drift
    assert drift.count == 3 and "(3x)" in drift.line()


def test_junit_xml(tmp_path: Path, test_contracts: Contracts) -> None:
    save_cassette(tmp_path / "drift.yaml", drift_cassette())
    (tmp_path / "broken.yaml").write_text("interactions: {")
    report = verify_paths([tmp_path], contracts=test_contracts)
    suite = ET.fromstring(report.to_junit_xml()).find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "3" and suite.get("errors") == "1" and suite.get("skipped") == "1"
    names = {case.get("name"): case for case in suite.iter("testcase")}
    failure = names["chat_completions"].find("failure")
    assert failure is not None and "unknown field" in (failure.get("message") or "")
    assert "system_fingerprint" in (failure.text or "")
    assert names["GET /v1/unknown"].find("skipped") is not None


def test_cli_exit_codes_and_junit_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    save_cassette(good / "c.yaml", good_cassette())
    save_cassette(bad / "c.yaml", drift_cassette())
    assert main(["verify", str(good), "--contracts", str(CONTRACTS)]) == 0
    assert "result: no drift" in capsys.readouterr().out
    junit = tmp_path / "out" / "verify.xml"
    junit.parent.mkdir()
    assert main(["verify", str(bad), "--contracts", str(CONTRACTS), "--junit-xml", str(junit), "-q"]) == 1
    out = capsys.readouterr().out
    assert "DRIFT  chat_completions" in out and "OK   " not in out
    assert ET.parse(junit).getroot().tag == "testsuites"
    assert main(["verify", str(tmp_path / "nothing-here"), "--contracts", str(CONTRACTS)]) == 2
    assert main(["verify", str(good), "--contracts", str(tmp_path)]) == 0  # no contracts: all uncovered, no drift


def test_recordings_of_the_emulator_verify_clean(tmp_path: Path) -> None:
    """What the recorder writes from the emulator conforms to the real contracts (its answers are strict)."""
    import httpx

    from mockserver.app import create_app
    from mockserver.recording import create_proxy_app
    from mockserver.settings import Settings
    from tests.recording.recording_helpers import call

    emulator = create_app(Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0))
    settings = Settings(upstream="http://emulator.test", cassettes=str(tmp_path / "e.yaml"), record_mode="all")
    proxy = create_proxy_app(settings, upstream_transport=httpx.ASGITransport(app=emulator))
    assert call(proxy, "GET", "/v1/models", headers={"authorization": "Bearer sk-x"}).status == 200
    report = verify_paths([tmp_path])
    assert report.ok, report.to_text()
    assert "models_list" in report.operations
