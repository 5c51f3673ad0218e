"""Extract the response schemas the conformance suite needs from OpenAI's official OpenAPI document.

Run from the repository root with the full document at hand (github.com/openai/openai-openapi,
`openapi.json`):

    python tests/conformance/extract_openai_spec.py path/to/openapi.json <commit>

It writes `tests/conformance/openai-openapi.subset.json`: the named root schemas and every schema
they reference, unchanged, plus where they came from (version, commit, licence).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOTS = (
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "CreateCompletionResponse",
    "CreateEmbeddingResponse",
    "ListModelsResponse",
    "Model",
    "ImagesResponse",
    "CreateTranscriptionResponseJson",
    "CreateTranscriptionResponseVerboseJson",
    "CreateTranslationResponseJson",
    "CreateTranslationResponseVerboseJson",
    "CreateTranscriptionResponseStreamEvent",
    "CreateSpeechResponseStreamEvent",
    "ImageGenStreamEvent",
    "ImageEditStreamEvent",
    "Response",
    "ResponseStreamEvent",
    "ErrorResponse",
)
PREFIX = "#/components/schemas/"
OUT = Path(__file__).with_name("openai-openapi.subset.json")


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(PREFIX):
            found.add(ref[len(PREFIX) :])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def closure(schemas: dict[str, Any], roots: tuple[str, ...]) -> dict[str, Any]:
    """The roots and every schema reachable from them through `$ref`s."""
    todo, seen = list(roots), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found: set[str] = set()
        _refs(schemas[name], found)
        todo.extend(sorted(found - seen))
    return {name: schemas[name] for name in sorted(seen)}


def main(argv: list[str]) -> int:
    source, commit = Path(argv[1]), argv[2]
    document = json.loads(source.read_text(encoding="utf-8"))
    info = document["info"]
    subset = {
        "openapi": document["openapi"],
        "info": {
            "title": info["title"],
            "version": info["version"],
            "license": info.get("license"),
            "x-source": {
                "repository": "https://github.com/openai/openai-openapi",
                "path": "openapi.json",
                "commit": commit,
                "licence": "MIT (see OPENAI-OPENAPI-LICENSE next to this file)",
                "extracted": list(ROOTS),
            },
        },
        "components": {"schemas": closure(document["components"]["schemas"], ROOTS)},
    }
    # one schema per line: small diffs when the document is extracted again from a newer commit
    schemas = subset["components"]["schemas"]
    head = json.dumps({k: v for k, v in subset.items() if k != "components"}, indent=1, ensure_ascii=False)
    lines = [f" {json.dumps(name)}: {json.dumps(body, ensure_ascii=False)}" for name, body in schemas.items()]
    body = head[:-2] + ',\n "components": {"schemas": {\n' + ",\n".join(lines) + "\n }}\n}\n"
    OUT.write_text(body, encoding="utf-8")
    print(f"{OUT}: {len(subset['components']['schemas'])} schemas")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
