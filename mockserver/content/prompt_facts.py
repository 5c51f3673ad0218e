"""What a user message holds that a field could take: quoted text, names, places, numbers, dates, emails, URLs.

Read once per request from the latest user message (`read_facts`), in the order the message says
them; `prompt_values` decides which field takes which.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from mockserver.content.text import keywords

# A prompt longer than this is read only up to here (a pasted document says little about arguments).
MAX_PROMPT = 20_000
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_QUOTED = re.compile(
    r"\"([^\"\n]{1,200})\"|“([^”\n]{1,200})”|(?<![A-Za-z])'([^'\n]{1,200})'(?![A-Za-z])|`([^`\n]{1,200})`"
)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_PATTERN = "|".join(m.capitalize() + "|" + m[:3].capitalize() for m in _MONTHS)
_WORD_DATE = re.compile(
    rf"\b(?:({_MONTH_PATTERN})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?"
    rf"|(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_PATTERN})\.?(?:,?\s+(\d{{4}}))?)\b"
)
_NUMBER = re.compile(r"(?<![\w.])([$€£]?)(-?\d+(?:[.,]\d+)?)\s*(%|°[CF]?|[A-Za-z]+)?")
_CAPITALISED = re.compile(
    r"\b[A-Z][\w'’\-]*(?:\s+(?:(?:of|de|da|del|la|le|van|von|upon|on)\s+)?[A-Z][\w'’\-]*)*",
)
_PLACE_BEFORE = frozenset(
    {"in", "at", "from", "to", "near", "around", "visit", "visiting", "for", "into", "across", "towards"}
)
_LIST_JOINERS = frozenset({",", "and", ", and", "or", ", or", "&", "/", "vs", "vs.", "versus"})
# Capitalised words that open sentences or questions, not names.
_NOT_NAME_WORDS = """
    a an and are as at be book but by call can could create did do does extract find for from get give hello
    help hey hi how i i'm i'd i'll if in is it it's let let's list look make me my no not now of on or our please
    remind return respond schedule search send set show so tell thanks thank the then there these this those to
    today tomorrow translate use was we what what's when where which who why will with would write yes yesterday
    you your json api id ok summarize summarise answer reply also just here next convert compare calculate check
    add update delete order buy play open translate describe explain generate classify parse analyze analyse
    identify determine provide recommend suggest plan draft compose rate rank review pick choose fill"""
_NOT_NAMES = (
    frozenset(_NOT_NAME_WORDS.split())
    | frozenset(_MONTHS)
    | frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
)


@dataclasses.dataclass(frozen=True)
class Number:
    """A number in the prompt, with the word after it (its unit) and the word before it."""

    index: int
    value: float
    unit: str
    before: str


@dataclasses.dataclass(frozen=True)
class Facts:
    """Candidate values from one message, each kind in the order the message says them."""

    text: str = ""
    quoted: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    numbers: tuple[Number, ...] = ()
    dates: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    topic: str = ""

    @property
    def empty(self) -> bool:
        return not self.text

    def mentioned(self, enum: Sequence[Any], default: Any) -> Any:
        """The enum value the message names first (as a whole word, any case), else `default`."""
        low = self.text.lower()
        best: tuple[int, Any] | None = None
        for option in enum:
            if not isinstance(option, str) or not option:
                continue
            match = re.search(rf"(?<![\w]){re.escape(option.lower())}(?![\w])", low)
            if match and (best is None or match.start() < best[0]):
                best = (match.start(), option)
        return best[1] if best is not None else default


def read_facts(prompt: str) -> Facts:
    """Everything `prompt` offers as a field value."""
    text = prompt[:MAX_PROMPT]
    if not text.strip():
        return Facts()
    emails = tuple(dict.fromkeys(_EMAIL.findall(text)))
    urls = tuple(dict.fromkeys(u.rstrip(".,;:!?") for u in _URL.findall(text)))
    plain = _URL.sub(" ", _EMAIL.sub(" ", text))
    quoted = tuple(dict.fromkeys(next(g for g in m.groups() if g).strip() for m in _QUOTED.finditer(plain)))
    names, places = _proper_nouns(plain)
    return Facts(
        text=text,
        quoted=tuple(q for q in quoted if q),
        names=names,
        places=places,
        numbers=_numbers(plain),
        dates=_dates(plain),
        emails=emails,
        urls=urls,
        topic=" ".join(keywords(plain, 5)),
    )


def _proper_nouns(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names: list[str] = []
    places: list[str] = []
    place_end = -1
    for match in _CAPITALISED.finditer(text):
        words = match.group(0).split()
        start = match.start()
        while words and _bare(words[0]) in _NOT_NAMES:
            start += len(words[0]) + 1
            words.pop(0)
        while words and _bare(words[-1]) in _NOT_NAMES:
            words.pop()
        if not words:
            continue
        phrase = re.sub(r"['’]s$", "", " ".join(words)).strip("'’-")
        if not phrase or "_" in phrase:
            continue  # identifiers (JSON_SCHEMA) are not names
        before = text[:start].split()
        previous = before[-1].lower().strip(",:;") if before else ""
        # "in Toronto and Dallas", "in Paris, France": a place listed right after a place is one too.
        listed = place_end >= 0 and text[place_end:start].strip().lower() in _LIST_JOINERS
        target = places if previous in _PLACE_BEFORE or listed else names
        if target is places:
            place_end = match.end()
        if phrase not in target:
            target.append(phrase)
    return tuple(names), tuple(places)


def _bare(word: str) -> str:
    return re.sub(r"['’]s$", "", word).strip(".,;:!?\"'’").lower()


def _numbers(text: str) -> tuple[Number, ...]:
    out: list[Number] = []
    dates = [m.span() for m in _ISO_DATE.finditer(text)] + [m.span() for m in _WORD_DATE.finditer(text)]
    for match in _NUMBER.finditer(text):
        currency, digits, unit = match.group(1), match.group(2), match.group(3) or ""
        if any(start <= match.start() < end for start, end in dates):
            continue
        # "1,500" is fifteen hundred; "2,5" is two and a half.
        thousands = "," in digits and len(digits.split(",")[1]) == 3
        value = float(digits.replace(",", "") if thousands else digits.replace(",", "."))
        before = text[: match.start()].split()
        previous = before[-1].lower().strip(",:;()") if before else ""
        out.append(Number(len(out), value, (currency or unit).lower(), previous))
    return tuple(out)


def _dates(text: str) -> tuple[str, ...]:
    found: list[tuple[int, str]] = [(m.start(), m.group(0)) for m in _ISO_DATE.finditer(text)]
    for m in _WORD_DATE.finditer(text):
        month_name = m.group(1) or m.group(5)
        day = int(m.group(2) or m.group(4))
        year = m.group(3) or m.group(6) or "2025"
        month = next(i for i, name in enumerate(_MONTHS, 1) if name.startswith(month_name.lower()[:3]))
        if 1 <= day <= 31:
            found.append((m.start(), f"{year}-{month:02d}-{day:02d}"))
    return tuple(dict.fromkeys(d for _, d in sorted(found)))
