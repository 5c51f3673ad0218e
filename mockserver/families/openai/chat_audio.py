"""Audio output in chat completions (`modalities: ["text", "audio"]`, gpt-4o-audio-preview style).

The reply is spoken: `message.audio = {id, expires_at, data, transcript}` with `content` null, `data`
real base64 audio in the asked `audio.format` (wav, aac, mp3, flac, opus, or pcm16: raw 16-bit 24 kHz
mono), made by the same speech synthesiser as `/v1/audio/speech`. Streamed, the audio arrives in
`delta.audio` updates: the id with an empty transcript, transcript pieces, base64 data pieces, and a last
update carrying only `expires_at` (OpenAI's openapi.json, ChatCompletionStreamResponseDeltaAudio).
"""

from __future__ import annotations

import base64
import dataclasses
import random
from collections.abc import Iterator, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from mockserver import media
from mockserver.content import audio as audio_content
from mockserver.errors import ApiError

FORMATS = {"wav": "wav", "aac": "aac", "mp3": "mp3", "flac": "flac", "opus": "opus", "pcm16": "pcm"}
# How long an audio reply can be referred to in a later turn (OpenAI keeps it for about an hour).
EXPIRES_AFTER = 3600
# Output audio tokens per second of speech (gpt-4o audio is billed at about ten tokens a second).
TOKENS_PER_SECOND = 10
_DATA_PIECE = 8192  # base64 characters per streamed data update


@dataclasses.dataclass(frozen=True)
class AudioRequest:
    """What the body asked for: a voice name (or custom voice id) and an output format."""

    voice: str
    format: str


def requested(body: Mapping[str, Any]) -> AudioRequest | None:
    """The audio output asked for, None when `modalities` has no "audio"; a 400 naming the field when
    `modalities` and `audio` do not fit together (neither is ever ignored)."""
    modalities = body.get("modalities") or []
    unknown = [m for m in modalities if m not in ("text", "audio")]
    if unknown:
        raise ApiError(400, f"modalities: unknown modality {unknown[0]!r}; use 'text' and 'audio'", param="modalities")
    options = body.get("audio")
    if "audio" not in modalities:
        if options is not None:
            raise ApiError(
                400, 'audio is only used with modalities ["text", "audio"]: add "audio" to modalities', param="audio"
            )
        return None
    if not isinstance(options, Mapping):
        raise ApiError(400, "audio output (modalities includes 'audio') requires the 'audio' parameter", param="audio")
    voice = options.get("voice")
    if isinstance(voice, Mapping):
        voice = voice.get("id")
    if not isinstance(voice, str) or not voice:
        raise ApiError(
            400, "audio.voice is required: a voice name such as 'alloy' or {\"id\": ...}", param="audio.voice"
        )
    fmt = options.get("format")
    if fmt not in FORMATS:
        raise ApiError(400, f"audio.format must be one of {', '.join(FORMATS)}; got {fmt!r}", param="audio.format")
    return AudioRequest(voice, str(fmt))


@dataclasses.dataclass(frozen=True)
class SpokenReply:
    """One reply spoken: its audio id, bytes, expiry and token count."""

    id: str
    data: bytes
    expires_at: int
    tokens: int

    def message_audio(self, transcript: str) -> dict[str, Any]:
        """`message.audio` of a non-streamed answer."""
        return {
            "id": self.id,
            "expires_at": self.expires_at,
            "data": base64.b64encode(self.data).decode("ascii"),
            "transcript": transcript,
        }

    def deltas(self, transcript_pieces: list[str]) -> Iterator[dict[str, Any]]:
        """The `delta.audio` updates of a streamed answer, in order."""
        yield {"id": self.id, "transcript": ""}
        for piece in transcript_pieces:
            yield {"transcript": piece}
        encoded = base64.b64encode(self.data).decode("ascii")
        for start in range(0, len(encoded), _DATA_PIECE):
            yield {"data": encoded[start : start + _DATA_PIECE]}
        yield {"expires_at": self.expires_at}


async def speak(request: AudioRequest, transcript: str, rng: random.Random, now: float) -> SpokenReply:
    """`transcript` spoken by the asked voice, encoded in the asked format — off the event loop and through
    the media cache, as `/v1/audio/speech` does (an mp3 of a long reply takes a while to encode)."""
    audio_id = "audio_" + "".join(rng.choice("0123456789abcdef") for _ in range(32))
    recipe = audio_content.speech_recipe(transcript, request.voice, 1.0, FORMATS[request.format])
    data, _ = await run_in_threadpool(media.render, "speech", recipe)
    seconds = audio_content.speech_seconds(transcript, request.voice)
    return SpokenReply(audio_id, data, int(now) + EXPIRES_AFTER, max(1, round(seconds * TOKENS_PER_SECOND)))


def add_audio_usage(usage: dict[str, Any], tokens: int) -> None:
    """Count the spoken replies' audio tokens in `usage` (its total stays the sum of its parts)."""
    usage["completion_tokens"] += tokens
    usage["total_tokens"] += tokens
    usage["completion_tokens_details"]["audio_tokens"] += tokens
