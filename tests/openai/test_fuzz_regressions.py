"""Requests the self-fuzzing pass once turned into 500s: each must now get a proper answer."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient


@pytest.mark.parametrize(
    ("path", "body"),
    [
        # JSON Schema counts 1.0 and integers past 64 bits (parsed as floats) as integers.
        ("/v1/completions", {"model": "0", "prompt": [18446744073709551616]}),
        ("/v1/completions", {"model": "0", "prompt": [[1.0, 2]]}),
        ("/v1/embeddings", {"input": [0.0], "model": "0"}),
        ("/v1/embeddings", {"input": [[0.0, 5]], "model": "0"}),
        (
            "/v1/responses",
            {"model": "0", "input": [{"role": "user", "content": ""}, {"type": "reasoning", "summary": [None]}]},
        ),
    ],
)
def test_fuzzer_findings_answer_without_a_server_error(client: TestClient, path: str, body: dict) -> None:  # type: ignore[type-arg]
    response = client.post(path, json=body)
    assert response.status_code < 500, response.text
