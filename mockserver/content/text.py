"""Deterministic text: replies that read like a model's, a token counter, and stream chunking.

Token counts are an approximation of BPE tokenisers (words and punctuation, long words split every
four characters); what matters is that they are consistent: the same text always counts the same,
and usage blocks add up.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
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
    """Approximate token count of `text` (0 for empty text)."""
    total = 0
    for tok in _TOKEN.findall(text):
        total += 1 + (len(tok) - 1) // 4 if len(tok) > 4 else 1
    return total


def keywords(text: str, limit: int = 3) -> list[str]:
    """Distinctive words of a prompt, in order of first appearance."""
    seen: list[str] = []
    for word in _WORD.findall(text):
        low = word.lower()
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


def truncate_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """Cut `text` to at most `max_tokens` tokens; return (text, whether it was cut)."""
    if max_tokens <= 0:
        return "", bool(text)
    if count_tokens(text) <= max_tokens:
        return text, False
    used = 0
    end = 0
    for m in _TOKEN.finditer(text):
        tok = m.group()
        cost = 1 + (len(tok) - 1) // 4 if len(tok) > 4 else 1
        if used + cost > max_tokens:
            break
        used += cost
        end = m.end()
    return text[:end], True


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
