"""Every contract is a valid schema set, its examples conform, and index, files and routes agree."""

from __future__ import annotations

import json

import pytest

from mockserver.app import create_app
from mockserver.contracts import CONFIDENCE_LEVELS, Contracts, example_pairs, load_contracts
from mockserver.settings import Settings

CONTRACTS = load_contracts()


def test_contracts_load_and_compile() -> None:
    assert len(CONTRACTS) > 0
    for contract in CONTRACTS:
        assert contract.confidence in CONFIDENCE_LEVELS
        assert contract.raw["provenance"].get("sources"), f"{contract.id}: provenance.sources is empty"
        assert contract.docs_entries is not None
        assert "4XX" in contract.raw["responses"] or any(s.startswith("4") for s in contract.raw["responses"]), (
            f"{contract.id}: no 4xx error envelope documented"
        )


def test_index_is_up_to_date() -> None:
    on_disk = json.loads((CONTRACTS.root / "index.json").read_text(encoding="utf-8"))
    assert on_disk == Contracts().index(), "contracts/index.json is stale: run `mockserver contracts index`"


def test_every_route_has_a_contract_and_every_contract_a_route() -> None:
    app = create_app(Settings(), contracts=CONTRACTS)
    served: dict[str, str] = app.state.served
    routed_ops = set(served.values())
    for contract in CONTRACTS:
        assert f"{contract.method} {contract.path}" in served, (
            f"{contract.id}: no route serves {contract.method} {contract.path}"
        )
        for method, path in contract.aliases:
            assert f"{method} {path}" in served, f"{contract.id}: alias {method} {path} has no route"
    assert routed_ops <= set(CONTRACTS.by_id)


def test_docs_entries_are_unique() -> None:
    seen: dict[str, str] = {}
    for contract in CONTRACTS:
        for entry in contract.docs_entries:
            assert entry not in seen, f"docs entry {entry} is attached to {seen[entry]} and {contract.id}"
            seen[entry] = contract.id


@pytest.mark.parametrize("contract", list(CONTRACTS), ids=lambda c: c.id)
def test_examples_conform(contract) -> None:  # type: ignore[no-untyped-def]
    for name, kind, body in example_pairs(contract):
        if kind == "request":
            if contract.request_content_type == "application/json":
                issues = contract.validate_body(body)
            else:
                continue
        else:
            issues = contract.validate_response(kind.split(":", 1)[1], body)
        assert not issues, f"{contract.id} example {name} ({kind}): {issues}"


def test_openapi_loads_in_schemathesis() -> None:
    schemathesis = pytest.importorskip("schemathesis")
    doc = CONTRACTS.openapi()
    assert doc["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_dict(doc)
    operations = [op for op in schema.get_all_operations()]
    assert len(operations) >= len(CONTRACTS)
    for result in operations:
        result.ok()
