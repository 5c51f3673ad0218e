"""Fields an instance has that its schema does not declare, found by walking the schema's `properties`.

Most contract schemas allow additional properties (the real API adds fields over time), so the
validator stays silent about them; drift detection needs to see them anyway. `anyOf`/`oneOf` use the
branches the instance satisfies, `allOf` merges, `$ref`s are resolved against the bundled `$defs`.
An object schema without `properties` is free-form and never reports unknown fields.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs


class SchemaWalker:
    """Finds undeclared fields under one bundled schema (one with its `$defs` attached)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.defs: dict[str, Any] = root.get("$defs", {}) if isinstance(root, dict) else {}
        self._validators: dict[int, Any] = {}  # id(sub-schema) → validator, or None when it does not compile

    def unknown_fields(self, instance: Any, prefix: str = "") -> list[str]:
        out: list[str] = []
        self._walk(self.root, instance, prefix, out, 0)
        return list(dict.fromkeys(out))

    def _resolve(self, schema: Any) -> Any:
        for _ in range(32):
            if not isinstance(schema, dict) or "$ref" not in schema:
                return schema
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            target = self.defs.get(name)
            if target is None:
                return {}
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest} if rest else target
        return schema

    def _valid(self, schema: Any, instance: Any) -> bool:
        key = id(schema)
        if key not in self._validators:
            body = schema if isinstance(schema, dict) else {}
            try:
                self._validators[key] = jsonschema_rs.Draft202012Validator({**body, "$defs": self.defs})
            except Exception:  # a sub-schema that does not compile alone fits nothing
                self._validators[key] = None
        validator = self._validators[key]
        return validator is not None and bool(validator.is_valid(instance))

    def _branches(self, schema: dict[str, Any], instance: Any) -> list[Any]:
        """The schema itself plus the sub-schemas that also describe `instance`."""
        out = [schema]
        for sub in schema.get("allOf", []):
            out.extend(self._branches(self._resolve(sub), instance))
        for key in ("anyOf", "oneOf"):
            options = [self._resolve(s) for s in schema.get(key, [])]
            if options:
                fitting = [s for s in options if self._valid(s, instance)] or options
                for sub in fitting:
                    out.extend(self._branches(sub, instance))
        for key in ("then", "else"):
            if isinstance(schema.get(key), dict):
                out.extend(self._branches(self._resolve(schema[key]), instance))
        return [b for b in out if isinstance(b, dict)]

    def _walk(self, schema: Any, instance: Any, at: str, out: list[str], depth: int) -> None:
        schema = self._resolve(schema)
        if not isinstance(schema, dict) or depth > 64:
            return
        branches = self._branches(schema, instance)
        if isinstance(instance, dict):
            self._walk_object(branches, instance, at, out, depth)
        elif isinstance(instance, list):
            for branch in branches:
                items = branch.get("items")
                prefix_items = branch.get("prefixItems") or []
                for i, item in enumerate(instance):
                    sub = prefix_items[i] if i < len(prefix_items) else items
                    if isinstance(sub, dict):
                        self._walk(sub, item, f"{at}[{i}]", out, depth + 1)

    def _walk_object(
        self, branches: list[dict[str, Any]], instance: dict[str, Any], at: str, out: list[str], depth: int
    ) -> None:
        props: dict[str, list[Any]] = {}
        patterns: list[tuple[str, Any]] = []
        extra: list[Any] = []
        for branch in branches:
            for name, sub in (branch.get("properties") or {}).items():
                props.setdefault(name, []).append(sub)
            patterns.extend((branch.get("patternProperties") or {}).items())
            if isinstance(branch.get("additionalProperties"), dict):
                extra.append(branch["additionalProperties"])
        closed = bool(props) and not patterns and not extra
        for key, value in instance.items():
            where = f"{at}.{key}" if at else key
            subs = props.get(key) or [s for p, s in patterns if re.search(p, key)] or extra
            if not subs:
                if closed:
                    out.append(where)
                continue
            for sub in subs:
                if isinstance(sub, dict):
                    self._walk(sub, value, where, out, depth + 1)
