"""The one token counter (`mockserver.content.text`): its count, pieces and truncation, and that no family
keeps a counter of its own."""

from __future__ import annotations

import ast
import random
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import mockserver
from mockserver.content.text import count_tokens, token_pieces, truncate_tokens
from mockserver.families.openai.common import fast_reply

# The rule the counter implements, written the plain way: a run of word characters costs one token
# per four characters begun, any other non-space character one token.
_RULE = re.compile(r"\w+|[^\w\s]")


def expected_tokens(text: str) -> int:
    return sum(1 + (len(run) - 1) // 4 for run in _RULE.findall(text))


ASCII = st.text(alphabet=st.characters(max_codepoint=127))
# Long words, long runs of spaces and punctuation: the cases a fast ASCII count or a prefix scan gets wrong.
WORDY = st.lists(
    st.sampled_from(["a", "word", "lengthier", "x" * 23, " ", "   ", "\n", "\t", ",", "?!", "é", "北京", "\x1f", "_"]),
    max_size=120,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), ASCII, WORDY))
def test_count_follows_the_rule(sample: str) -> None:
    assert count_tokens(sample) == expected_tokens(sample)
    assert count_tokens(sample) == count_tokens(sample)  # the remembered count is the same


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), ASCII, WORDY))
def test_pieces_join_back_and_count(sample: str) -> None:
    pieces = token_pieces(sample)
    assert "".join(pieces) == sample
    # A whitespace-only text is one piece that counts for nothing.
    assert len([p for p in pieces if not p.isspace()]) == count_tokens(sample)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), ASCII, WORDY), st.integers(min_value=-2, max_value=150))
def test_truncate_keeps_exactly_the_budget(sample: str, budget: int) -> None:
    cut, was_cut = truncate_tokens(sample, budget)
    total = count_tokens(sample)
    assert sample.startswith(cut)
    assert was_cut == (total > max(0, budget))
    assert count_tokens(cut) == min(max(0, budget), total)
    if not was_cut:
        assert cut == sample


def test_truncate_of_a_long_text_cuts_mid_word_at_the_budget() -> None:
    sample = "tokenisation " * 500
    cut, was_cut = truncate_tokens(sample, 7)
    assert was_cut and cut == "tokenisation tokenisation toke"
    assert truncate_tokens("  ", 0) == ("  ", False)
    assert truncate_tokens("Hello there", 0) == ("", True)


def test_fast_reply_reports_its_own_token_count() -> None:
    rng = random.Random(5)
    for prompt in ("", "Tell me about octopus intelligence", "北京今天天气怎么样"):
        for _ in range(50):
            reply, tokens = fast_reply(rng, prompt)
            assert tokens == count_tokens(reply) and reply


def test_no_module_but_content_text_defines_a_token_counter() -> None:
    package = Path(mockserver.__file__).parent
    names = {"count_tokens", "truncate_tokens", "cut_tokens", "token_pieces"}
    defined = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            # (Gemini's `countTokens` endpoint handler is an async function of that name: not a counter.)
            if isinstance(node, ast.FunctionDef) and node.name in names:
                defined.append(f"{path.relative_to(package)}:{node.name}")
    assert sorted(defined) == [
        "content/text.py:count_tokens",
        "content/text.py:token_pieces",
        "content/text.py:truncate_tokens",
    ]
