"""Property: for generated pydantic models, instructor's JSON mode (schema in the system prompt,
`response_format: json_object`) gets back a valid instance from the emulator, whatever the prompt says.
"""

from __future__ import annotations

from typing import Any, Literal

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, create_model

instructor = pytest.importorskip("instructor", reason="instructor is not installed (pip install -e '.[test]')")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")

_NAMES = (
    "name", "city", "age", "email", "url", "date", "title", "count", "price", "tags", "is_active", "country",
    "company", "query", "score", "unit", "description", "year", "items", "status", "temperature", "notes",
)  # fmt: skip
_PROMPTS = (
    "Jason is 25 years old and lives in Paris, France.",
    "Book 'The Hobbit' for alice@example.com on March 3, 2026, 2 copies at $15.",
    "What's the weather in Hanoi in celsius? https://example.org/weather",
    "hello",
    "Acme Corp has 1,500 employees; its CEO is Maria Lopez.",
)


def _leaf() -> st.SearchStrategy[Any]:
    bounded_int = st.tuples(st.integers(-50, 50), st.integers(0, 100)).map(
        lambda b: (int, Field(ge=b[0], le=b[0] + b[1]))
    )
    short_str = st.integers(1, 8).map(lambda n: (str, Field(min_length=1, max_length=n)))
    literal = st.lists(
        st.sampled_from(["celsius", "fahrenheit", "red", "blue", "Paris", "admin"]), min_size=1, unique=True
    )
    return st.one_of(
        st.sampled_from([(str, ...), (int, ...), (float, ...), (bool, ...), (list[str], ...), (int | None, None)]),
        bounded_int,
        short_str,
        literal.map(lambda values: (Literal[tuple(values)], ...)),  # type: ignore[misc]
    )


@st.composite
def models(draw: st.DrawFn, depth: int = 0) -> type[BaseModel]:
    names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=6, unique=True))
    fields: dict[str, Any] = {}
    for name in names:
        if depth < 2 and draw(st.integers(0, 5)) == 0:
            inner = draw(models(depth + 1))
            fields[name] = (list[inner], ...) if draw(st.booleans()) else (inner, ...)  # type: ignore[valid-type]
        else:
            fields[name] = draw(_leaf())
    return create_model(f"Model{depth}{draw(st.integers(0, 999))}", **fields)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=models(), prompt=st.sampled_from(_PROMPTS))
def test_json_mode_returns_a_valid_instance(mockserver_respx: Any, model: type[BaseModel], prompt: str) -> None:
    client = instructor.from_openai(
        openai.OpenAI(base_url="https://api.yescale.io/v1", api_key="sk-test", max_retries=0), mode=instructor.Mode.JSON
    )
    result = client.chat.completions.create(
        model="gpt-4o-mini", response_model=model, messages=[{"role": "user", "content": prompt}], max_retries=0
    )
    assert isinstance(result, model)
    model.model_validate(result.model_dump())
