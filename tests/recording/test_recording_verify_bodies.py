"""`verify` on bodies that are not plain JSON: forms, multipart uploads, NDJSON streams, broken bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mockserver.contracts import Contract, Contracts, load_contracts
from mockserver.recording import Cassette, Interaction, RecordedRequest, RecordedResponse, save_cassette, verify_paths
from mockserver.recording.verify import Finding, check_interaction

BASE = "https://api.yescale.io"
JSON_H = {"content-type": ["application/json"]}
NUMBERS = {"n": {"type": "integer"}, "t": {"type": "number"}, "flag": {"type": "boolean"}, "s": {"type": "string"}}


def contract(op_id: str, path: str, **parts: Any) -> dict[str, Any]:
    return {
        "id": op_id,
        "family": "openai",
        "method": parts.pop("method", "POST"),
        "path": path,
        "toc_title": f"test: {op_id}",
        "docs_entries": [],
        "provenance": {"confidence": "docs-page", "sources": ["test"]},
        "responses": {"200": {"content_type": "application/json", "body": {"type": "object"}}},
        **parts,
    }


@pytest.fixture(scope="module")
def contracts(tmp_path_factory: pytest.TempPathFactory) -> Contracts:
    root = tmp_path_factory.mktemp("contracts")
    folder = root / "openai"
    folder.mkdir()
    made = [
        contract(
            "form_op",
            "/v1/form",
            request={
                "content_type": "application/x-www-form-urlencoded",
                "body": {"type": "object", "properties": NUMBERS},
            },
        ),
        contract(
            "upload_op",
            "/v1/upload",
            request={
                "content_type": "multipart/form-data",
                "body": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string"}, **NUMBERS}},
            },
        ),
        contract("query_op", "/v1/query", method="GET", request={"query": {"type": "object", "properties": NUMBERS}}),
        contract(
            "json_op",
            "/v1/json",
            request={"content_type": "application/json", "body": {"type": "object"}},
            callback={"type": "object", "required": ["id"]},
        ),
        contract(
            "lines_op",
            "/v1/lines",
            stream={
                "events": {"message": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}
            },
        ),
    ]
    for raw in made:
        (folder / f"{raw['id']}.json").write_text(json.dumps(raw))
    return load_contracts(str(root))


def item(
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    ctype: str = "application/json",
    status: int = 200,
    answer: bytes = b"{}",
    answer_type: str = "application/json",
    **kw: Any,
) -> Interaction:
    request = RecordedRequest(method, path if path.startswith("http") else BASE + path, {"content-type": [ctype]}, body)
    return Interaction(request, RecordedResponse(status, {"content-type": [answer_type]}, answer), **kw)


def findings(contracts: Contracts, op_id: str, interaction: Interaction) -> set[tuple[str, str, str]]:
    op: Contract = contracts.get(op_id)
    found: list[Finding] = check_interaction(interaction, op, {})
    return {(f.kind, f.where, f.path) for f in found}


def test_form_fields_are_read_as_the_types_the_schema_declares(contracts: Contracts) -> None:
    good = item("POST", "/v1/form", b"n=-3&t=0.5&flag=TRUE&s=7", ctype="application/x-www-form-urlencoded")
    assert findings(contracts, "form_op", good) == set()
    bad = item("POST", "/v1/form", b"n=x&t=fast&flag=maybe", ctype="application/x-www-form-urlencoded")
    assert findings(contracts, "form_op", bad) == {
        ("type change", "request body", "n"),
        ("type change", "request body", "t"),
        ("type change", "request body", "flag"),
    }


def test_query_strings_are_read_as_the_types_the_schema_declares(contracts: Contracts) -> None:
    assert findings(contracts, "query_op", item("GET", "/v1/query?n=2&t=1e3&flag=false&s=1")) == set()
    assert findings(contracts, "query_op", item("GET", "/v1/query?n=2.5")) == {("type change", "query", "n")}


def multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += b"--B\r\nContent-Disposition: " + disposition.encode() + b"\r\n\r\n" + data + b"\r\n"
    return out + b"--B--\r\n"


def test_multipart_uploads_are_checked_field_by_field(contracts: Contracts) -> None:
    ctype = "multipart/form-data; boundary=B"
    good = multipart(("file", "a.wav", b"RIFF...."), ("t", None, b"0.2"))
    assert findings(contracts, "upload_op", item("POST", "/v1/upload", good, ctype=ctype)) == set()
    # a field sent three times is a list; a missing file is a missing required field
    repeated = multipart(("n", None, b"1"), ("n", None, b"2"), ("n", None, b"3"))
    assert findings(contracts, "upload_op", item("POST", "/v1/upload", repeated, ctype=ctype)) == {
        ("missing required field", "request body", "file"),
        ("type change", "request body", "n"),
    }
    # without a boundary the body cannot be read: nothing is claimed about it
    assert findings(contracts, "upload_op", item("POST", "/v1/upload", good, ctype="multipart/form-data")) == set()


def test_bodies_that_are_not_json_are_schema_violations(contracts: Contracts) -> None:
    assert findings(contracts, "json_op", item("POST", "/v1/json", b"{nope")) == {
        ("schema violation", "request body", "")
    }
    assert findings(contracts, "json_op", item("POST", "/v1/json", b"{}", answer=b"<html>")) == {
        ("schema violation", "response 200", "")
    }
    # an empty answer, or one that is not JSON by its content type, is not read
    assert findings(contracts, "json_op", item("POST", "/v1/json", b"{}", answer=b"  ")) == set()
    assert (
        findings(contracts, "json_op", item("POST", "/v1/json", b"{}", answer=b"<html>", answer_type="text/html"))
        == set()
    )


def test_callback_bodies(contracts: Contracts) -> None:
    ok = item("POST", "http://hook/cb", b'{"id": "t1"}', kind="callback", callback_of=0)
    assert findings(contracts, "json_op", ok) == set()
    missing = item("POST", "http://hook/cb", b"{}", kind="callback", callback_of=0)
    assert findings(contracts, "json_op", missing) == {("missing required field", "callback", "id")}
    garbled = item("POST", "http://hook/cb", b"id=t1", kind="callback", callback_of=0)
    assert findings(contracts, "json_op", garbled) == {("schema violation", "callback", "")}
    # a contract without a callback schema has nothing to say about its callbacks
    assert findings(contracts, "form_op", garbled) == set()


def test_ndjson_streams_are_checked_line_by_line(contracts: Contracts) -> None:
    lines = b'{"n": 1}\n{"n": "2"}\nnot json\n'
    stream = item("POST", "/v1/lines", b"{}", answer=lines, answer_type="application/x-ndjson")
    assert findings(contracts, "lines_op", stream) == {
        ("type change", "event message", "n"),
        ("type change", "event message", ""),
    }


def test_callbacks_without_their_submit_and_operations_named_in_the_cassette(
    tmp_path: Path, contracts: Contracts
) -> None:
    items = [
        item("POST", "/v1/json", b"{}"),
        item("POST", "http://hook/cb", b'{"id": "t1"}', kind="callback", callback_of=7),
        item("POST", "http://hook/cb", b'{"id": "t1"}', kind="callback"),
        # a path no contract has, but the cassette names its operation
        item("POST", "/v1/renamed", b"{nope", operation="json_op"),
        item("POST", "/v1/other", b"{}", operation="no_such_op"),
    ]
    save_cassette(tmp_path / "c.yaml", Cassette(items))
    report = verify_paths([tmp_path], contracts=contracts)
    assert report.interactions == 5
    assert report.uncovered == {"POST /cb (callback)": 2, "POST /v1/other": 1}
    assert report.operations["json_op"].interactions == 2
    (drift,) = report.drift
    assert (drift.operation, drift.kind, drift.where) == ("json_op", "schema violation", "request body")
    assert drift.source == f"{tmp_path / 'c.yaml'}#3"
