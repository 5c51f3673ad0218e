"""Pieces the native-format families (Anthropic, Gemini, OpenAI Responses) share.

Each vendor wraps these in its own wire format: choosing which tool a prompt calls, tool arguments
from a stub, thinking text, web search results with citations, JSON for a structured-output schema.
Everything is drawn from the call's deterministic RNG.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mockserver.content import fake_json
from mockserver.content.text import keywords, sentence

_WORDS = re.compile(r"[a-z0-9]+")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_SITES = (
    ("en.wikipedia.org", "Wikipedia"),
    ("www.reuters.com", "Reuters"),
    ("www.bbc.com", "BBC News"),
    ("www.nature.com", "Nature"),
    ("developer.mozilla.org", "MDN Web Docs"),
    ("www.britannica.com", "Britannica"),
    ("arxiv.org", "arXiv"),
    ("www.theverge.com", "The Verge"),
)
_AGES = ("2 days ago", "1 week ago", "3 weeks ago", "April 2, 2025", None)


@dataclass(frozen=True)
class SearchHit:
    """One made-up web search result: where it is, its title and a sentence it says."""

    url: str
    title: str
    domain: str
    snippet: str
    page_age: str | None


def words_of(text: str) -> set[str]:
    return set(_WORDS.findall(text.lower()))


def pick_tool(tools: Sequence[Mapping[str, Any]], prompt: str, *, name_key: str = "name") -> Mapping[str, Any]:
    """The tool whose name and description share most words with the prompt (the first one on a tie)."""
    wanted = words_of(prompt)
    best, best_score = tools[0], -1
    for tool in tools:
        name = str(tool.get(name_key) or "")
        text = name.replace("_", " ").replace("-", " ") + " " + str(tool.get("description") or "")
        score = len(wanted & words_of(text))
        if score > best_score:
            best, best_score = tool, score
    return best


def stub_arguments(raw: Any) -> dict[str, Any]:
    """A stub's tool-call `arguments` (an object or a JSON-encoded object) as a dict."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str) and raw.strip():
        try:
            value = json.loads(raw)
        except ValueError:
            return {"input": raw}
        return value if isinstance(value, dict) else {"value": value}
    return {}


def arguments_for(schema: Any, rng: random.Random) -> dict[str, Any]:
    """Tool arguments valid for a JSON schema (an object even when the schema is empty)."""
    if not isinstance(schema, Mapping) or not schema:
        return {}
    value = fake_json.generate(dict(schema), rng)
    return value if isinstance(value, dict) else {"value": value}


def thinking_text(rng: random.Random, prompt: str) -> str:
    """A short chain of thought that reads like a model planning its answer."""
    words = keywords(prompt, 3)
    topic = ", ".join(words) if words else "the request"
    steps = [
        f"The user is asking about {topic}.",
        "Let me work out what matters most here.",
        sentence(rng),
        "I will answer clearly and briefly.",
    ]
    return " ".join(steps)


def signature(rng: random.Random, size: int = 96) -> str:
    """An opaque base64 signature (thinking blocks, thought signatures)."""
    return base64.b64encode(rng.randbytes(size)).decode("ascii")


def without_urls(text: str) -> str:
    """`text` with its links removed (their words make poor topics)."""
    return _URL.sub("", text)


def search_query(prompt: str) -> str:
    """What a model would type into a search engine for `prompt`."""
    words = keywords(without_urls(prompt), 5)
    if words:
        return " ".join(words)
    return prompt.strip()[:80] or "latest news"


def web_hits(
    rng: random.Random,
    query: str,
    count: int = 3,
    *,
    allowed: Iterable[str] = (),
    blocked: Iterable[str] = (),
) -> list[SearchHit]:
    """Search results for `query` from plausible sites (only `allowed` domains when given, never `blocked`)."""
    allowed_list = [d.strip().lower() for d in allowed if d and d.strip()]
    blocked_set = {d.strip().lower() for d in blocked if d}
    if allowed_list:
        sites = [(d, d.split(".")[-2].capitalize() if "." in d else d) for d in allowed_list]
    else:
        sites = [s for s in _SITES if s[0] not in blocked_set] or list(_SITES)
    slug = "-".join(query.lower().split()[:4]) or "result"
    slug = re.sub(r"[^a-z0-9-]", "", slug) or "result"
    hits: list[SearchHit] = []
    for i in range(count):
        domain, name = sites[(rng.randrange(len(sites)) + i) % len(sites)]
        url = f"https://{domain}/{slug}-{rng.randint(100, 999)}"
        title = f"{query.title()} - {name}" if query else name
        hits.append(SearchHit(url, title[:120], domain, sentence(rng), rng.choice(_AGES)))
    return hits


def urls_in(text: str, limit: int = 20) -> list[str]:
    """The http(s) URLs mentioned in `text`, in order, without duplicates (at most `limit`)."""
    out: list[str] = []
    for url in _URL.findall(text):
        url = url.rstrip(".,;:!?")
        if url not in out:
            out.append(url)
        if len(out) >= limit:
            break
    return out


def url_host(url: str) -> str | None:
    """The host of `url`, or None when it has none or is malformed (e.g. `http://[`)."""
    try:
        return urlsplit(url).hostname or None
    except ValueError:
        return None


def unreachable(url: str) -> bool:
    """URLs the emulator pretends it cannot fetch: malformed ones and hosts under the reserved `.invalid` TLD."""
    host = (url_host(url) or "invalid").lower()
    return host == "invalid" or host.endswith(".invalid")


def json_text(value: Any) -> str:
    """Compact JSON as models emit it for structured output."""
    return json.dumps(value, ensure_ascii=False)


def first_sequence(text: str, sequences: Iterable[str]) -> tuple[str, str | None]:
    """Cut `text` before the earliest stop sequence it contains: (text, the sequence or None)."""
    best: tuple[int, str] | None = None
    for seq in sequences:
        if not seq:
            continue
        at = text.find(seq)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, seq)
    if best is None:
        return text, None
    return text[: best[0]], best[1]


def chunks(text: str, size: int) -> list[str]:
    """`text` in pieces of at most `size` characters (one empty piece for empty text)."""
    if not text:
        return [""]
    return [text[i : i + size] for i in range(0, len(text), size)]
