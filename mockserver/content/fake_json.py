"""Deterministic JSON instances from a JSON Schema: tool-call arguments, structured outputs, fixtures.

Covers what users put in tool `parameters` and `response_format` schemas: types (and type lists),
properties/required, additionalProperties, enum/const, anyOf/oneOf/allOf, items/prefixItems,
min/max bounds, string formats, nullable types and local `$ref`s into `$defs`/`definitions`.
The result is checked against the schema by the tests; when a schema is too exotic to satisfy
(`not`, unsatisfiable `pattern`s) the value is the best effort and callers may validate.
"""

from __future__ import annotations

import random
import string
from typing import Any

_WORDS = (
    "alpha",
    "bravo",
    "delta",
    "harbor",
    "meadow",
    "summit",
    "river",
    "cedar",
    "orbit",
    "lumen",
    "quartz",
    "willow",
)
_FORMATS = {
    "date-time": "2025-01-15T10:30:00Z",
    "date": "2025-01-15",
    "time": "10:30:00",
    "email": "user@example.com",
    "uri": "https://example.com/resource",
    "url": "https://example.com/resource",
    "uuid": "3f1c2a9e-8b7d-4c6e-9a5f-1b2c3d4e5f60",
    "hostname": "example.com",
    "ipv4": "192.0.2.10",
    "ipv6": "2001:db8::10",
}
_MAX_DEPTH = 8


def generate(schema: Any, rng: random.Random, *, root: Any = None, name: str = "", depth: int = 0) -> Any:
    """A value valid for `schema` (deterministic for a given RNG state)."""
    root = schema if root is None else root
    if schema is True or schema is None or schema == {}:
        return _word(rng, name)
    if schema is False or not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        target = _resolve(root, schema["$ref"])
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        merged = {**target, **rest} if isinstance(target, dict) else rest
        return generate(merged, rng, root=root, name=name, depth=depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(schema["enum"])
    if "allOf" in schema:
        merged = _merge_all(schema, root)
        return generate(merged, rng, root=root, name=name, depth=depth + 1)
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [o for o in schema[key] if not (isinstance(o, dict) and o.get("type") == "null")]
            choice = options[0] if options else schema[key][0]
            base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            merged = {**base, **choice} if isinstance(choice, dict) else choice
            return generate(merged, rng, root=root, name=name, depth=depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        kind = non_null[0] if non_null else "null"
    if kind is None:
        kind = _guess_kind(schema)
    if depth > _MAX_DEPTH and kind in ("object", "array"):
        return {} if kind == "object" else []
    maker = _MAKERS.get(kind, _make_string)
    return maker(schema, rng, root, name, depth)


def _guess_kind(schema: dict[str, Any]) -> str:
    if "properties" in schema or "additionalProperties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if "minimum" in schema or "maximum" in schema:
        return "number"
    return "string"


def _resolve(root: Any, ref: str) -> Any:
    if not ref.startswith("#"):
        return {}
    node = root
    for part in ref.lstrip("#/").split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return {}
    return node


def _merge_all(schema: dict[str, Any], root: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        if isinstance(part, dict) and "$ref" in part:
            part = _resolve(root, part["$ref"])
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            if key == "properties":
                merged.setdefault("properties", {}).update(value)
            elif key == "required":
                merged["required"] = sorted(set(merged.get("required", [])) | set(value))
            else:
                merged.setdefault(key, value)
    return merged


def _word(rng: random.Random, name: str) -> str:
    low = name.lower()
    if "email" in low:
        return "user@example.com"
    if low in ("city", "location", "place"):
        return rng.choice(("Boston, MA", "Paris", "Hanoi", "Tokyo", "Berlin"))
    if low.endswith("_id") or low == "id":
        return f"{low[:3] or 'id'}_{rng.randint(10000, 99999)}"
    if "name" in low:
        return rng.choice(("Alice", "Bao", "Carmen", "Dmitri", "Esi"))
    if "date" in low:
        return "2025-01-15"
    if "url" in low:
        return "https://example.com/resource"
    return f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}"


def _make_string(schema: dict[str, Any], rng: random.Random, root: Any, name: str, depth: int) -> str:
    fmt = schema.get("format")
    value = _FORMATS.get(fmt) if isinstance(fmt, str) else None
    if value is None:
        value = _word(rng, name)
    lo = int(schema.get("minLength", 0))
    hi = schema.get("maxLength")
    if len(value) < lo:
        value = value + "".join(rng.choices(string.ascii_lowercase, k=lo - len(value)))
    if hi is not None and len(value) > int(hi):
        value = value[: int(hi)]
    return value


def _bounds(schema: dict[str, Any], integer: bool) -> tuple[float, float]:
    lo = schema.get("minimum", 0 if "maximum" not in schema else schema["maximum"] - 100)
    hi = schema.get("maximum", lo + 100)
    if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], (int, float)):
        lo = schema["exclusiveMinimum"] + (1 if integer else 1e-6)
    if "exclusiveMaximum" in schema and isinstance(schema["exclusiveMaximum"], (int, float)):
        hi = schema["exclusiveMaximum"] - (1 if integer else 1e-6)
    return float(lo), float(max(lo, hi))


