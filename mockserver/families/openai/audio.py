"""OpenAI-format audio: text to speech, transcription and translation, with real audio files.

Speech is rendered by `content.audio` (encoded once per recipe, through the media cache, in a worker
thread) and sent chunked, or as `speech.audio.delta` events with `stream_format=sse`. Transcription
decodes the upload with PyAV for its length, and hears back the text the emulator's own speech
endpoint stored in a file; any other audio gets deterministic sentences seeded by the file's bytes.
"""

from __future__ import annotations

import base64
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from mockserver import media
from mockserver.content import audio as audio_content
from mockserver.content import transcript as tx
from mockserver.content.text import count_tokens, stream_pieces
from mockserver.errors import ApiError
from mockserver.families.shared.uploads import Upload, require_file
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint

MODELS = [
    Model("tts-1", "openai", ("openai",)),
    Model("tts-1-hd", "openai", ("openai",)),
    Model("gpt-4o-mini-tts", "openai", ("openai",)),
    Model("whisper-1", "openai", ("openai",)),
    Model("gpt-4o-transcribe", "openai", ("openai",)),
    Model("gpt-4o-mini-transcribe", "openai", ("openai",)),
]

TTS1_VOICES = ("alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer")
AUDIO_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
AUDIO_MIME_PREFIXES = ("audio/", "video/mp4", "video/webm", "video/mpeg")
CHUNK = 16 * 1024
MAX_AUDIO_BYTES = 25 * 1024 * 1024
# Tokens a second of audio costs the gpt-4o audio models (an approximation; only consistency matters).
AUDIO_TOKENS_PER_SECOND = 10


# ---------------------------------------------------------------------------------------------
# Text to speech


def _voice(value: Any) -> str:
    return str(value["id"]) if isinstance(value, dict) else str(value)


