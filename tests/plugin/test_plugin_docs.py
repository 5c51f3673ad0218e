"""The examples in docs/plugin.md and the README run as written (each test-bearing block is a user's test file)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "plugin.md"
README = ROOT / "README.md"
GATEWAY = ROOT / "docs" / "gateway.md"
# Blocks that call the reader's own code, or the real service, are shown but not run.
PLACEHOLDERS = ("parse_completion", "build_request", "MY_FAKE_COMPLETION", "classify_error", "my_validator", "sk-...")


def runnable_blocks(doc: Path) -> list[tuple[str, str]]:
    text = doc.read_text(encoding="utf-8")
    blocks = []
    for m in re.finditer(r"```python\n(.*?)```", text, re.S):
        code = m.group(1)
        if "def test_" in code and not any(p in code for p in PLACEHOLDERS):
            blocks.append((f"{doc.name}:{text[: m.start()].count(chr(10)) + 1}", code))
    return blocks


BLOCKS = runnable_blocks(DOC)
ALL_BLOCKS = BLOCKS + runnable_blocks(README) + runnable_blocks(GATEWAY)


def test_the_doc_has_an_example_per_fixture() -> None:
    code = "\n".join(block for _, block in BLOCKS)
    for fixture in ("mockserver", "mockserver_respx", "mockserver_app", "callback_receiver"):
        assert f"({fixture}" in code or f", {fixture})" in code, fixture
    assert "mockserver_contracts" in DOC.read_text(encoding="utf-8")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(("line", "code"), ALL_BLOCKS, ids=[where for where, _ in ALL_BLOCKS])
def test_doc_example_passes(pytester: pytest.Pytester, line: str, code: str) -> None:
    pytester.makepyfile(test_example=code)
    result = pytester.runpytest("-p", "no:randomly", "-W", "ignore::DeprecationWarning")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1 and not outcomes.get("failed") and not outcomes.get("errors"), (
        f"{line}:\n{result.stdout.str()[-3000:]}"
    )
