"""Self-fuzzing: every operation in contracts/index.json, valid and invalid requests, against the strict emulator.

Zero 5xx answers, every answer valid for its contract, every invalid request refused with a 4xx in
the family's envelope. Depth: MOCKSERVER_FUZZ_EXAMPLES (default 8 cases per operation and mode).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from mockserver.contracts import load_contracts
from mockserver.fuzzing import fuzz_operation

INDEX = Path(__file__).resolve().parents[2] / "contracts" / "index.json"
# Cases per operation and mode, and the Hypothesis seed: MOCKSERVER_FUZZ_EXAMPLES=200 makes a deep pass.
FUZZ_EXAMPLES = int(os.environ.get("MOCKSERVER_FUZZ_EXAMPLES", "8"))
FUZZ_SEED = int(os.environ.get("MOCKSERVER_FUZZ_SEED", "0"))
OPERATIONS = [op["id"] for op in json.loads(INDEX.read_text(encoding="utf-8"))["operations"]]


@pytest.mark.parametrize("negative", [False, True], ids=["positive", "negative"])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_operation_survives_fuzzing(strict_emulator: Any, operation: str, negative: bool) -> None:
    contracts = load_contracts()
    assert strict_emulator.post("/__mock/reset").status_code == 200
    outcome = fuzz_operation(
        contracts.get(operation),
        strict_emulator,
        base_url="http://testserver",
        api_key="sk-fuzz",
        negative=negative,
        max_examples=FUZZ_EXAMPLES,
        seed=FUZZ_SEED,
        contracts=contracts,
    )
    assert outcome.failure is None, outcome.failure.report("<emulator>")
    assert sum(outcome.statuses.values()) > 0, f"no case could be generated for {operation}"
