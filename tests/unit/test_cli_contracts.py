"""`mockserver contracts` in-process: usage errors exit 2 with a message, the OpenAPI document goes to stdout."""

from __future__ import annotations

import json

import pytest

from mockserver.cli import main


def test_show_without_an_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "show"]) == 2
    assert "an operation id is required" in capsys.readouterr().err


def test_show_names_an_unknown_operation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "show", "chat_completion"]) == 2
    assert "chat_completion" in capsys.readouterr().err


def test_openapi_without_output_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "openapi"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["openapi"] == "3.1.0" and "/v1/chat/completions" in doc["paths"]


def test_list_prints_one_line_per_operation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "list"]) == 0
    out, err = capsys.readouterr()
    count = int(err.split()[0])
    assert len(out.splitlines()) == count and any(line.startswith("models_list ") for line in out.splitlines())
