"""Gemini in Google's own format: generateContent, streamGenerateContent, embedContent,
batchEmbedContents, countTokens and the model list, under `/v1beta/models/...` and `/v1/models/...`.

google-genai 3.x calls the `/v1` paths unless told `api_version="v1beta"`, and its `embed_content`
always uses `:batchEmbedContents`, so every action answers under both versions.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from mockserver.content.embeddings import embed
from mockserver.errors import ApiError, Envelope
from mockserver.families.gemini.answer import plan, respond
from mockserver.families.gemini.models import TABLE, GeminiModel, api_version, model_info, require_method
from mockserver.families.gemini.request import camelize, read_prompt
from mockserver.families.gemini.stream import chunks_of, json_array
from mockserver.models import Model, ModelCatalog, ensure_model
from mockserver.pipeline import Call, Endpoint

# Owner and endpoint types as the OpenAI-format model list reports them (the catalog is shared).
MODELS = [
    Model(m.id, "gemini", ("gemini", "embeddings") if m.kind == "embed" else ("gemini", "openai"))
    for m in TABLE.values()
]
_PAGE_SIZE = 50


def _model(call: Call, method: str) -> GeminiModel:
    model_id = call.path_params["model"]
    ensure_model(call, model_id)
    model = model_info(model_id)
    require_method(model, method, api_version(call.path))
    return model


async def generate_content(call: Call) -> Response:
    """POST /v1beta/models/{model}:generateContent."""
    model = _model(call, "generateContent")
    body = camelize(call.body)
    prompt = read_prompt(body)
    return call.json(respond(call, model.id, plan(body, model, prompt.total), prompt))


async def stream_generate_content(call: Call) -> Response:
    """POST /v1beta/models/{model}:streamGenerateContent (`?alt=sse` or the JSON array)."""
    model = _model(call, "streamGenerateContent")
    body = camelize(call.body)
    prompt = read_prompt(body)
    chunks = chunks_of(respond(call, model.id, plan(body, model, prompt.total), prompt))
    if call.query.get("alt") == "sse":
        return call.sse(chunks)
    return json_array(call, chunks)


async def count_tokens(call: Call) -> Response:
    """POST /v1beta/models/{model}:countTokens."""
    _model(call, "countTokens")
    body = camelize(call.body)
    request = body.get("generateContentRequest") or body
    if not request.get("contents"):
        raise ApiError(400, "contents: field required (send contents or generateContentRequest)", param="contents")
    prompt = read_prompt(request)
    return call.json({"totalTokens": prompt.total, "promptTokensDetails": prompt.details()})


# ---------------------------------------------------------------------------------------------
# Embeddings


def _vector(model: GeminiModel, request: Mapping[str, Any], where: str) -> list[float]:
    texts = [str(p["text"]) for p in request["content"].get("parts") or () if "text" in p]
    if not texts:
        raise ApiError(400, f"{where}content.parts: no text to embed", param=f"{where}content.parts")
    dims = int(request.get("outputDimensionality") or model.dimensions)
    if dims > model.dimensions:
        raise ApiError(
            400,
            f"{where}outputDimensionality: models/{model.id} supports at most {model.dimensions} dimensions",
            param=f"{where}outputDimensionality",
        )
    return embed("\n".join(texts), dims, space=model.id)


def _check_model_field(model: GeminiModel, named: Any, where: str) -> None:
    if named is not None and str(named) not in (model.id, f"models/{model.id}"):
        raise ApiError(
            400,
            f"{where}model: {named} does not match the model in the URL (models/{model.id})",
            param=f"{where}model",
        )


async def embed_content(call: Call) -> Response:
    """POST /v1beta/models/{model}:embedContent."""
    model = _model(call, "embedContent")
    body = camelize(call.body)
    _check_model_field(model, body.get("model"), "")
    return call.json({"embedding": {"values": _vector(model, body, "")}})


async def batch_embed_contents(call: Call) -> Response:
    """POST /v1beta/models/{model}:batchEmbedContents."""
    model = _model(call, "batchEmbedContents")
    body = camelize(call.body)
    vectors = []
    for i, request in enumerate(body["requests"]):
        _check_model_field(model, request.get("model"), f"requests[{i}].")
        vectors.append({"values": _vector(model, request, f"requests[{i}].")})
    return call.json({"embeddings": vectors})


# ---------------------------------------------------------------------------------------------
# Models


def gemini_models(catalog: ModelCatalog) -> list[dict[str, Any]]:
    """Every catalogued model that speaks the Gemini format, in Google's `Model` shape."""
    return [model_info(m.id).describe() for m in catalog if "gemini" in m.endpoint_types]


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "offset" or not number.isdigit():
            raise ValueError(token)
        return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, "pageToken: invalid page token", param="pageToken") from None


async def list_models(call: Call) -> Response:
    """GET /v1beta/models (paged with pageSize / pageToken)."""
    models = gemini_models(call.state.ext["models"])
    size = int(call.query.get("pageSize") or _PAGE_SIZE)
    start = _offset(str(call.query["pageToken"])) if call.query.get("pageToken") else 0
    payload: dict[str, Any] = {"models": models[start : start + size]}
    if start + size < len(models):
        payload["nextPageToken"] = _page_token(start + size)
    return call.json(payload)


async def get_model(call: Call) -> Response:
    """GET /v1beta/models/{model}."""
    model_id = call.path_params["model"]
    catalog: ModelCatalog = call.state.ext["models"]
    known = catalog.get(model_id)
    if known is None or "gemini" not in known.endpoint_types:
        raise ApiError(404, f"models/{model_id} is not found for API version v1beta", param="model")
    return call.json(model_info(model_id).describe())


_PACED = ("gemini_generate_content", "gemini_stream_generate_content")  # model calls: `--latency` paces them
_ACTIONS = (
    ("gemini_generate_content", generate_content, "generateContent"),
    ("gemini_stream_generate_content", stream_generate_content, "streamGenerateContent"),
    ("gemini_embed_content", embed_content, "embedContent"),
    ("gemini_batch_embed_contents", batch_embed_contents, "batchEmbedContents"),
    ("gemini_count_tokens", count_tokens, "countTokens"),
)


_GEMINI_STATUS = {
    **dict.fromkeys((400, 405, 413, 415), "INVALID_ARGUMENT"),
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def gemini_envelope(err: ApiError, request_id: str) -> tuple[int, Any]:
    """`{"error": {"code", "message", "status"}}` as Google's APIs answer."""
    return err.status, {
        "error": {
            "code": err.status,
            "message": err.message,
            "status": err.type or _GEMINI_STATUS.get(err.status, "UNKNOWN"),
        }
    }


ENVELOPES: dict[str, Envelope] = {"gemini": gemini_envelope}


ROUTES = [
    *(Endpoint(op, handler, paced=op in _PACED) for op, handler, _ in _ACTIONS),
    *(
        Endpoint(op, handler, path=f"/v1/models/{{model}}:{action}", paced=op in _PACED)
        for op, handler, action in _ACTIONS
    ),
    Endpoint("gemini_models_list", list_models),
    Endpoint("gemini_models_get", get_model),
]
