"""Finding the JSON shape a conversation names: schemas (fenced, inline, pydantic's `$defs`/`$ref`),
key lists and example objects; and the cheap gates that keep plain requests out of the search."""

from __future__ import annotations

import json
import random

import jsonschema
import pytest
from pydantic import BaseModel

from mockserver.content import tool_use
from mockserver.content.implied_schema import (
    MAX_CANDIDATES,
    implied_schema,
    is_schema,
    key_list,
    schema_of_example,
    wants_fence,
    wants_json,
)


class Pet(BaseModel):
    name: str
    species: str


class Owner(BaseModel):
    name: str
    age: int
    pets: list[Pet]


OWNER = Owner.model_json_schema()


def test_pydantic_schema_in_a_system_prompt_as_instructor_writes_it() -> None:
    system = (
        "As a genius expert, your task is to understand the content and provide\nthe parsed objects in json that "
        f"match the following json_schema:\n\n{json.dumps(OWNER, indent=2)}\n\nMake sure to return an instance of "
        "the JSON, not the schema itself"
    )
    schema = implied_schema([system, "Ann is 40 and has a cat named Tom."])
    assert schema == OWNER
    assert "$defs" in schema and schema["properties"]["pets"]["items"] == {"$ref": "#/$defs/Pet"}
    value = tool_use.structured(schema, random.Random(1), "Ann is 40 and has a cat named Tom.")
    jsonschema.validate(value, OWNER)
    assert value["age"] == 40 and value["name"] == "Ann"


def test_the_fenced_schema_wins_over_an_inline_example_schema() -> None:
    # LangChain's PydanticOutputParser instructions: an example schema inline, the real one fenced.
    text = (
        'As an example, for the schema {"properties": {"foo": {"type": "array", "items": {"type": "string"}}}, '
        '"required": ["foo"]}\nthe object {"foo": ["bar", "baz"]} is a well-formatted instance.\n\n'
        "Here is the output schema:\n```\n" + json.dumps(OWNER) + "\n```"
    )
    assert implied_schema([text]) == OWNER


def test_inline_schema_after_words() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    assert implied_schema([f"Return JSON matching this schema: {json.dumps(schema)}. Thanks"]) == schema


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("respond with keys name, age", ["name", "age"]),
        ("Return JSON with the fields `title`, `year` and `director`.", ["title", "year", "director"]),
        ("Use the keys: 'setup' & 'punchline'", ["setup", "punchline"]),
        ("a JSON object with properties city and country, in lower case", ["city", "country"]),
        ("the key is to be brief", []),
    ],
)
def test_key_lists(text: str, keys: list[str]) -> None:
    assert key_list(text) == keys


def test_key_list_types_follow_the_names() -> None:
    schema = implied_schema(["Answer in JSON with keys name, age, price, is_open, tags"])
    assert schema is not None
    kinds = {k: v["type"] for k, v in schema["properties"].items()}
    assert kinds == {"name": "string", "age": "integer", "price": "number", "is_open": "boolean", "tags": "array"}
    assert schema["required"] == ["name", "age", "price", "is_open", "tags"]


def test_an_example_object_gives_the_shape() -> None:
    schema = implied_schema(['Reply in JSON like {"city": "", "population": 0, "tags": ["x"], "meta": {"ok": true}}'])
    assert schema == schema_of_example({"city": "", "population": 0, "tags": ["x"], "meta": {"ok": True}})
    value = tool_use.structured(schema, random.Random(3), "Tell me about Lyon")
    assert set(value) == {"city", "population", "tags", "meta"} and isinstance(value["meta"]["ok"], bool)


def test_nothing_named_means_none() -> None:
    assert implied_schema(["Give me some JSON about cats."]) is None
    assert implied_schema([]) is None


def test_is_schema_tells_instances_apart() -> None:
    assert is_schema({"type": "object", "properties": {"a": {"type": "string"}}})
    assert is_schema({"$ref": "#/$defs/A", "$defs": {"A": {"type": "object"}}})
    assert not is_schema({"name": "Ann", "age": 3})
    assert not is_schema({"properties": {"foo": ["bar"]}})  # LangChain's "not well-formatted" example


def test_the_scan_is_bounded() -> None:
    noise = "{not json} " * (MAX_CANDIDATES * 4)
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    # Past the candidate budget the schema is not looked at: bounded work, a generic answer instead.
    assert implied_schema([noise + json.dumps(schema)]) is None
    assert implied_schema([json.dumps(schema) + noise]) == schema


def test_gates() -> None:
    assert wants_json("Return JSON") and wants_json("json please") and not wants_json("hello there")
    assert wants_fence(["Return the correct JSON response within a ```json codeblock"])
    assert not wants_fence(["Return JSON"])
