"""Values taken from the latest user message for the fields of a generated JSON instance.

Asked "What's the weather in Hanoi?" with a `get_weather(city)` tool, a model calls it with
`{"city": "Hanoi"}`. `fill_from_prompt` walks an instance `fake_json.generate` made, beside its
schema, and replaces a field's value with one read from the prompt when the field's name (or its
description) fits what the prompt holds: quoted text, capitalised names for city / location / name /
company fields, numbers (and their units) for numeric fields, dates, emails and URLs. Enums stay
within the enum (a value the prompt mentions wins); every replacement still satisfies the field's
schema (length, pattern, format, bounds), otherwise the generated value stays. Pure: the same
prompt and instance give the same result.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from mockserver.content.prompt_facts import Facts, read_facts

_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_EMAIL_WORDS = frozenset({"email", "mail", "e-mail"})
_URL_WORDS = frozenset({"url", "uri", "link", "website", "homepage", "href", "site"})
_DATE_WORDS = frozenset({"date", "day", "deadline", "birthday", "dob", "when", "checkin", "checkout"})
_PLACE_WORDS = frozenset(
    {
        "city",
        "location",
        "place",
        "country",
        "town",
        "destination",
        "origin",
        "address",
        "region",
        "area",
        "venue",
        "where",
        "airport",
        "state",
    }
)
_NAME_WORDS = frozenset(
    {
        "name",
        "company",
        "organization",
        "organisation",
        "org",
        "person",
        "author",
        "brand",
        "customer",
        "employee",
        "artist",
        "team",
        "who",
        "recipient",
        "sender",
        "owner",
        "user",
        "username",
        "contact",
        "manufacturer",
        "vendor",
        "director",
        "actor",
        "writer",
        "singer",
        "founder",
        "ceo",
        "manager",
        "creator",
        "host",
        "speaker",
        "player",
        "composer",
        "producer",
    }
)
_QUERY_WORDS = frozenset({"query", "q", "search", "question", "topic", "keyword", "keywords", "term", "terms"})
_TEXT_WORDS = frozenset(
    {"text", "message", "content", "title", "subject", "prompt", "body", "note", "comment", "phrase", "sentence"}
)
# Words next to a number that say what it measures, by the field words they fit.
_UNITS: dict[str, frozenset[str]] = {
    "age": frozenset({"years", "year", "old", "yo", "age", "aged"}),
    "price": frozenset({"$", "usd", "dollars", "dollar", "eur", "euros", "€", "£", "gbp", "price", "cost"}),
    "temperature": frozenset({"degrees", "°", "°c", "°f", "celsius", "fahrenheit"}),
    "days": frozenset({"days", "day", "nights", "night"}),
    "hours": frozenset({"hours", "hour", "h", "hrs"}),
    "minutes": frozenset({"minutes", "minute", "min", "mins"}),
    "people": frozenset(
        {"people", "persons", "guests", "adults", "travelers", "travellers", "passengers", "seats"}
        | {"residents", "inhabitants", "citizens", "users", "members", "employees", "staff", "students"}
    ),
}
_UNIT_FIELDS: dict[str, str] = {
    "age": "age",
    "price": "price",
    "cost": "price",
    "amount": "price",
    "budget": "price",
    "total": "price",
    "temperature": "temperature",
    "temp": "temperature",
    "days": "days",
    "duration": "days",
    "nights": "days",
    "hours": "hours",
    "minutes": "minutes",
    "guests": "people",
    "people": "people",
    "passengers": "people",
    "travelers": "people",
    "adults": "people",
    "party": "people",
    "population": "people",
    "employees": "people",
    "staff": "people",
    "members": "people",
    "users": "people",
    "headcount": "people",
}
_GENERIC_NUMBERS = frozenset(
    {
        "count",
        "number",
        "num",
        "n",
        "quantity",
        "qty",
        "value",
        "limit",
        "max",
        "results",
        "size",
        "amount",
        "k",
        "year",
        "rating",
        "score",
        "rank",
    }
)


@dataclasses.dataclass
class _Walk:
    facts: Facts
    root: Any
    used: set[str] = dataclasses.field(default_factory=set)


def fill_from_prompt(value: Any, schema: Any, prompt: str | Facts, used: set[str] | None = None) -> Any:
    """`value` (an instance of `schema`) with the fields the prompt speaks to set from the prompt.

    `used` collects the prompt values taken (numbers as `#<index>`); a value already in it is not
    taken again, so several fields (or several calls) get different ones.
    """
    facts = read_facts(prompt) if isinstance(prompt, str) else prompt
    if facts.empty:
        return value
    return _fill(value, schema, _Walk(facts, schema, set() if used is None else used), "", "", 0)


def field_words(name: str, description: str = "") -> set[str]:
    """The words of a field's name (snake_case or camelCase) and, after them, of its description."""
    spaced = _CAMEL.sub(" ", name)
    return {w for w in _SPLIT.split(spaced.lower()) if w} | (
        {w for w in _SPLIT.split(description.lower()) if w} if description else set()
    )


def _resolve(schema: Any, root: Any, depth: int = 0) -> Any:
    """Follow local `$ref`s and fold `allOf` parts in (shallowly), as fake_json does."""
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and depth < 16:
        depth += 1
        node = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) and part else node
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**node, **rest} if isinstance(node, dict) else rest
    if isinstance(schema, dict) and isinstance(schema.get("allOf"), list):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = _resolve(part, root, depth + 1)
            if isinstance(part, dict):
                for key, sub in part.items():
                    if key == "properties" and isinstance(sub, dict):
                        merged["properties"] = {**sub, **(merged.get("properties") or {})}
                    else:
                        merged.setdefault(key, sub)
        schema = merged
    return schema