def _make_integer(schema: dict[str, Any], rng: random.Random, root: Any, name: str, depth: int) -> int:
    lo, hi = _bounds(schema, True)
    value = rng.randint(int(-(-lo // 1)), int(hi // 1)) if hi >= lo else int(lo)
    step = schema.get("multipleOf")
    if isinstance(step, int) and step > 0:
        value = (value // step) * step
        if value < lo:
            value += step
    return value


def _make_number(schema: dict[str, Any], rng: random.Random, root: Any, name: str, depth: int) -> float:
    lo, hi = _bounds(schema, False)
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0:
        return float(_make_integer({"minimum": lo / step, "maximum": hi / step}, rng, root, name, depth) * step)
    return round(lo + (hi - lo) * rng.random(), 2) if hi > lo else lo


def _make_boolean(schema: dict[str, Any], rng: random.Random, root: Any, name: str, depth: int) -> bool:
    return rng.random() < 0.5


def _make_null(schema: dict[str, Any], rng: random.Random, root: Any, name: str, depth: int) -> None:
    return None


def _make_array(schema: dict[str, Any], rng: random.Random, root: Any, name: str, depth: int) -> list[Any]:
    prefix = schema.get("prefixItems") or []
    lo = int(schema.get("minItems", 1 if not prefix else len(prefix)))
    hi = int(schema.get("maxItems", max(lo, 3)))
    items_schema = schema.get("items", {})
    if items_schema is False:  # a closed tuple: nothing may follow the prefix items
        hi = min(hi, len(prefix))
    count = rng.randint(lo, max(lo, min(hi, lo + 2)))
    out = [generate(s, rng, root=root, name=name, depth=depth + 1) for s in prefix[:count]]
    unique = schema.get("uniqueItems", False)
    attempts = 0
    while len(out) < count and attempts < count * 5:
        attempts += 1
        value = generate(items_schema, rng, root=root, name=name, depth=depth + 1)
        if unique and value in out:
            continue
        out.append(value)
    return out


def _make_object(schema: dict[str, Any], rng: random.Random, root: Any, name: str, depth: int) -> dict[str, Any]:
    props: dict[str, Any] = schema.get("properties") or {}
    required = list(schema.get("required") or [])
    out: dict[str, Any] = {}
    for key in props:
        # Every required property, and optional ones when the schema is small (reads like real output).
        if key in required or len(props) <= 6:
            out[key] = generate(props[key], rng, root=root, name=key, depth=depth + 1)
    extra = schema.get("additionalProperties")
    for key in required:
        if key not in out:
            sub = extra if isinstance(extra, dict) else {}
            out[key] = generate(sub, rng, root=root, name=key, depth=depth + 1)
    lo = int(schema.get("minProperties", 0))
    n = 0
    while len(out) < lo and extra is not False:
        n += 1
        sub = extra if isinstance(extra, dict) else {}
        out[f"key_{n}"] = generate(sub, rng, root=root, name="key", depth=depth + 1)
    return out


_MAKERS = {
    "string": _make_string,
    "integer": _make_integer,
    "number": _make_number,
    "boolean": _make_boolean,
    "null": _make_null,
    "array": _make_array,
    "object": _make_object,
}
