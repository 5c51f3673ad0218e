"""Loading a contracts folder: every mistake in a contract file is refused naming the file and the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mockserver.contracts import ContractError, Contracts, load_contracts, write_index


def contract(op_id: str = "op", family: str = "openai", **extra: Any) -> dict[str, Any]:
    return {
        "id": op_id,
        "family": family,
        "method": "post",
        "path": f"/v1/{op_id}",
        "toc_title": f"test: {op_id}",
        "docs_entries": [],
        "provenance": {"confidence": "docs-page", "sources": ["test"]},
        "responses": {"200": {"content_type": "application/json", "body": {"$ref": "#/$defs/Answer"}}},
        "$defs": {"Answer": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}},
        **extra,
    }


def write(root: Path, rel: str, data: Any) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))


def without(key: str) -> dict[str, Any]:
    data = contract()
    del data[key]
    return data


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"openai/op.json": "{nope"}, "openai/op.json: cannot read contract"),
        ({"openai/op.json": [1, 2]}, "openai/op.json: a contract is a JSON object"),
        ({"openai/op.json": without("toc_title")}, "openai/op.json: missing top-level key 'toc_title'"),
        ({"gemini/op.json": contract()}, "gemini/op.json: family 'openai' must be the contract's folder ('gemini')"),
        (
            {"openai/a.json": contract("op"), "openai/b.json": contract("op")},
            "openai/b.json: duplicate operation id 'op' (also in openai/a.json)",
        ),
        (
            {"openai/op.json": contract(provenance={"confidence": "hearsay"})},
            "openai/op.json: provenance.confidence must be one of",
        ),
        (
            {"openai/op.json": contract(request={"body": {"$ref": "https://example.com/schema.json"}})},
            "openai/op.json: unsupported $ref 'https://example.com/schema.json'",
        ),
        (
            {"openai/op.json": contract(request={"body": {"$ref": "_common/shared.json#/$defs/Gone"}})},
            "reference to missing definition shared.Gone",
        ),
        (
            {"_common/shared.json": {"$defs": {"A": {"$ref": "_common/shared.json#/$defs/B"}}}},
            "common definition shared.A refers to missing shared.B",
        ),
        (
            {"openai/op.json": contract(request={"body": {"type": "object", "minProperties": "two"}})},
            "openai/op.json: request.body is not a valid schema",
        ),
    ],
)
def test_a_broken_contract_folder_is_refused_naming_the_file(
    tmp_path: Path, files: dict[str, Any], message: str
) -> None:
    for rel, data in files.items():
        write(tmp_path, rel, data)
    with pytest.raises(ContractError) as refused:
        load_contracts(str(tmp_path))
    assert message in str(refused.value)


def test_a_good_folder_loads_validates_and_indexes(tmp_path: Path) -> None:
    write(tmp_path, "_common/shared.json", {"$defs": {"Flag": {"type": "boolean"}}})
    write(tmp_path, "openai/op.json", contract(request={"body": {"$ref": "_common/shared.json#/$defs/Flag"}}))
    write(tmp_path, "openai/notes.txt", "not a contract")
    contracts = load_contracts(str(tmp_path))
    op = contracts.get("op")
    assert op.method == "POST" and contracts.find("POST", "/v1/op") is op
    assert op.validate_body(True) == [] and op.validate_body("yes")
    assert op.validate_response(200, {"ok": True}) == [] and op.validate_response(200, {})
    assert [str(i) for i in op.validate_response(500, {})] == ["status 500 is not documented for op"]
    assert "has no callback schema" in str(op.validate_named("callback", {})[0])
    assert "unknown stream event type 'message'" in str(op.validate_event(None, {})[0])
    index = write_index(Contracts(tmp_path))
    assert index == tmp_path / "index.json"
    assert "op" in index.read_text()
