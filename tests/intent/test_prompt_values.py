"""Field values taken from the latest user message: which field takes what, and never outside its schema."""

from __future__ import annotations

import random
from typing import Any

import jsonschema
import pytest

from mockserver.content import tool_use
from mockserver.content.prompt_facts import read_facts
from mockserver.content.prompt_values import fill_from_prompt


def _args(properties: dict[str, Any], prompt: str, seed: int = 0) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    value = tool_use.arguments(schema, random.Random(seed), prompt)
    jsonschema.validate(value, schema)
    return value


@pytest.mark.parametrize(
    ("properties", "prompt", "expected"),
    [
        ({"city": {"type": "string"}}, "What's the weather in Hanoi?", {"city": "Hanoi"}),
        ({"location": {"type": "string"}}, "Is it raining in New York City today?", {"location": "New York City"}),
        (
            {"name": {"type": "string"}, "age": {"type": "integer"}},
            "Jason is 25 years old",
            {"name": "Jason", "age": 25},
        ),
        (
            {"email": {"type": "string", "format": "email"}},
            "Invite bob@example.org please",
            {"email": "bob@example.org"},
        ),
        ({"url": {"type": "string"}}, "Summarize https://example.com/a.html.", {"url": "https://example.com/a.html"}),
        ({"date": {"type": "string", "format": "date"}}, "Book it for March 3rd, 2026", {"date": "2026-03-03"}),
        ({"when": {"type": "string"}}, "Remind me on 2026-07-14", {"when": "2026-07-14"}),
        ({"title": {"type": "string"}}, 'Create a note titled "Groceries"', {"title": "Groceries"}),
        ({"company": {"type": "string"}}, "How many people work at Acme Corp?", {"company": "Acme Corp"}),
        ({"price": {"type": "number"}}, "Set the price to $19.99", {"price": 19.99}),
        (
            {"guests": {"type": "integer"}, "nights": {"type": "integer"}},
            "2 nights for 3 guests",
            {"guests": 3, "nights": 2},
        ),
        (
            {"unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "Weather in Oslo in Fahrenheit",
            {"unit": "fahrenheit"},
        ),
    ],
)
def test_fields_take_what_the_prompt_says(properties: dict[str, Any], prompt: str, expected: dict[str, Any]) -> None:
    assert {k: v for k, v in _args(properties, prompt).items() if k in expected} == expected


def test_values_outside_the_schema_are_not_taken() -> None:
    value = _args({"age": {"type": "integer", "minimum": 0, "maximum": 20}}, "Jason is 25 years old")
    assert value["age"] != 25
    value = _args({"city": {"type": "string", "maxLength": 3}}, "Weather in Hanoi?")
    assert value["city"] != "Hanoi"
    lower = {"type": "object", "properties": {"city": {"type": "string", "pattern": "^[a-z]+$"}}}
    assert fill_from_prompt({"city": "abc"}, lower, "Fly to Paris") == {"city": "abc"}
    value = _args({"unit": {"enum": ["c", "f"]}}, "in kelvin please")
    assert value["unit"] in ("c", "f")


def test_two_fields_take_two_values() -> None:
    value = _args({"origin": {"type": "string"}, "destination": {"type": "string"}}, "Flights from Paris to Rome")
    assert (value["origin"], value["destination"]) == ("Paris", "Rome")


def test_unrelated_fields_keep_the_generated_value() -> None:
    schema = {"type": "object", "properties": {"sku": {"type": "string"}}}
    before = tool_use.arguments(schema, random.Random(5), "")
    after = tool_use.arguments(schema, random.Random(5), "Order a Widget from Acme")
    assert before == after


def test_one_call_per_place() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    calls = tool_use.calls_for(schema, random.Random(0), "Weather in Toronto, Dallas and Lima?")
    assert [c["city"] for c in calls] == ["Toronto", "Dallas", "Lima"]
    assert len(tool_use.calls_for(schema, random.Random(0), "Weather in Toronto and Dallas?", repeat=False)) == 1


def test_deterministic_and_pure() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "n": {"type": "integer"}}}
    prompt = "3 hotels in Kyoto"
    assert tool_use.arguments(schema, random.Random(9), prompt) == tool_use.arguments(schema, random.Random(9), prompt)
    assert fill_from_prompt({"city": "x"}, schema, "") == {"city": "x"}


def test_facts() -> None:
    facts = read_facts("Extract: Jason Liu (jason@x.io) flies from Paris, France to Tokyo on May 5, 2026 with 2 bags")
    assert facts.names == ("Jason Liu",)
    assert facts.places == ("Paris", "France", "Tokyo")
    assert facts.emails == ("jason@x.io",)
    assert facts.dates == ("2026-05-05",)
    assert [(n.value, n.unit) for n in facts.numbers] == [(2.0, "bags")]
