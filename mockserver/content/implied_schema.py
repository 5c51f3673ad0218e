"""Find the JSON shape a caller asked for in the words of its conversation.

JSON mode without a schema field (`json_object`, Gemini's `application/json` without a schema, an
Anthropic `{` prefill, a prompt that asks for a ```json block) still has a shape in mind, written in
the messages: a JSON Schema (instructor and LangChain put the pydantic model's schema, `$defs` and
`$ref`s included, in the system prompt), a list of keys ("respond with keys name, age") or an example
object. `implied_schema` finds it, in that order of preference, and returns it as a JSON Schema.

Only requests that ask for JSON pay for the search; the scan is bounded (text length, candidates).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

# Bounds on the work one request can cause: characters scanned per text, objects decoded per text.
MAX_SCAN = 200_000
MAX_CANDIDATES = 32
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n?(.*?)```", re.DOTALL)
_KEY_LIST = re.compile(
    r"\b(?:keys?|fields?|properties|attributes)\b[ \t]*(?:named|called|like|such as|of)?[ \t]*[:\-]?[ \t]*"
    r"([^.;\n!?()]+)",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"\s*(?:,|\band\b|&|\bor\b|/)\s*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,39}")
_CODEBLOCK = re.compile(r"```|code ?block|markdown", re.IGNORECASE)
_DECODER = json.JSONDecoder()
_SCHEMA_KEYS = frozenset({"$defs", "definitions", "$schema", "anyOf", "oneOf", "allOf"})
_JSON_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
# Key names whose values are rarely strings (used for key lists and examples without values).
_INTEGER_KEYS = frozenset(
    {"age", "count", "year", "years", "quantity", "rank", "rating", "score", "total", "number", "num", "size"}
)
_NUMBER_KEYS = frozenset(
    {
        "price",
        "cost",
        "amount",
        "temperature",
        "temp",
        "latitude",
        "lat",
        "longitude",
        "lon",
        "lng",
        "percent",
        "percentage",
        "ratio",
        "weight",
        "height",
        "distance",
        "confidence",
        "probability",
    }
)
_BOOLEAN_KEYS = frozenset({"valid", "success", "ok", "done", "enabled", "active", "completed", "correct"})
_BOOLEAN_PREFIXES = ("is_", "has_", "can_", "should_", "was_")
_ARRAY_KEYS = frozenset(
    {
        "tags",
        "keywords",
        "items",
        "steps",
        "ingredients",
        "examples",
        "reasons",
        "names",
        "ideas",
        "topics",
        "points",
        "list",
        "entities",
        "facts",
        "options",
        "suggestions",
    }
)


def wants_json(text: str) -> bool:
    """Whether `text` mentions JSON at all (the cheap gate before any search)."""
    return "json" in text or "JSON" in text or "Json" in text


def wants_fence(texts: Iterable[str]) -> bool:
    """Whether the caller asked for a fenced code block (instructor's MD_JSON, "in a markdown block")."""
    return any(_CODEBLOCK.search(t[:MAX_SCAN]) for t in texts)


def implied_schema(texts: Sequence[str]) -> dict[str, Any] | None:
    """The JSON Schema the conversation asks for, latest text first: a schema, else a key list, else an example."""
    objects = [_objects(text) for text in texts]
    for found in reversed(objects):
        schemas: list[dict[str, Any]] = [obj for obj, _ in found if is_schema(obj)]
        fenced = [obj for obj, in_fence in found if in_fence and is_schema(obj)]
        if fenced or schemas:
            return (fenced or schemas)[-1]
    for text in reversed(texts):
        keys = key_list(text)
        if keys:
            return schema_of_keys(keys)
    for found in reversed(objects):
        examples = [obj for obj, _ in found if isinstance(obj, dict) and obj]
        if examples:
            return schema_of_example(examples[-1])
    return None


def is_schema(obj: Any) -> bool:
    """Whether a decoded JSON value reads as a JSON Schema rather than an instance."""
    if not isinstance(obj, dict):
        return False
    props = obj.get("properties")
    if isinstance(props, dict) and props and all(isinstance(v, (dict, bool)) for v in props.values()):
        return True
    kind = obj.get("type")
    if isinstance(kind, str) and kind in ("object", "array") and ("properties" in obj or "items" in obj):
        return True
    if "$ref" in obj and isinstance(obj["$ref"], str) and obj["$ref"].startswith("#"):
        return True
    return bool(_SCHEMA_KEYS & obj.keys()) and (kind in _JSON_TYPES or "$ref" in obj or "properties" in obj)


def _objects(text: str) -> list[tuple[dict[str, Any], bool]]:
    """JSON objects written in `text`, each with whether it sat in a fenced block, in order."""
    text = text[:MAX_SCAN]
    if "{" not in text:
        return []
    out: list[tuple[dict[str, Any], bool]] = []
    fenced_spans: list[tuple[int, int]] = []
    for match in _FENCE.finditer(text):
        body = match.group(2).strip()
        fenced_spans.append(match.span())
        if body.startswith("{"):
            value = _decode(body, 0)
            if value is not None:
                out.append((value[0], True))
    tries = 0
    index = text.find("{")
    while index >= 0 and tries < MAX_CANDIDATES:
        if any(start <= index < end for start, end in fenced_spans):
            index = text.find("{", index + 1)
            continue
        tries += 1
        decoded = _decode(text, index)
        if decoded is None:
            index = text.find("{", index + 1)
            continue
        out.append((decoded[0], False))
        index = text.find("{", decoded[1])
    return out


def _decode(text: str, index: int) -> tuple[dict[str, Any], int] | None:
    try:
        value, end = _DECODER.raw_decode(text, index)
    except (ValueError, RecursionError):
        return None
    return (value, end) if isinstance(value, dict) else None


def key_list(text: str) -> list[str]:
    """Keys named in words: "respond with keys name, age", "the fields `title` and `year`"."""
    text = text[:MAX_SCAN]
    for match in _KEY_LIST.finditer(text):
        keys: list[str] = []
        for token in _SEPARATORS.split(match.group(1).strip()):
            token = token.strip().strip("`'\"*").strip()
            if not token:
                continue
            if not _IDENTIFIER.fullmatch(token):
                break
            if token.lower() not in ("the", "a", "an", "with", "json") and token not in keys:
                keys.append(token)
        if keys:
            return keys
    return []


def schema_of_keys(keys: Sequence[str]) -> dict[str, Any]:
    """An object schema with these keys, each typed by what its name suggests."""
    return {"type": "object", "properties": {k: _schema_for_name(k) for k in keys}, "required": list(keys)}


def _schema_for_name(key: str) -> dict[str, Any]:
    low = key.lower()
    last = re.split(r"[_\-]", low)[-1]
    if low.startswith(_BOOLEAN_PREFIXES) or low in _BOOLEAN_KEYS:
        return {"type": "boolean"}
    if low in _INTEGER_KEYS or last in _INTEGER_KEYS:
        return {"type": "integer"}
    if low in _NUMBER_KEYS or last in _NUMBER_KEYS:
        return {"type": "number"}
    if low in _ARRAY_KEYS or last in _ARRAY_KEYS or low.endswith("_list"):
        return {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3}
    return {"type": "string"}


def schema_of_example(example: Any, depth: int = 0) -> dict[str, Any]:
    """A schema every value shaped like `example` satisfies: same keys (all required), same types."""
    if depth > 8:
        return {}
    if isinstance(example, dict):
        props = {str(k): schema_of_example(v, depth + 1) for k, v in example.items()}
        return {"type": "object", "properties": props, "required": list(props)}
    if isinstance(example, list):
        items = schema_of_example(example[0], depth + 1) if example else {"type": "string"}
        return {"type": "array", "items": items, "minItems": 1 if example else 0}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int):
        return {"type": "integer"}
    if isinstance(example, float):
        return {"type": "number"}
    return {"type": "string"}
