"""`GET /v1/models` and `GET /v1/models/{model}`: every model the YEScale docs name, plus `--model` extras.

`MODELS` lists every model id named anywhere in the two docs catalogs (chat, audio, embeddings, Claude,
Gemini, DeepSeek, image, video and music); other family modules may export more, and the app merges
them all into one catalog (`state.ext["models"]`).
"""

from __future__ import annotations

import datetime

from starlette.responses import Response

from mockserver.families.gemini.generate import gemini_models
from mockserver.models import Model, ModelCatalog
from mockserver.pipeline import Call, Endpoint

_CHAT = ("openai",)
_CHAT_RESPONSES = ("openai", "openai-response")
_IMAGE = ("image-generation",)
_EMBED = ("embeddings",)


def _models(owner: str, kinds: tuple[str, ...], *ids: str) -> list[Model]:
    return [Model(model_id, owner, kinds) for model_id in ids]


MODELS: list[Model] = [
    *_models(
        "openai",
        _CHAT_RESPONSES,
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4o-2024-08-06",
        "gpt-4.1-2025-04-14",
        "gpt-3.5-turbo",
        "gpt-3.5-turbo-0301",
        "gpt-3.5-turbo-0613",
    ),
    *_models("openai", _CHAT, "gpt-3.5-turbo-instruct", "davinci-002", "babbage-002"),
    *_models("openai", _EMBED, "text-embedding-ada-002", "text-embedding-3-small", "text-embedding-3-large"),
    *_models(
        "openai",
        _CHAT,
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "tts-1",
        "tts-1-hd",
        "gpt-4o-mini-tts",
    ),
    *_models("openai", _IMAGE, "gpt-image-1", "gpt-image-1-all", "dall-e-3"),
    *_models(
        "anthropic",
        ("anthropic", "openai"),
        "claude-3-5-sonnet-20240620",
        "claude-3-5-sonnet-20241022",
        "claude-3-7-sonnet-20250219",
        "claude-sonnet-4-20250514",
        "claude-opus-4-1-20250805",
    ),
    *_models(
        "gemini",
        ("gemini", "openai"),
        "gemini-1.5-pro-latest",
        "gemini-2.0-flash",
        "gemini-2.0-flash-exp-image-generation",
        "gemini-2.5-flash",
        "gemini-2.5-pro",
        "gemini-2.5-flash-preview-tts",
    ),
    *_models("gemini", ("gemini", "embeddings"), "gemini-embedding-001"),
    *_models("deepseek", _CHAT, "deepseek-v3-1-250821", "deepseek-reasoner"),
    *_models("qwen", _IMAGE, "qwen-image", "qwen-image-edit"),
    *_models("recraft", _IMAGE, "recraftv3", "recraftv2"),
    *_models("flux", _IMAGE, "flux-pro", "flux-kontext-pro", "flux-kontext-max"),
    *_models("google", _IMAGE, "imagen4"),
    *_models("volcengine", _IMAGE, "doubao-seedream-3-0-t2i-250415", "seedream-3.0"),
    *_models(
        "kling",
        ("kling",),
        "kling-v1",
        "kling-v1-5",
        "kling-v1-6",
        "kling-v2",
        "kling-v2-master",
        "kling-v2-1-master",
        "kolors-virtual-try-on-v1",
        "kolors-virtual-try-on-v1-5",
    ),
    *_models("runway", ("openai-video",), "gen3a_turbo", "gen4_turbo"),
    *_models("luma", ("openai-video",), "ray-v1", "ray-v2", "ray-v3"),
    *_models(
        "google",
        ("openai-video",),
        "veo2",
        "veo2-fast",
        "veo2-pro",
        "veo3",
        "veo3-fast",
        "veo3-pro",
        "veo3.1",
        "veo3.1-fast",
        "veo3.1-pro",
        "veo2-fast-frames",
        "veo3-fast-frames",
        "veo3-frames",
        "veo3-pro-frames",
        "veo2-fast-components",
        "veo3.1-components",
    ),
    *_models("minimax", ("openai-video",), "MiniMax-Hailuo-02", "T2V-01", "I2V-01", "S2V-01"),
    *_models("volcengine", ("openai-video",), "doubao-seedance-1-0-pro-250528", "doubao-seedance-1-5-pro-251215"),
    *_models(
        "suno",
        ("suno-proxy",),
        "chirp-v3",
        "chirp-v3-0",
        "chirp-v3-5",
        "chirp-v4",
        "chirp-auk",
        "chirp-bluejay",
        "chirp-crow",
    ),
]


def _catalog(call: Call) -> ModelCatalog:
    catalog: ModelCatalog = call.state.ext["models"]
    return catalog


def model_object(model: Model) -> dict[str, object]:
    """A model as the OpenAI format lists it (with new-api's `supported_endpoint_types`)."""
    return {
        "id": model.id,
        "object": "model",
        "created": model.created,
        "owned_by": model.owned_by,
        "supported_endpoint_types": list(model.endpoint_types),
    }


def anthropic_model_object(model: Model) -> dict[str, object]:
    """A model as Anthropic's `GET /v1/models` lists it."""
    created = datetime.datetime.fromtimestamp(model.created, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": "model", "id": model.id, "display_name": model.id, "created_at": created}


async def models_list(call: Call) -> Response:
    """Every model in the catalog, in the format new-api picks from the headers: Anthropic's for
    x-api-key + anthropic-version, Gemini's for x-goog-api-key or ?key=, else OpenAI's."""
    headers = call.headers
    if headers.get("x-api-key") and headers.get("anthropic-version"):
        data = [anthropic_model_object(m) for m in _catalog(call)]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return call.json({"data": data, "has_more": False, "first_id": first, "last_id": last})
    if headers.get("x-goog-api-key") or call.query.get("key"):
        return call.json({"models": gemini_models(_catalog(call))})
    return call.json({"object": "list", "success": True, "data": [model_object(m) for m in _catalog(call)]})


def unknown_model_body(model_id: str) -> dict[str, object]:
    """new-api's `RetrieveModel` answer for a model it does not know: an OpenAI error object, sent with
    HTTP 200 by `c.JSON(200, ...)` directly (so no request id is appended to the message)."""
    return {
        "error": {
            "message": f"The model '{model_id}' does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


async def models_retrieve(call: Call) -> Response:
    """One model; an unknown one answers HTTP 200 with an error body, as the gateway does."""
    model_id = call.path_params["model"]
    model = _catalog(call).get(model_id)
    if model is None:
        return call.json(unknown_model_body(model_id))
    return call.json(model_object(model))


ROUTES = [Endpoint("models_list", models_list), Endpoint("models_retrieve", models_retrieve)]
