"""OpenAI's formats as the gateway relays them: chat, completions, Responses, embeddings, models,
legacy billing, audio (speech, transcription, translation) and images."""

from __future__ import annotations

from mockserver.families.base import Family
from mockserver.families.openai import (
    audio,
    billing,
    chat,
    completions,
    embeddings,
    images,
    models,
    responses,
)

FAMILY = Family.collect("openai", [models, chat, completions, responses, embeddings, billing, audio, images])