def _fits_type(schema: Any, value: Any) -> bool:
    kind = schema.get("type") if isinstance(schema, dict) else None
    kinds = kind if isinstance(kind, list) else [kind]
    checks = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "null": value is None,
    }
    return any(k is None or checks.get(str(k), False) for k in kinds)


def _fill(value: Any, schema: Any, walk: _Walk, name: str, description: str, depth: int) -> Any:
    schema = _resolve(schema, walk.root)
    if not isinstance(schema, dict) or depth > 12:
        return value
    description = str(schema.get("description") or description)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list):
            for option in options:
                option = _resolve(option, walk.root)
                if _fits_type(option, value):
                    return _fill(value, option, walk, name, description, depth + 1)
            return value
    if isinstance(value, dict):
        props = schema.get("properties")
        if not isinstance(props, dict):
            return value
        for key in list(value):
            if key in props:
                value[key] = _fill(value[key], props[key], walk, key, "", depth + 1)
        return value
    if isinstance(value, list):
        return _fill_items(value, schema, walk, name, description, depth)
    if "const" in schema:
        return value
    if isinstance(schema.get("enum"), list):
        return walk.facts.mentioned(schema["enum"], value)
    if isinstance(value, str):
        return _string(value, schema, walk, name, description)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number(value, schema, walk, name, description)
    return value


def _fill_items(value: list[Any], schema: dict[str, Any], walk: _Walk, name: str, description: str, depth: int) -> Any:
    prefix = schema.get("prefixItems")
    prefix = prefix if isinstance(prefix, list) else []
    items = schema.get("items", {})
    single = _singular(name)
    out = [
        _fill(v, prefix[i] if i < len(prefix) else items, walk, single, description, depth + 1)
        for i, v in enumerate(value)
    ]
    if schema.get("uniqueItems"):
        seen: list[Any] = []
        for v in out:
            if v in seen:
                return value
            seen.append(v)
    return out


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def _string(value: str, schema: dict[str, Any], walk: _Walk, name: str, description: str) -> str:
    facts = walk.facts
    fmt = schema.get("format")
    for words in (field_words(name), field_words("", description)):
        if not words:
            continue
        candidates = _string_candidates(words, facts, fmt if isinstance(fmt, str) else None)
        for candidate in candidates:
            if candidate in walk.used or not _string_fits(candidate, schema):
                continue
            walk.used.add(candidate)
            return candidate
        if candidates:
            break
    return value


def _string_candidates(words: set[str], facts: Facts, fmt: str | None) -> list[str]:
    if fmt == "email" or words & _EMAIL_WORDS:
        return list(facts.emails)
    if fmt in ("uri", "url") or words & _URL_WORDS:
        return list(facts.urls)
    if fmt in ("date", "date-time") or words & _DATE_WORDS:
        dates = list(facts.dates)
        return [d + "T09:00:00Z" for d in dates] if fmt == "date-time" else dates
    if fmt:
        return []
    if words & _PLACE_WORDS:
        return [*facts.places, *facts.names]
    if words & _NAME_WORDS:
        return [*facts.quoted, *facts.names, *facts.places]
    if words & _QUERY_WORDS:
        return [*facts.quoted, facts.topic] if facts.topic else list(facts.quoted)
    if words & _TEXT_WORDS:
        return list(facts.quoted)
    return []


def _string_fits(candidate: str, schema: dict[str, Any]) -> bool:
    lo, hi = schema.get("minLength"), schema.get("maxLength")
    if isinstance(lo, int) and len(candidate) < lo:
        return False
    if isinstance(hi, int) and len(candidate) > hi:
        return False
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            return re.search(pattern, candidate) is not None
        except re.error:
            return False
    return True


def _number(value: float, schema: dict[str, Any], walk: _Walk, name: str, description: str) -> Any:
    words = field_words(name) | field_words("", description)
    units = {_UNIT_FIELDS[w] for w in words if w in _UNIT_FIELDS}
    generic = bool(words & _GENERIC_NUMBERS) or bool(units)
    integer = schema.get("type") == "integer" or (
        isinstance(schema.get("type"), list) and "integer" in schema["type"] and "number" not in schema["type"]
    )
    ranked = [n for n in walk.facts.numbers if units & _units_of(n.unit, n.before)]
    if generic:
        ranked += [n for n in walk.facts.numbers if n not in ranked]
    for number in ranked:
        key = f"#{number.index}"
        if key in walk.used:
            continue
        candidate: float = number.value
        if integer:
            if candidate != int(candidate):
                continue
            candidate = int(candidate)
        if not _number_fits(candidate, schema):
            continue
        walk.used.add(key)
        return candidate
    return value


def _units_of(unit: str, before: str) -> set[str]:
    return {kind for kind, words in _UNITS.items() if unit in words or before in words}


def _number_fits(candidate: float, schema: dict[str, Any]) -> bool:
    bounds = {k: schema.get(k) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")}
    numeric = {k: float(v) for k, v in bounds.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if candidate < numeric.get("minimum", candidate) or candidate > numeric.get("maximum", candidate):
        return False
    if "exclusiveMinimum" in numeric and candidate <= numeric["exclusiveMinimum"]:
        return False
    if "exclusiveMaximum" in numeric and candidate >= numeric["exclusiveMaximum"]:
        return False
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0:
        return abs(candidate / step - round(candidate / step)) < 1e-9
    return True
