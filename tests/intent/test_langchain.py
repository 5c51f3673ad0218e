"""LangChain's `with_structured_output` against the emulator, every method each chat model offers,
live and in-process: ChatOpenAI (json_mode, function_calling, json_schema), ChatAnthropic
(function_calling, json_schema) and ChatGoogleGenerativeAI (json_schema, function_calling).
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from tests.intent.targets import Target

pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::PendingDeprecationWarning", "ignore::UserWarning"
)

PROMPT = "Describe the movie 'Blade Runner' directed by Ridley Scott, released in 1982."


class Movie(BaseModel):
    """A film and who made it."""

    title: str = Field(description="the movie's title")
    director: str = Field(description="the director's name")
    year: int = Field(ge=1880, le=2100)


def _check(movie: object) -> None:
    assert isinstance(movie, Movie)
    assert (movie.title, movie.director, movie.year) == ("Blade Runner", "Ridley Scott", 1982)


@pytest.mark.parametrize("method", ["json_mode", "function_calling", "json_schema"])
def test_chat_openai(target: Target, method: str) -> None:
    langchain_openai = pytest.importorskip("langchain_openai", reason="langchain-openai is not installed")
    llm = langchain_openai.ChatOpenAI(model="gpt-4o-mini", base_url=target.openai_url, api_key=target.api_key)
    prompt = PROMPT
    if method == "json_mode":
        # json_mode sends no schema: the prompt says what to return, as LangChain's docs show.
        prompt += " Respond in JSON with the keys title, director and year."
    _check(llm.with_structured_output(Movie, method=method).invoke(prompt))  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_chat_anthropic(target: Target, method: str) -> None:
    langchain_anthropic = pytest.importorskip("langchain_anthropic", reason="langchain-anthropic is not installed")
    llm = langchain_anthropic.ChatAnthropic(  # type: ignore[call-arg]
        model="claude-sonnet-4-5-20250929", base_url=target.url, api_key=target.api_key, max_retries=0
    )
    _check(llm.with_structured_output(Movie, method=method).invoke(PROMPT))  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_chat_google_genai(target: Target, method: str) -> None:
    langchain_google_genai = pytest.importorskip("langchain_google_genai", reason="langchain-google-genai is missing")
    llm = langchain_google_genai.ChatGoogleGenerativeAI(
        model="gemini-2.5-flash", google_api_key=target.api_key, base_url=target.url, max_retries=0
    )
    _check(llm.with_structured_output(Movie, method=method).invoke(PROMPT))  # type: ignore[arg-type]
