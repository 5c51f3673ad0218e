"""OpenAI's official OpenAPI document (the vendored subset) as validators, and the one place where the
emulator's deliberate departures from it are listed (`EXCEPTIONS`)."""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema_rs

SPEC_PATH = Path(__file__).with_name("openai-openapi.subset.json")


@dataclasses.dataclass(frozen=True)
class Exception_:
    """A departure from the spec the emulator makes on purpose: where (`schema` and an instance path,
    both fnmatch patterns such as `choices/*/finish_reason`), which complaint (a substring of the
    validator's message) and why."""

    schema: str
    path: str
    message: str
    reason: str


EXCEPTIONS: tuple[Exception_, ...] = (
    Exception_(
        "CreateChatCompletionStreamResponse",
        "choices/*/finish_reason",
        "null is not",
        "The spec types finish_reason as a string enum; the real API sends `null` in every chunk before "
        "the last (the SDKs type it Optional). The emulator sends what the API sends.",
    ),
    Exception_(
        "CreateCompletionResponse",
        "choices/*/finish_reason",
        "null is not",
        "Completions streams reuse CreateCompletionResponse, whose finish_reason is a string enum; the "
        "real API sends `null` until the last chunk.",
    ),
    Exception_(
        "CreateChatCompletionStreamResponse",
        "choices/*/logprobs",
        "null is not",
        "A chunk's `logprobs` is marked `nullable: true`, an OpenAPI 3.0 keyword JSON Schema ignores in "
        "this 3.1 document; the API sends `null` when logprobs were not asked for.",
    ),
    Exception_(
        "CreateChatCompletionStreamResponse",
        "usage",
        "null is not",
        "With stream_options.include_usage the API sends `usage: null` in every chunk but the last "
        "(documented in the stream_options description); the schema types usage as an object only.",
    ),
    Exception_(
        "CreateEmbeddingResponse",
        "data/*/embedding",
        'is not of type "array"',
        "With encoding_format=base64 the API answers each embedding as a base64 string of float32s; the "
        "spec types `embedding` as an array of numbers only.",
    ),
    Exception_(
        "Response*",
        "*user",
        "null is not",
        "The Response object carries `user: null` when no user was given: the spec's own examples "
        "(response.created, response.in_progress) show it, while its schema types `user` as a string.",
    ),
    Exception_(
        "Response*Event",
        "response/usage",
        "null is not",
        "A response still running has no usage yet: the spec's own examples of response.created and "
        "response.in_progress send `usage: null`, while its schema types usage as an object.",
    ),
    Exception_(
        "ErrorResponse",
        "error",
        '"param" is a required property',
        "The gateway's own errors (auth, distribution, quota; type new_api_error) are written by new-api's "
        "abortWithOpenAiMessage, which has no `param` slot (issue 15 item 5). The gateway wins.",
    ),
)


@functools.cache
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def version() -> str:
    info = _document()["info"]
    return f"{info['version']} ({info['x-source']['commit'][:7]})"


@functools.cache
def validator(schema: str) -> Any:
    """A compiled validator for `#/components/schemas/<schema>` of the vendored document."""
    document = _document()
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/components/schemas/{schema}",
        "components": document["components"],
    }
    return jsonschema_rs.validator_for(root)


def _path(error: Any) -> str:
    return "/".join(str(part) for part in error.instance_path)


def _excused(schema: str, path: str, message: str) -> bool:
    return any(
        fnmatch.fnmatchcase(schema, e.schema) and fnmatch.fnmatchcase(path, e.path) and e.message in message
        for e in EXCEPTIONS
    )


def violations(schema: str, instance: Any) -> list[str]:
    """What the official schema says is wrong with `instance`, minus the listed exceptions."""
    found = []
    for error in validator(schema).iter_errors(instance):
        path = _path(error)
        if not _excused(schema, path, error.message):
            found.append(f"{path or '<root>'}: {error.message[:300]}")
    return found


@functools.cache
def event_schemas() -> dict[str, str]:
    """Streaming event type (`response.created`, `speech.audio.delta`, ...) → its schema's name."""
    out: dict[str, str] = {}
    for name, schema in _document()["components"]["schemas"].items():
        kind = (schema.get("properties") or {}).get("type") or {}
        values = kind.get("enum") or ([kind["const"]] if "const" in kind else [])
        if name.endswith("Event") and len(values) == 1 and isinstance(values[0], str):
            out.setdefault(values[0], name)
    return out
