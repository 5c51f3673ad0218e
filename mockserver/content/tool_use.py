"""Tool use that follows the prompt: which tools a message calls for, arguments from it, and the
words a model says once a tool has answered (so an agent loop ends, as it does with the real API).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from mockserver.content import fake_json
from mockserver.content.prompt_facts import Facts, read_facts
from mockserver.content.prompt_values import field_words, fill_from_prompt

# Words in a tool's name that say nothing about what it is for.
_VERBS = frozenset(
    {"get", "set", "fetch", "list", "create", "make", "do", "run", "call", "tool", "function", "the", "a", "an", "to"}
    | {"by", "for", "of", "and", "or", "with", "from", "info", "data", "current", "query", "lookup", "find"}
)
_WORD = re.compile(r"[a-z0-9]+")
_RESULT_LIMIT = 240
# At most this many calls of one tool in one answer.
MAX_REPEATS = 4


def fitting_tools(names: Sequence[str], prompt: str) -> list[int]:
    """Indices of the tools whose names speak of something the prompt asks about, in declaration order.

    A tool fits when a telling word of its name (not `get`, `fetch`, `tool`...) is a word of the
    prompt, singular or plural: `get_weather` fits "What's the weather in Hanoi?".
    """
    said = set(_WORD.findall(prompt.lower()))
    said |= {w[:-1] for w in said if w.endswith("s")}
    out = []
    for i, name in enumerate(names):
        words = {w for w in field_words(name) if w not in _VERBS and len(w) > 2}
        words |= {w[:-1] for w in words if w.endswith("s")}
        if words & said:
            out.append(i)
    return out


def arguments(schema: Any, rng: random.Random, prompt: str | Facts, used: set[str] | None = None) -> dict[str, Any]:
    """Arguments valid for a tool's parameter schema, fields the prompt speaks to taken from it."""
    if not isinstance(schema, Mapping) or not schema:
        return {}
    schema = dict(schema)
    value = fill_from_prompt(fake_json.generate(schema, rng), schema, prompt, used)
    return value if isinstance(value, dict) else {"value": value}


def calls_for(schema: Any, rng: random.Random, prompt: str, *, repeat: bool = True) -> list[dict[str, Any]]:
    """Arguments for one call of a tool, or one call per place when the prompt names several
    ("weather in Toronto and Dallas" is two `get_weather` calls, as models make them in parallel)."""
    facts = read_facts(prompt)
    used: set[str] = set()
    out = [arguments(schema, rng, facts, used)]
    places = set(facts.places)
    while repeat and len(out) < MAX_REPEATS and used & places and places - used:
        before = set(used)
        again = arguments(schema, rng, facts, used)
        if not (used - before) & places:
            break
        out.append(again)
    return out


def structured(schema: Any, rng: random.Random, prompt: str) -> Any:
    """A structured-output instance of `schema`, fields the prompt speaks to taken from it."""
    return fill_from_prompt(fake_json.generate(schema, rng), schema, prompt)


def implied_instance(schema: dict[str, Any], rng: random.Random, prompt: str) -> Any | None:
    """An instance of a schema found in the conversation's words, or None when that text is no usable
    schema after all (`"minItems": "two"`): the caller then answers its generic JSON, never an error."""
    try:
        value = structured(schema, rng, prompt)
        orjson.dumps(value)  # encodable as the answer will be (no integers past 64 bits)
    except (
        fake_json.SchemaError,  # out of the emulator's bounds: a client schema field would be a 400; words are not
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
        RecursionError,
        OverflowError,
    ):
        return None
    return value


def result_reply(results: Sequence[tuple[str, Any]]) -> str:
    """What a model says after its tools answered: each result, read back in a sentence."""
    parts = []
    for name, result in results:
        summary = _summary(result)
        label = name.replace("_", " ") if name else "the tool"
        parts.append(f"The {label} result: {summary}." if summary else f"The {label} call returned nothing.")
    return " ".join(parts) if parts else "Done."


def _summary(result: Any) -> str:
    if isinstance(result, str):
        stripped = result.strip()
        if stripped[:1] in ("{", "["):
            try:
                return _summary(json.loads(stripped))
            except ValueError:
                pass
        return _clip(stripped.rstrip("."))
    if isinstance(result, Mapping):
        fields = [f"{key.replace('_', ' ')} {_scalar(value)}" for key, value in list(result.items())[:6]]
        return _clip(", ".join(fields))
    if isinstance(result, list):
        return _clip(", ".join(_scalar(v) for v in result[:6]))
    return _clip(_scalar(result))


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _clip(text: str) -> str:
    return text if len(text) <= _RESULT_LIMIT else text[: _RESULT_LIMIT - 1].rstrip() + "…"
