"""The Gemini models the emulator knows: limits, methods, whether they think, speak or embed.

An id outside the table is described from its name (`*embedding*` embeds, `*-tts` speaks, 2.5 / 3
models think), so any plausible model works unless `--strict-models` is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.errors import ApiError

TEXT_METHODS = (
    "generateContent",
    "streamGenerateContent",
    "countTokens",
    "createCachedContent",
    "batchGenerateContent",
)
EMBED_METHODS = ("embedContent", "batchEmbedContents", "countTextTokens", "countTokens")
TTS_METHODS = ("generateContent", "streamGenerateContent", "countTokens")


@dataclass(frozen=True)
class GeminiModel:
    """One model as `GET /v1beta/models` describes it, plus what the emulator needs to answer for it."""

    id: str
    display_name: str
    kind: str = "text"  # text | tts | embed
    input_limit: int = 1_048_576
    output_limit: int = 65_536
    thinks: bool = False  # thinks unless told not to
    must_think: bool = False  # refuses thinkingBudget 0
    dimensions: int = 0
    version: str = "001"

    @property
    def methods(self) -> tuple[str, ...]:
        return {"text": TEXT_METHODS, "tts": TTS_METHODS, "embed": EMBED_METHODS}[self.kind]

    def describe(self) -> dict[str, Any]:
        """The model in Google's `Model` shape."""
        out: dict[str, Any] = {
            "name": f"models/{self.id}",
            "baseModelId": self.id,
            "version": self.version,
            "displayName": self.display_name,
            "description": f"{self.display_name} (served by mockserver)",
            "inputTokenLimit": self.input_limit,
            "outputTokenLimit": self.output_limit,
            "supportedGenerationMethods": list(self.methods),
        }
        if self.kind != "embed":
            out.update({"temperature": 1.0, "maxTemperature": 2.0, "topP": 0.95, "topK": 64, "thinking": self.thinks})
        return out


TABLE: dict[str, GeminiModel] = {
    m.id: m
    for m in (
        GeminiModel("gemini-2.5-pro", "Gemini 2.5 Pro", thinks=True, must_think=True),
        GeminiModel("gemini-2.5-flash", "Gemini 2.5 Flash", thinks=True),
        GeminiModel("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite"),
        GeminiModel("gemini-2.0-flash", "Gemini 2.0 Flash", output_limit=8192),
        GeminiModel("gemini-1.5-pro-latest", "Gemini 1.5 Pro Latest", input_limit=2_000_000, output_limit=8192),
        GeminiModel("gemini-2.5-flash-preview-tts", "Gemini 2.5 Flash Preview TTS", "tts", 8192, 16384),
        GeminiModel("gemini-2.5-pro-preview-tts", "Gemini 2.5 Pro Preview TTS", "tts", 8192, 16384),
        GeminiModel("gemini-embedding-001", "Gemini Embedding 001", "embed", 2048, 1, dimensions=3072),
        GeminiModel("text-embedding-004", "Text Embedding 004", "embed", 2048, 1, dimensions=768, version="004"),
    )
}


def model_info(model_id: str) -> GeminiModel:
    """The table's entry, or one inferred from the id."""
    known = TABLE.get(model_id)
    if known is not None:
        return known
    low = model_id.lower()
    if "embedding" in low:
        return GeminiModel(model_id, model_id, "embed", 2048, 1, dimensions=3072 if "gemini" in low else 768)
    if low.endswith("-tts") or "-tts-" in low:
        return GeminiModel(model_id, model_id, "tts", 8192, 16384)
    thinks = (low.startswith("gemini-2.5") or low.startswith("gemini-3")) and "lite" not in low and "image" not in low
    return GeminiModel(model_id, model_id, thinks=thinks, must_think=thinks and "pro" in low)


def require_method(model: GeminiModel, method: str, api_version: str) -> None:
    """Refuse a method the model does not offer, in Google's words (404 NOT_FOUND)."""
    if method not in model.methods:
        raise ApiError(
            404,
            f"models/{model.id} is not found for API version {api_version}, or is not supported for {method}. "
            "Call ListModels to see the list of available models and their supported methods.",
            param="model",
        )


def api_version(path: str) -> str:
    return "v1beta" if path.startswith("/v1beta/") else "v1"
