"""The hot-path token helpers agree with `content.text` (the reference count) on any text."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.content import text
from mockserver.families.openai.common import count_tokens, cut_tokens, fast_reply, token_pieces


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_count_and_pieces_match_the_reference(sample: str) -> None:
    assert count_tokens(sample) == text.count_tokens(sample)
    pieces = token_pieces(sample)
    # A whitespace-only text is one piece that counts for nothing.
    assert "".join(pieces) == sample
    assert len([p for p in pieces if not p.isspace()]) == text.count_tokens(sample)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=0, max_value=40))
def test_cut_keeps_exactly_the_budget(sample: str, budget: int) -> None:
    cut, was_cut = cut_tokens(sample, budget)
    assert sample.startswith(cut)
    assert was_cut == (text.count_tokens(sample) > budget)
    assert text.count_tokens(cut) == min(budget, text.count_tokens(sample))


def test_fast_reply_reports_its_own_token_count() -> None:
    rng = random.Random(5)
    for prompt in ("", "Tell me about octopus intelligence", "北京今天天气怎么样"):
        for _ in range(50):
            reply, tokens = fast_reply(rng, prompt)
            assert tokens == text.count_tokens(reply) and reply
