"""Deterministic text: replies that read like a model's, the token counter, and stream chunking.

Token counts are an approximation of BPE tokenisers (words and punctuation, long words split every
four characters); what matters is that they are consistent: the same text always counts the same,
and usage blocks add up. Every family counts, splits and truncates with the functions here
(`count_tokens`, `token_pieces`, `truncate_tokens`), so a usage block always agrees with the text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

# One token: optional leading whitespace, then up to four word characters or one other character; a
# run of whitespace with nothing after it is a piece that counts for nothing.
_TOKEN_PIECE = re.compile(r"\s*(?:\w{1,4}|[^\w\s])|\s+", re.UNICODE)
# The same pieces for ASCII text, with cheaper character tests (`\s` there misses \x1c-\x1f, which
# Unicode counts as whitespace).
_ASCII_PIECE = re.compile(r"[\s\x1c-\x1f]*(?:\w{1,4}|[^\w\s\x1c-\x1f])|[\s\x1c-\x1f]+", re.ASCII)
# Counts of short texts, remembered: system prompts and earlier turns come back in every request of a
# conversation, and counting them is most of the work of a usage block.
_COUNTS: dict[str, int] = {}
# For ASCII text, a faster count of the same tokens, in a few passes of C: each character becomes its
# class (word "a", space " ", other "."). Every "." is a token; a run of L word characters is
# ceil(L / 4) tokens, which is how many "aaaa" fit, left to right, in the run padded with "aaa".
_CLASSES = bytes(
    ord("a") if chr(i).isalnum() or chr(i) == "_" else ord(" ") if chr(i).isspace() else ord(".") for i in range(128)
) + bytes(128)
_COUNT_CACHE_SIZE = 8192
_COUNT_CACHE_TEXT = 2048
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")

_OPENERS = (
    "Sure.",
    "Certainly.",
    "Here is a short answer.",
    "Good question.",
    "Happy to help.",
    "Let me explain.",
)
_SUBJECTS = (
    "The main idea",
    "A practical approach",
    "The simplest option",
    "One useful detail",
    "The key point",
    "A common pattern",
    "The first step",
    "A reliable method",
)
_VERBS = (
    "is to",
    "helps you",
    "lets you",
    "makes it easy to",
    "is a good way to",
    "usually means you",
)
_OBJECTS = (
    "break the problem into smaller parts",
    "check each assumption before moving on",
    "keep the design simple and explicit",
    "measure before you optimise",
    "write a small test that shows the behaviour",
    "start from a working example",
    "handle errors close to where they happen",
    "document the decision and the reason for it",
    "compare the options against the same criteria",
    "review the result with fresh eyes",
)
_TAILS = ("", " in practice", " for this case", " as a first pass", " when in doubt", " step by step")
_STOP = frozenset(
    [
        "this",
        "that",
        "with",
        "from",
        "have",
        "what",
        "which",
        "when",
        "where",
        "your",
        "there",
        "their",
        "about",
        "would",
        "could",
        "should",
        "please",
        "tell",
        "explain",
        "write",
        "give",
        "make",
        "show",
        "using",
        "into",
        "than",
        "then",
        "them",
        "they",
        "were",
        "will",
    ]
)


def count_tokens(text: str) -> int:
    """Approximate token count of `text` (0 for empty or whitespace-only text)."""
    count = _COUNTS.get(text)
    if count is None:
        if text.isascii():
            classes = text.encode("ascii").translate(_CLASSES)
            padded = (classes + b" ").replace(b" ", b"aaa ").replace(b".", b"aaa ")
            count = classes.count(b".") + padded.count(b"aaaa")
        else:
            pieces = _TOKEN_PIECE.findall(text)
            count = len(pieces) - 1 if pieces and pieces[-1].isspace() else len(pieces)
        if len(text) <= _COUNT_CACHE_TEXT:
            if len(_COUNTS) >= _COUNT_CACHE_SIZE:
                _COUNTS.clear()
            _COUNTS[text] = count
    return count


def token_pieces(text: str) -> list[str]:
    """`text` cut into `count_tokens(text)` pieces that join back to `text` (logprobs, fine streaming).

    Trailing whitespace rides on the last token; a whitespace-only text is one piece."""
    pieces: list[str] = (_ASCII_PIECE if text.isascii() else _TOKEN_PIECE).findall(text)
    if len(pieces) > 1 and pieces[-1].isspace():
        tail = pieces.pop()
        pieces[-1] += tail
    return pieces


def truncate_tokens(text: str, budget: int) -> tuple[str, bool]:
    """The first `budget` tokens of `text` (a model stops mid-word too) and whether anything was cut.

    The result counts exactly `min(budget, count_tokens(text))` tokens.
    """
    budget = max(0, budget)
    piece = _ASCII_PIECE if text.isascii() else _TOKEN_PIECE
    # Tokens are found left to right, so a prefix that holds two more pieces than the budget settles
    # the cut without reading the rest of the text (generated replies need about 5 characters a
    # token); otherwise read it all.
    pieces = piece.findall(text, 0, 5 * budget + 32)
    if len(pieces) < budget + 2:
        pieces = piece.findall(text)
        tokens = len(pieces) - 1 if pieces and pieces[-1].isspace() else len(pieces)
        if tokens <= budget:
            return text, False
    return "".join(pieces[:budget]), True


def keywords(text: str, limit: int = 3) -> list[str]:
    """Distinctive words of a prompt, in order of first appearance (reads only as far as it needs)."""
    seen: list[str] = []
    for match in _WORD.finditer(text):
        low = match.group().lower()
        if low in _STOP or low in seen:
            continue
        seen.append(low)
        if len(seen) >= limit:
            break
    return seen


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}{rng.choice(_TAILS)}."


def reply(rng: random.Random, prompt: str = "", *, sentences: int | None = None) -> str:
    """A plausible assistant reply; mentions the prompt's keywords so answers differ by prompt."""
    n = sentences if sentences is not None else rng.randint(2, 4)
    parts = [rng.choice(_OPENERS)]
    words = keywords(prompt)
    if words:
        first = sentence(rng)
        parts.append(f"About {', '.join(words)}: {first[0].lower()}{first[1:]}")
        n -= 1
    parts.extend(sentence(rng) for _ in range(max(0, n)))
    return " ".join(parts)


def stream_pieces(text: str) -> list[str]:
    """Split text into the small pieces a streaming model emits (words with their leading space)."""
    pieces = re.findall(r"\s*\S+", text)
    return pieces or ([text] if text else [])


def banned_word(text: str, banned: Iterable[str]) -> str | None:
    """The first banned word or phrase found in `text` (case-insensitive, whole words)."""
    lowered = text.lower()
    for word in banned:
        word = word.strip().lower()
        if word and re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered):
            return word
    return None
