"""Reading Gemini requests: snake_case → camelCase names, Gemini schemas as JSON Schema, the prompt.

Google's JSON parser accepts `system_instruction` as well as `systemInstruction`; the contract admits
both spellings and handlers work on the camelCase form. Free-form values (function arguments and
responses, JSON schemas, labels, user property names) are copied untouched.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.content.text import count_tokens
from mockserver.errors import ApiError

_SNAKE = re.compile(r"_([a-z0-9])")
# Values Google treats as opaque JSON (Struct / Value): never renamed.
_OPAQUE = frozenset(
    ("args", "response", "responseJsonSchema", "parametersJsonSchema", "labels", "example", "default", "enum")
)
# Tokens one image / second of audio or video costs (Gemini's documented rates).
IMAGE_TOKENS = 258
AUDIO_TOKENS_PER_SECOND = 32


def camel(name: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def camelize(node: Any, *, names_are_data: bool = False) -> Any:
    """A copy of a request with every field name in camelCase (keys of opaque values left alone)."""
    if isinstance(node, list):
        return [camelize(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        name = key if names_are_data else camel(key)
        if name in out and name != key:
            continue  # both spellings sent: the camelCase one wins
        if not names_are_data and name in _OPAQUE:
            out[name] = value
        elif not names_are_data and name == "properties" and isinstance(value, dict):
            out[name] = camelize(value, names_are_data=True)
        else:
            out[name] = camelize(value)
    return out


def json_schema(schema: Any) -> Any:
    """Gemini's OpenAPI subset (`type: OBJECT`, `nullable`, `propertyOrdering`) as JSON Schema."""
    if isinstance(schema, list):
        return [json_schema(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            kind = value.lower()
            out["type"] = "string" if kind == "type_unspecified" else kind
        elif key == "properties" and isinstance(value, Mapping):
            out["properties"] = {name: json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = json_schema(value)
        elif key in ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"):
            out[key] = int(value)
        elif key in ("propertyOrdering", "nullable", "example", "title"):
            continue
        else:
            out[key] = value
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


@dataclass
class Prompt:
    """What the answer depends on: the last user text, whether it answers a function call, token counts."""

    text: str = ""
    function_response: bool = False
    tokens: dict[str, int] = field(default_factory=dict)
    # The system instruction and the user turns' text (where a JSON shape may be named).
    instructions: list[str] = field(default_factory=list)
    # (name, response) of the functionResponse parts in the last user turn.
    results: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return max(1, sum(self.tokens.values()))

    def add(self, modality: str, count: int) -> None:
        self.tokens[modality] = self.tokens.get(modality, 0) + count

    def details(self) -> list[dict[str, Any]]:
        return [{"modality": m, "tokenCount": n} for m, n in self.tokens.items() if n]


def _check_blob(blob: Mapping[str, Any], where: str) -> bytes:
    try:
        return base64.b64decode(str(blob.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            400, f"Invalid value at '{where}.data' (TYPE_BYTES), Base64 decoding failed", param=f"{where}.data"
        ) from None


def _blob_tokens(mime: str, raw: bytes) -> tuple[str, int]:
    kind = mime.split("/", 1)[0]
    if kind == "image":
        return "IMAGE", IMAGE_TOKENS
    if kind in ("audio", "video"):
        # Without decoding the media, assume ~16 kB a second (compressed speech / low-rate video).
        seconds = max(1, len(raw) // 16000)
        return kind.upper(), seconds * AUDIO_TOKENS_PER_SECOND * (8 if kind == "video" else 1)
    if mime == "application/pdf":
        return "DOCUMENT", max(IMAGE_TOKENS, len(raw) // 3000 * IMAGE_TOKENS)
    return "TEXT", count_tokens(raw.decode("utf-8", "replace"))


def _part_text(part: Mapping[str, Any]) -> str:
    if "text" in part:
        return str(part["text"])
    if "functionCall" in part:
        return json.dumps(part["functionCall"])
    if "functionResponse" in part:
        return json.dumps(part["functionResponse"])
    return ""


def read_prompt(body: Mapping[str, Any], *, contents_key: str = "contents") -> Prompt:
    """Token counts by modality and the last user turn of a (camelCase) generate request."""
    prompt = Prompt()
    system = body.get("systemInstruction")
    if isinstance(system, Mapping):
        prompt.add("TEXT", sum(count_tokens(_part_text(p)) for p in system.get("parts") or ()))
        prompt.instructions.append(" ".join(str(p.get("text", "")) for p in system.get("parts") or ()))
    for tool in body.get("tools") or ():
        for decl in tool.get("functionDeclarations") or ():
            prompt.add("TEXT", count_tokens(str(decl)))
    for i, content in enumerate(body.get(contents_key) or ()):
        texts: list[str] = []
        answers_call = False
        results: list[tuple[str, Any]] = []
        for j, part in enumerate(content.get("parts") or ()):
            where = f"{contents_key}[{i}].parts[{j}]"
            if "inlineData" in part:
                raw = _check_blob(part["inlineData"], f"{where}.inlineData")
                modality, tokens = _blob_tokens(str(part["inlineData"].get("mimeType", "")), raw)
                prompt.add(modality, tokens)
                continue
            if "fileData" in part:
                mime = str(part["fileData"].get("mimeType", "image/png"))
                prompt.add(_blob_tokens(mime, b"")[0], IMAGE_TOKENS)
                continue
            if part.get("thought"):
                continue
            text = _part_text(part)
            prompt.add("TEXT", count_tokens(text))
            if "text" in part:
                texts.append(text)
            if "functionResponse" in part:
                answers_call = True
                response = part["functionResponse"]
                results.append((str(response.get("name", "")), response.get("response")))
        if content.get("role", "user") in ("user", "function", "tool"):
            prompt.text = " ".join(texts) if texts else prompt.text
            prompt.function_response = answers_call
            prompt.results = results
            prompt.instructions.append(" ".join(texts))
    return prompt
