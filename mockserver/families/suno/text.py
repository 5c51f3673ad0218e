"""Song titles, style tags and lyrics for the Suno emulation: deterministic, built from the prompt's words."""

from __future__ import annotations

import random
import re

_WORD = re.compile(r"[A-Za-z\u00C0-\u024F\u4e00-\u9fff]{3,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "about",
        "that",
        "this",
        "from",
        "into",
        "over",
        "under",
        "song",
        "songs",
        "music",
        "make",
        "write",
        "some",
        "very",
        "just",
        "your",
        "their",
        "them",
        "they",
        "have",
        "will",
        "would",
        "could",
        "should",
        "like",
        "love",
    ]
)
_FALLBACK = ("night", "city", "light", "summer", "river", "heart", "road", "dream")
_GENRES = ("pop", "rock", "synthwave", "lo-fi", "indie folk", "dance pop", "r&b", "acoustic", "edm", "jazz")
_MOODS = ("upbeat", "dreamy", "melancholic", "energetic", "heartfelt", "chill", "anthemic", "nostalgic")
_VERBS = ("dancing", "running", "shining", "falling", "waiting", "singing", "drifting", "burning")
_PLACES = (
    "under neon skies",
    "down the empty street",
    "across the silver sea",
    "in the morning rain",
    "beneath the city lights",
    "on the edge of time",
    "through the summer haze",
    "where the rivers meet",
)


def theme_words(text: str) -> list[str]:
    """The prompt's content words (lower case, in order, without repeats); a fallback set when none."""
    seen: list[str] = []
    for word in _WORD.findall(text or ""):
        low = word.lower()
        if low not in _STOP and low not in seen:
            seen.append(low)
    return seen or list(_FALLBACK)


def title_for(text: str, rng: random.Random) -> str:
    words = theme_words(text)
    picked = words[:2] if len(words) >= 2 else [words[0], rng.choice(_FALLBACK)]
    return " ".join(w.capitalize() for w in picked)


def tags_for(text: str, rng: random.Random) -> str:
    """Style tags: any genre the description names, else a seeded one, plus a mood."""
    low = (text or "").lower()
    genre = next((g for g in _GENRES if g in low), None) or rng.choice(_GENRES)
    return f"{rng.choice(_MOODS)} {genre}"


def lyrics_for(text: str, rng: random.Random) -> str:
    """Two verses and a chorus with [Verse]/[Chorus] tags, using the prompt's words."""
    words = theme_words(text)

    def line() -> str:
        subject = rng.choice(words)
        return f"{subject.capitalize()} {rng.choice(_VERBS)} {rng.choice(_PLACES)}"

    hook = f"Oh {rng.choice(words)}, {rng.choice(_VERBS)} {rng.choice(_PLACES)}"
    parts = [
        "[Verse]",
        *(line() for _ in range(4)),
        "",
        "[Chorus]",
        hook,
        line(),
        hook,
        line(),
        "",
        "[Verse 2]",
        *(line() for _ in range(4)),
        "",
        "[Chorus]",
        hook,
        line(),
    ]
    return "\n".join(parts)
