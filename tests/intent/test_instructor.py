"""instructor in every mode it offers for the openai and anthropic clients, live and in-process.

Each mode phrases the request its own way (a forced tool, parallel tools, `json_object` with the
schema in the system prompt, a ```json block asked for in words, a `json_schema` response format);
the answer must parse into the pydantic model, and the fields the prompt states must come from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import anthropic
import openai
import pytest
from pydantic import BaseModel, Field

from tests.intent.targets import Target

instructor = pytest.importorskip("instructor", reason="instructor is not installed (pip install -e '.[test]')")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")

PROMPT = "Extract: Jason is 25 years old, an admin, and lives in Paris, France."


class Address(BaseModel):
    city: str
    country: str


class User(BaseModel):
    """A person named in the text."""

    name: str
    age: int = Field(ge=0, le=150)
    role: Literal["admin", "member"]
    address: Address


class Weather(BaseModel):
    """Look up the weather in a location."""

    location: str
    units: Literal["imperial", "metric"]


class GoogleSearch(BaseModel):
    """Search google for a query."""

    query: str


def _check_user(user: User) -> None:
    assert isinstance(user, User)
    assert (user.name, user.age, user.role) == ("Jason", 25, "admin")
    assert (user.address.city, user.address.country) == ("Paris", "France")


def _openai(target: Target, mode: object) -> object:
    client = openai.OpenAI(base_url=target.openai_url, api_key=target.api_key, max_retries=0)
    return instructor.from_openai(client, mode=mode)


@pytest.mark.parametrize("mode", ["TOOLS", "TOOLS_STRICT", "JSON", "JSON_SCHEMA", "MD_JSON"])
def test_openai_modes_extract_the_prompt(target: Target, mode: str) -> None:
    client = _openai(target, getattr(instructor.Mode, mode))
    user = client.chat.completions.create(  # type: ignore[attr-defined]
        model="gpt-4o-mini", response_model=User, messages=[{"role": "user", "content": PROMPT}], max_retries=0
    )
    _check_user(user)


def test_openai_parallel_tools(target: Target) -> None:
    client = _openai(target, instructor.Mode.PARALLEL_TOOLS)
    calls = client.chat.completions.create(  # type: ignore[attr-defined]
        model="gpt-4o-mini",
        response_model=Iterable[Weather | GoogleSearch],
        messages=[
            {
                "role": "user",
                "content": "What is the weather in Toronto and Dallas? Also search google for the Super Bowl.",
            }
        ],
        max_retries=0,
    )
    found = list(calls)
    weather = [c for c in found if isinstance(c, Weather)]
    assert [w.location for w in weather] == ["Toronto", "Dallas"]
    assert all(w.units in ("imperial", "metric") for w in weather)
    assert any(isinstance(c, GoogleSearch) and c.query for c in found)


# With anthropic 2.x, instructor's JSON_SCHEMA warns that the client lacks `output_format` and sends
# JSON mode instructions instead (the schema in the system prompt): that is the request it makes.
@pytest.mark.filterwarnings("ignore:Anthropic client does not support:UserWarning")
@pytest.mark.parametrize("mode", ["TOOLS", "JSON", "JSON_SCHEMA"])
def test_anthropic_modes_extract_the_prompt(target: Target, mode: str) -> None:
    client = instructor.from_anthropic(
        anthropic.Anthropic(base_url=target.url, api_key=target.api_key, max_retries=0),
        mode=getattr(instructor.Mode, mode),
    )
    user = client.messages.create(
        model="claude-sonnet-4-5-20250929",
        max_tokens=1024,
        response_model=User,
        messages=[{"role": "user", "content": PROMPT}],
        max_retries=0,
    )
    _check_user(user)


def test_anthropic_parallel_tools(target: Target) -> None:
    client = instructor.from_anthropic(
        anthropic.Anthropic(base_url=target.url, api_key=target.api_key, max_retries=0),
        mode=instructor.Mode.PARALLEL_TOOLS,
    )
    calls = client.messages.create(
        model="claude-sonnet-4-5-20250929",
        max_tokens=1024,
        response_model=Iterable[Weather | GoogleSearch],
        messages=[{"role": "user", "content": "Get the weather in Hanoi, and search google for pho recipes."}],
        max_retries=0,
    )
    found = list(calls)
    assert [c.location for c in found if isinstance(c, Weather)] == ["Hanoi"]
    assert any(isinstance(c, GoogleSearch) for c in found)
