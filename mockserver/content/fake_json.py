"""Deterministic JSON instances from a JSON Schema: tool-call arguments, structured outputs, fixtures.

Covers what users put in tool `parameters` and `response_format` schemas: types (and type lists),
properties/required, additionalProperties, enum/const, anyOf/oneOf/allOf, items/prefixItems,
min/max bounds, string formats, nullable types and local `$ref`s into `$defs`/`definitions`.
The result is checked against the schema by the tests; when a schema is too exotic to satisfy
(`not`, unsatisfiable `pattern`s) the value is the best effort and callers may validate.

Schemas come from clients, so what one may cost is bounded: a keyword of the wrong kind (`maxItems:
"abc"`, `minimum: 1e999`), a bound past the limits below (`minLength: 50000000`) or a schema that
needs more than `MAX_VALUES` values or `MAX_CHARS` characters in all raises `SchemaError`, a 400
naming the keyword, before more than that is built.
"""

from __future__ import annotations

import contextvars
import math
import random
import string
from typing import Any

from mockserver.errors import ApiError

MAX_LENGTH = 10_000  # minLength
MAX_COUNT = 1_000  # minItems, minProperties
MAX_VALUES = 20_000  # values in one generated document
MAX_CHARS = 1_000_000  # characters of strings in one generated document
MAX_MAGNITUDE = 2.0**53  # numeric bounds (beyond this JSON numbers stop being exact)


class SchemaError(ApiError):
    """A client's schema the emulator cannot or will not generate from; names the keyword."""

    def __init__(self, keyword: str, message: str, where: str = "") -> None:
        place = f" (at {where!r})" if where else ""
        super().__init__(
            400, f"invalid JSON schema: {keyword}{place}: {message}", param=keyword, code="invalid_json_schema"
        )
        self.keyword = keyword


class _Budget:
    """What one `generate` call has built so far."""

    __slots__ = ("chars", "values")

    def __init__(self) -> None:
        self.values = 0
        self.chars = 0


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("fake_json_budget", default=None)


def _count(schema: dict[str, Any], keyword: str, default: int, limit: int | None, name: str) -> int:
    """A non-negative integer keyword (minLength, maxItems, ...), checked; `limit` bounds minimums."""
    value = schema.get(keyword, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchemaError(keyword, f"must be a non-negative integer, got {value!r}", name)
    if limit is not None and value > limit:
        raise SchemaError(keyword, f"{value} is more than the emulator generates (at most {limit})", name)
    return value


def _number(schema: dict[str, Any], keyword: str, name: str) -> float | None:
    value = schema.get(keyword)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(keyword, f"must be a number, got {value!r}", name)
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise SchemaError(keyword, f"{value!r} is outside ±2**53, where the emulator generates numbers", name)
    return float(value)


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
    """A value valid for `schema` (deterministic for a given RNG state); `SchemaError` past the limits."""
    budget = _BUDGET.get()
    if budget is None:  # the outermost call: a fresh budget for this document
        token = _BUDGET.set(_Budget())
        try:
            return generate(schema, rng, root=root, name=name, depth=depth)
        finally:
            _BUDGET.reset(token)
    budget.values += 1
    if budget.values > MAX_VALUES:
        raise SchemaError("schema", f"needs more than {MAX_VALUES} values", name)
    if depth > 4 * _MAX_DEPTH:  # $ref and allOf chains that never reach a type
        raise SchemaError("$ref", "nests deeper than the emulator follows", name)
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
        if not isinstance(schema["enum"], list):
            raise SchemaError("enum", "must be an array", name)
        return rng.choice(schema["enum"])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema and not isinstance(schema[key], list):
            raise SchemaError(key, "must be an array of schemas", name)
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
    lo = _count(schema, "minLength", 0, MAX_LENGTH, name)
    hi = _count(schema, "maxLength", 0, None, name) if "maxLength" in schema else None
    if len(value) < lo:
        value = value + "".join(rng.choices(string.ascii_lowercase, k=lo - len(value)))
    if hi is not None and len(value) > hi:
        value = value[:hi]
    budget = _BUDGET.get()
    if budget is not None:
        budget.chars += len(value)
        if budget.chars > MAX_CHARS:
            raise SchemaError("minLength", f"the document needs more than {MAX_CHARS} characters", name)
    return value


def _bounds(schema: dict[str, Any], integer: bool) -> tuple[float, float]:
    minimum, maximum = _number(schema, "minimum", ""), _number(schema, "maximum", "")
    lo = minimum if minimum is not None else 0.0 if maximum is None else maximum - 100
    hi = maximum if maximum is not None else lo + 100
    above, below = _number(schema, "exclusiveMinimum", ""), _number(schema, "exclusiveMaximum", "")
    if above is not None:
        lo = above + (1 if integer else 1e-6)
    if below is not None:
        hi = below - (1 if integer else 1e-6)
    _number(schema, "multipleOf", "")
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
    if not isinstance(prefix, list):
        raise SchemaError("prefixItems", "must be an array of schemas", name)
    lo = _count(schema, "minItems", 1 if not prefix else len(prefix), MAX_COUNT, name)
    hi = _count(schema, "maxItems", max(lo, 3), None, name)
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
    props: dict[str, Any] = schema.get("properties", {})
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise SchemaError("properties", "must be an object of schemas", name)
    required = schema.get("required") or []
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise SchemaError("required", "must be an array of property names", name)
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
    lo = _count(schema, "minProperties", 0, MAX_COUNT, name)
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
