"""The "sdk" shape of a response schema: the contract narrowed to what the documented examples show.

Contracts are deliberately loose (they accept what gateways really send), looser than the official SDKs'
models: `model` may be missing from a chat completion, `service_tier` may be any string, an embedding
may be a base64 string. Bodies generated from them make a typed SDK refuse to parse. The sdk shape keeps
the contract's types but, wherever the docs examples have a value: every property an example shows is
required, properties no example shows are left out, and only the `oneOf`/`anyOf` branches an example
takes remain. Parts no example reaches keep the contract's schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MAX_DEPTH = 16
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def sdk_schema(schema: dict[str, Any], components: Mapping[str, Any], examples: list[Any]) -> dict[str, Any]:
    """`schema` narrowed by `examples` (see the module docstring); refs resolve under `components`."""
    return _shape(schema, examples, components.get("schemas", {}), 0) if examples else schema


def _resolve(node: Any, schemas: Mapping[str, Any]) -> Any:
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 8:
        target = schemas.get(node["$ref"].rsplit("/", 1)[-1])
        if not isinstance(target, dict):
            return node
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node


def _fits(node: Any, value: Any, schemas: Mapping[str, Any]) -> bool:
    """A loose check that `value` could be an instance of `node` (type, const and enum)."""
    node = _resolve(node, schemas)
    if not isinstance(node, dict):
        return True
    if "const" in node and node["const"] != value:
        return False
    if "enum" in node and value not in node["enum"]:
        return False
    kinds = node.get("type")
    if kinds is None:
        branches = node.get("oneOf") or node.get("anyOf")
        return any(_fits(b, value, schemas) for b in branches) if branches else True
    kinds = kinds if isinstance(kinds, list) else [kinds]
    ok = any(isinstance(value, _TYPES.get(k, (object,))) for k in kinds)
    return ok and not (isinstance(value, bool) and "boolean" not in kinds)


def _shape(node: Any, values: list[Any], schemas: Mapping[str, Any], depth: int) -> Any:
    if depth > _MAX_DEPTH or not values or not isinstance(node, dict):
        return node
    node = dict(_resolve(node, schemas))
    for key in ("oneOf", "anyOf"):
        branches = node.get(key)
        if isinstance(branches, list):
            taken = [b for b in branches if any(_fits(b, v, schemas) for v in values)]
            if taken:
                node[key] = [_shape(b, [v for v in values if _fits(b, v, schemas)], schemas, depth + 1) for b in taken]
    props = node.get("properties")
    objects = [v for v in values if isinstance(v, dict)]
    if isinstance(props, dict) and objects:
        shown = set().union(*(set(o) for o in objects)) & set(props)
        required = set(node.get("required", [])) | shown
        node["properties"] = {
            name: _shape(sub, [o[name] for o in objects if name in o], schemas, depth + 1)
            for name, sub in props.items()
            if name in required
        }
        node["required"] = sorted(required & set(node["properties"]))
        node["additionalProperties"] = False
    items = node.get("items")
    lists = [x for v in values if isinstance(v, list) for x in v]
    if isinstance(items, dict) and lists:
        node["items"] = _shape(items, lists, schemas, depth + 1)
    return node