async def speech(call: Call) -> Response:
    body = call.body
    model = str(body["model"])
    ensure_model(call, model)
    voice = _voice(body["voice"])
    fmt = str(body.get("response_format", "mp3"))
    speed = float(body.get("speed", 1.0))
    stream_format = str(body.get("stream_format", "audio"))
    instructions = str(body.get("instructions", ""))
    if model.startswith("tts-1"):
        if isinstance(body["voice"], str) and voice not in TTS1_VOICES:
            raise call.error(
                400,
                f"voice '{voice}' is not available for {model}; use one of {', '.join(TTS1_VOICES)}",
                param="voice",
            )
        if stream_format == "sse":
            raise call.error(400, f"stream_format 'sse' is not supported for {model}", param="stream_format")
        instructions = ""  # tts-1 ignores instructions
    text = str(call.stub["content"]) if call.stub and call.stub.get("content") else str(body["input"])
    recipe = audio_content.speech_recipe(text, voice, speed, fmt, instructions)
    data, content_type = await run_in_threadpool(media.render, "speech", recipe)
    seconds = audio_content.speech_seconds(text, voice, speed, instructions)
    call.playback = (seconds, -(-len(data) // CHUNK))  # with --latency: streamed at playback rate
    if stream_format == "sse":
        return call.sse(_speech_events(data, text, instructions, seconds))
    return StreamingResponse(_chunks(data), media_type=content_type, headers={"Cache-Control": "no-cache"})


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


def _speech_events(data: bytes, text: str, instructions: str, seconds: float) -> Iterator[dict[str, Any]]:
    for start in range(0, len(data), CHUNK):
        yield {"type": "speech.audio.delta", "audio": base64.b64encode(data[start : start + CHUNK]).decode()}
    input_tokens = count_tokens(text) + count_tokens(instructions)
    output_tokens = max(1, round(seconds * AUDIO_TOKENS_PER_SECOND * 2))
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}
    yield {"type": "speech.audio.done", "usage": usage}


# ---------------------------------------------------------------------------------------------
# Speech to text


def _check_audio_type(upload: Upload) -> None:
    """Refuse a file whose name (or, without an extension, whose declared type) is not a supported audio type."""
    ext = upload.extension
    mime_ok = upload.content_type.lower().startswith(AUDIO_MIME_PREFIXES)
    if ext in AUDIO_EXTENSIONS or (not ext and mime_ok):
        return
    supported = ", ".join(f"'{e}'" for e in AUDIO_EXTENSIONS)
    raise ApiError(
        400,
        f"Invalid file format ({upload.filename or 'no file name'}). Supported formats: [{supported}]",
        param="file",
        code="invalid_file_format",
    )


async def _hear(call: Call) -> tuple[Upload, tx.Transcript, audio_content.AudioProbe]:
    """Read and check the upload, decode it, and decide what was said in it."""
    upload = await require_file(call, "file")
    if len(upload.data) > MAX_AUDIO_BYTES:
        raise ApiError(
            413,
            f"Maximum content size limit ({MAX_AUDIO_BYTES}) exceeded ({len(upload.data)} bytes read)",
            param="file",
            code="file_too_large",
        )
    _check_audio_type(upload)
    probe = await run_in_threadpool(audio_content.probe_audio, upload.data)
    if probe is None:
        raise ApiError(
            400,
            f"the uploaded file '{upload.filename}' is not audio (its bytes are no known audio container)",
            param="file",
            code="invalid_file_format",
        )
    # Undecodable but audio-looking bytes: estimate the length as a 128 kbit/s stream would last.
    seconds = probe.seconds if probe.seconds is not None else max(1.0, len(upload.data) / 16_000)
    if call.stub and call.stub.get("content"):
        text = str(call.stub["content"])
    elif probe.spoken_text is not None:
        text = probe.spoken_text
    else:
        text = tx.spoken_text(tx.seed_of(upload.data), seconds)
    return upload, tx.transcribe(text, seconds), probe


def _is_gpt4o(model: str) -> bool:
    return model.startswith("gpt-4o") and "transcribe" in model


def _array_field(body: dict[str, Any], name: str) -> list[str]:
    values: list[str] = []
    for key in (f"{name}[]", name):
        value = body.get(key)
        if isinstance(value, list):
            values.extend(str(v) for v in value)
        elif value is not None:
            values.append(str(value))
    return values


def _token_usage(transcript: tx.Transcript, prompt: str) -> dict[str, Any]:
    audio_tokens = max(1, math.ceil(transcript.duration * AUDIO_TOKENS_PER_SECOND))
    text_tokens = count_tokens(prompt)
    output = count_tokens(transcript.text)
    return {
        "type": "tokens",
        "input_tokens": audio_tokens + text_tokens,
        "input_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
        "output_tokens": output,
        "total_tokens": audio_tokens + text_tokens + output,
    }


def _duration_usage(transcript: tx.Transcript) -> dict[str, Any]:
    return {"type": "duration", "seconds": math.ceil(transcript.duration)}


def _logprobs(text: str, seed: int) -> list[dict[str, Any]]:
    out = []
    for i, piece in enumerate(stream_pieces(text)):
        logprob = -((seed + i * 7919) % 1000) / 20000.0
        out.append({"token": piece, "logprob": logprob, "bytes": list(piece.encode())})
    return out


def _verbose(transcript: tx.Transcript, task: str, language: str, temperature: float) -> dict[str, Any]:
    segments = [
        {
            "id": seg.id,
            "seek": int(seg.start * 100),
            "start": seg.start,
            "end": seg.end,
            "text": seg.text,
            "tokens": seg.tokens,
            "temperature": temperature,
            "avg_logprob": -0.2 - (seg.id % 5) * 0.03,
            "compression_ratio": 1.2 + (len(seg.text) % 7) * 0.05,
            "no_speech_prob": 0.01,
        }
        for seg in transcript.segments
    ]
    return {
        "task": task,
        "language": tx.language_name(language),
        "duration": transcript.duration,
        "text": transcript.text,
        "segments": segments,
    }


def _text_answer(transcript: tx.Transcript, fmt: str) -> Response:
    if fmt == "srt":
        return PlainTextResponse(tx.to_srt(transcript))
    if fmt == "vtt":
        return PlainTextResponse(tx.to_vtt(transcript), media_type="text/vtt")
    return PlainTextResponse(transcript.text + "\n")


async def transcriptions(call: Call) -> Response:
    body = call.body
    model = str(body["model"])
    ensure_model(call, model)
    fmt = str(body.get("response_format", "json"))
    granularities = _array_field(body, "timestamp_granularities")
    include = _array_field(body, "include")
    gpt4o = _is_gpt4o(model)
    if gpt4o and fmt not in ("json", "text"):
        raise call.error(
            400,
            f"response_format '{fmt}' is not compatible with model '{model}'. Use 'json' or 'text' instead.",
            param="response_format",
        )
    if granularities and fmt != "verbose_json":
        raise call.error(
            400,
            "timestamp_granularities[] requires response_format 'verbose_json'",
            param="timestamp_granularities[]",
        )
    if include and not (gpt4o and fmt == "json"):
        raise call.error(
            400,
            "include[]=logprobs needs gpt-4o-transcribe or gpt-4o-mini-transcribe with response_format 'json'",
            param="include[]",
        )
    upload, transcript, _ = await _hear(call)
    prompt = str(body.get("prompt", ""))
    usage = _token_usage(transcript, prompt) if gpt4o else _duration_usage(transcript)
    logprobs = _logprobs(transcript.text, len(upload.data)) if include else None
    if gpt4o and body.get("stream") is True:
        return call.sse(_transcript_events(transcript, usage, logprobs))
    if fmt == "verbose_json":
        payload = _verbose(transcript, "transcribe", str(body.get("language", "")), float(body.get("temperature", 0)))
        if "word" in granularities:
            payload["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in transcript.words]
        if granularities and "segment" not in granularities:
            payload.pop("segments")
        payload["usage"] = usage
        return call.json(payload)
    if fmt == "json":
        answer: dict[str, Any] = {"text": transcript.text, "usage": usage}
        if logprobs is not None:
            answer["logprobs"] = logprobs
        return call.json(answer)
    return _text_answer(transcript, fmt)


def _transcript_events(
    transcript: tx.Transcript, usage: dict[str, Any], logprobs: list[dict[str, Any]] | None
) -> Iterator[dict[str, Any]]:
    for i, piece in enumerate(stream_pieces(transcript.text)):
        event: dict[str, Any] = {"type": "transcript.text.delta", "delta": piece}
        if logprobs is not None:
            event["logprobs"] = [logprobs[i]]
        yield event
    done: dict[str, Any] = {"type": "transcript.text.done", "text": transcript.text, "usage": usage}
    if logprobs is not None:
        done["logprobs"] = logprobs
    yield done


async def translations(call: Call) -> Response:
    body = call.body
    ensure_model(call, str(body["model"]))
    fmt = str(body.get("response_format", "json"))
    _, transcript, _ = await _hear(call)
    if fmt == "verbose_json":
        payload = _verbose(transcript, "translate", "en", float(body.get("temperature", 0)))
        return call.json(payload)
    if fmt == "json":
        return call.json({"text": transcript.text})
    return _text_answer(transcript, fmt)


ROUTES = [
    Endpoint("audio_speech", speech, paced=True),
    Endpoint("audio_transcriptions", transcriptions),
    Endpoint("audio_translations", translations),
]
