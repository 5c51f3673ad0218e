"""`POST /v1/embeddings`: deterministic, meaningful vectors (see `mockserver.content.embeddings`)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mockserver.content.embeddings import embed, shorten, to_base64
from mockserver.families.openai.common import token_inputs
from mockserver.families.shared.account import record_usage
from mockserver.models import ensure_model
from mockserver.pipeline import Call, Endpoint

# Native sizes; models not listed get DEFAULT_DIMENSIONS.
DIMENSIONS = {
    "text-embedding-ada-002": 1536,
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "gemini-embedding-001": 3072,
    "text-embedding-004": 768,
    "embedding-001": 768,
    "bge-m3": 1024,
    "bge-large-en-v1.5": 1024,
    "jina-embeddings-v3": 1024,
    "nomic-embed-text": 768,
    "mistral-embed": 1024,
}
DEFAULT_DIMENSIONS = 1536
# Models that can shorten their vectors (`dimensions`); OpenAI refuses the parameter for the others.
SHORTENABLE = ("text-embedding-3", "gemini-embedding", "text-embedding-004", "jina-embeddings-v3")


def native_dimensions(model: str) -> int:
    return DIMENSIONS.get(model, DEFAULT_DIMENSIONS)


def _inputs(value: Any) -> list[tuple[str, int]]:
    """(text to embed, token count) per input, in order; token arrays embed as their token ids."""
    return token_inputs(value, _token_text)


def _token_text(tokens: list[int]) -> str:
    return " ".join(f"t{int(token)}" for token in tokens)


async def embeddings_create(call: Call) -> Response:
    """Embed every input; vectors are unit length, deterministic, and similar for texts that share words."""
    body = call.body
    model: str = body["model"]
    ensure_model(call, model)
    native = native_dimensions(model)
    dims = body.get("dimensions")
    if dims is not None:
        if not model.startswith(SHORTENABLE):
            raise call.error(400, f"This model does not support specifying dimensions ({model}).", param="dimensions")
        if dims > native:
            raise call.error(400, f"dimensions must be at most {native} for {model}, got {dims}.", param="dimensions")
    base64 = body.get("encoding_format") == "base64"
    data = []
    tokens = 0
    for index, (text, count) in enumerate(_inputs(body["input"])):
        vector = embed(text, native, space=model)
        if dims is not None and dims != native:
            vector = shorten(vector, dims)
        data.append({"object": "embedding", "index": index, "embedding": to_base64(vector) if base64 else vector})
        tokens += count
    record_usage(call, model, tokens, 0, stream=False)
    return call.json(
        {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    )


ROUTES = [Endpoint("embeddings_create", embeddings_create)]
