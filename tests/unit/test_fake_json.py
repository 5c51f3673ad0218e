"""JSON instances generated from the schemas users put in tool parameters and structured outputs are valid."""

from __future__ import annotations

import random
from typing import Any

import jsonschema
import pytest

from mockserver.content.fake_json import generate

SCHEMAS: dict[str, dict[str, Any]] = {
    "ref_into_defs": {
        "$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}},
        "type": "object",
        "properties": {"at": {"$ref": "#/$defs/point"}, "path": {"type": "array", "items": {"$ref": "#/$defs/point"}}},
        "required": ["at", "path"],
    },
    "ref_with_siblings_and_escapes": {
        "definitions": {"a/b": {"type": "string", "minLength": 3}},
        "$ref": "#/definitions/a~1b",
        "maxLength": 5,
    },
    "all_of_with_refs": {
        "$defs": {"named": {"properties": {"name": {"type": "string"}}, "required": ["name"]}},
        "allOf": [
            {"$ref": "#/$defs/named"},
            {"properties": {"age": {"type": "integer", "minimum": 18, "maximum": 99}}, "required": ["age"]},
            {"type": "object"},
        ],
    },
    "any_of_skips_null": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 5, "maximum": 5}]},
    "one_of_only_null": {"oneOf": [{"type": "null"}]},
    "type_list": {"type": ["null", "boolean"]},
    "only_null": {"type": ["null"]},
    "enum_and_const": {
        "type": "object",
        "properties": {"unit": {"enum": ["c", "f"]}, "v": {"const": 2}},
        "required": ["unit", "v"],
    },
    "untyped_bounds_is_a_number": {"minimum": 10, "maximum": 20},
    "untyped_items_is_an_array": {"items": {"type": "boolean"}, "minItems": 2},
    "untyped_required_is_an_object": {"required": ["city", "user_id", "email", "full_name", "due_date", "url"]},
    "formats": {
        "type": "object",
        "properties": {f: {"type": "string", "format": f} for f in ("date-time", "email", "uuid", "ipv4", "uri")},
    },
    "string_lengths": {
        "type": "array",
        "prefixItems": [{"type": "string", "minLength": 40}, {"type": "string", "maxLength": 2}],
        "items": False,
    },
    "exclusive_integer_bounds": {"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 4},
    "exclusive_number_bounds": {"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 0.75},
    "maximum_only": {"type": "integer", "maximum": -500},
    "integer_multiple": {"type": "integer", "minimum": 7, "maximum": 40, "multipleOf": 6},
    "number_multiple": {"type": "number", "minimum": 1, "maximum": 2, "multipleOf": 0.25},
    "fixed_number": {"type": "number", "minimum": 3.5, "maximum": 3.5},
    "unique_items": {"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3, "uniqueItems": True},
    "required_from_additional": {
        "type": "object",
        "properties": {},
        "required": ["score"],
        "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "min_properties": {"type": "object", "minProperties": 3, "additionalProperties": {"type": "integer"}},
    "big_object_keeps_only_required": {
        "type": "object",
        "properties": {f"p{i}": {"type": "integer"} for i in range(8)},
        "required": ["p3"],
        "additionalProperties": False,
    },
    "described_only_is_a_string": {"type": "object", "properties": {"note": {"description": "free text"}}},
    "root_ref": {"type": "object", "properties": {"again": {"$ref": "#"}}},
    "anything": {"type": "object", "properties": {"free": {}, "yes": True}, "required": ["free", "yes"]},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_value_is_valid_for_its_schema(name: str) -> None:
    schema = SCHEMAS[name]
    for seed in range(25):
        value = generate(schema, random.Random(seed))
        jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())


def test_same_seed_same_value() -> None:
    schema = SCHEMAS["ref_into_defs"]
    assert generate(schema, random.Random(3)) == generate(schema, random.Random(3))


def test_names_shape_free_strings() -> None:
    value = generate(SCHEMAS["untyped_required_is_an_object"], random.Random(1))
    assert value["email"] == "user@example.com" and value["url"].startswith("https://")
    assert value["user_id"].startswith("use_") and value["due_date"] == "2025-01-15"
    assert value["city"] in ("Boston, MA", "Paris", "Hanoi", "Tokyo", "Berlin")
    assert value["full_name"] in ("Alice", "Bao", "Carmen", "Dmitri", "Esi")


def test_only_required_properties_of_a_big_object() -> None:
    assert list(generate(SCHEMAS["big_object_keeps_only_required"], random.Random(0))) == ["p3"]


def test_unresolvable_refs_and_false_give_best_effort() -> None:
    rng = random.Random(0)
    assert isinstance(generate({"$ref": "https://example.com/other.json"}, rng), str)
    assert isinstance(generate({"$ref": "#/$defs/missing"}, rng), str)
    assert generate(False, rng) is None and generate(["not", "a", "schema"], rng) is None
    assert isinstance(generate({"allOf": ["junk", {"$ref": "#/nowhere"}]}, rng), str)


def test_self_referencing_schemas_stop_nesting() -> None:
    tree = {
        "$defs": {
            "node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}
        },
        "$ref": "#/$defs/node",
    }
    value = generate(tree, random.Random(2))
    depth = 0
    while isinstance(value, dict) and value.get("kids"):
        value, depth = value["kids"][0], depth + 1
    assert 1 <= depth <= 8
    jsonschema.validate(generate(tree, random.Random(2)), tree)
