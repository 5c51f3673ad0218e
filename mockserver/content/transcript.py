"""Deterministic transcripts: what a speech-to-text model "heard", with segment and word timings.

The text is either the words the emulator's own speech endpoint stored in a file, or spoken-style
sentences chosen by a seed (the upload's hash) and sized to the audio's length (about 2.5 words a
second). Timings spread the audio's duration over the words by length; `srt` and `vtt` render them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from importlib import resources

from mockserver.content.seeded import seeded_rng
from mockserver.content.text import count_tokens

WORDS_PER_SECOND = 2.5

# The words spoken transcripts are made of, and the languages Whisper names (mockserver/data/transcript.json).
_WORDS = json.loads(resources.files("mockserver").joinpath("data/transcript.json").read_text(encoding="utf-8"))
_OPENERS: tuple[str, ...] = tuple(_WORDS["openers"])
_SUBJECTS: tuple[str, ...] = tuple(_WORDS["subjects"])
_VERBS: tuple[str, ...] = tuple(_WORDS["verbs"])
_COMPLEMENTS: tuple[str, ...] = tuple(_WORDS["complements"])
_TAILS: tuple[str, ...] = tuple(_WORDS["tails"])
LANGUAGES: dict[str, str] = dict(_WORDS["languages"])


@dataclasses.dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float


@dataclasses.dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    tokens: list[int]


@dataclasses.dataclass(frozen=True)
class Transcript:
    """A transcript's text, its duration and its timings."""

    text: str
    duration: float
    segments: list[Segment]
    words: list[Word]


def seed_of(data: bytes) -> random.Random:
    """An RNG seeded by a file's bytes: the same upload always gets the same transcript."""
    return seeded_rng(data)


def _sentence(rng: random.Random) -> str:
    opener = rng.choice(_OPENERS)
    body = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_COMPLEMENTS)}{rng.choice(_TAILS)}"
    return f"{opener}, {body}."


def spoken_text(rng: random.Random, seconds: float) -> str:
    """Spoken-style sentences with about as many words as `seconds` of speech hold (at least one sentence)."""
    target = max(1, round(seconds * WORDS_PER_SECOND))
    sentences: list[str] = []
    words = 0
    while words < target or not sentences:
        sentence = _sentence(rng)
        sentences.append(sentence)
        words += len(sentence.split())
    return " ".join(sentences)


_SENTENCE = re.compile(r"[^.!?]+[.!?]*\s*")


def _token_ids(text: str) -> list[int]:
    ids: list[int] = []
    for piece in re.findall(r"\s*\S+", text):
        digest = hashlib.blake2b(piece.encode(), digest_size=4).digest()
        ids.extend(50257 + int.from_bytes(digest, "big") % 1000 + i for i in range(count_tokens(piece) or 1))
    return ids


def transcribe(text: str, duration: float) -> Transcript:
    """Spread `duration` over the words of `text` (by length) and group them into sentence segments."""
    pieces = text.split()
    weights = [len(p) + 2 for p in pieces]
    total = sum(weights) or 1
    words: list[Word] = []
    clock = 0.0
    for piece, weight in zip(pieces, weights, strict=True):
        length = duration * weight / total
        words.append(Word(piece.strip(".,!?;:\"'"), round(clock, 2), round(clock + length, 2)))
        clock += length
    segments: list[Segment] = []
    index = 0
    for match in _SENTENCE.finditer(text):
        sentence = match.group().strip()
        count = len(sentence.split())
        if not count:
            continue
        chunk = words[index : index + count]
        index += count
        if not chunk:
            break
        segments.append(Segment(len(segments), chunk[0].start, chunk[-1].end, " " + sentence, _token_ids(sentence)))
    return Transcript(text, round(duration, 3), segments, words)


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(transcript: Transcript) -> str:
    """SubRip subtitles, one cue per segment."""
    cues = [
        f"{seg.id + 1}\n{_clock(seg.start, ',')} --> {_clock(seg.end, ',')}\n{seg.text.strip()}\n"
        for seg in transcript.segments
    ]
    return "\n".join(cues) + ("\n" if cues else "")


def to_vtt(transcript: Transcript) -> str:
    """WebVTT subtitles, one cue per segment."""
    cues = [f"{_clock(seg.start, '.')} --> {_clock(seg.end, '.')}\n{seg.text.strip()}\n" for seg in transcript.segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def language_name(code: str | None) -> str:
    """The lower-case language name verbose_json reports (`english` for `en` or when unknown)."""
    if not code:
        return "english"
    return LANGUAGES.get(code.lower(), code.lower())
