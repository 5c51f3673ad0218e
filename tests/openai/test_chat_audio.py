"""Chat completions with audio output (`modalities: ["text", "audio"]`, gpt-4o-audio-preview style)."""

from __future__ import annotations

import base64
import json
from typing import Any

import openai
import pytest

from mockserver.content.audio import probe_audio, speech_seconds

AUDIO_BODY = {
    "model": "gpt-4o-audio-preview",
    "messages": [{"role": "user", "content": "Tell me a short story."}],
    "modalities": ["text", "audio"],
}


@pytest.mark.parametrize(("fmt", "kind"), [("wav", "wav"), ("mp3", "mp3"), ("flac", "flac"), ("opus", "ogg")])
def test_sdk_gets_real_audio_in_the_asked_format(sdk: openai.OpenAI, fmt: str, kind: str) -> None:
    answer = sdk.chat.completions.create(**AUDIO_BODY, audio={"voice": "alloy", "format": fmt})  # type: ignore[call-overload]
    message = answer.choices[0].message
    assert message.content is None and message.audio is not None
    audio = message.audio
    assert audio.id.startswith("audio_") and audio.expires_at == answer.created + 3600
    probe = probe_audio(base64.b64decode(audio.data))
    assert probe is not None and probe.kind == kind and probe.seconds
    assert probe.spoken_text == audio.transcript and audio.transcript  # the audio says the transcript
    details = answer.usage.completion_tokens_details  # type: ignore[union-attr]
    assert details is not None and details.audio_tokens and details.audio_tokens > 0


def test_pcm16_is_raw_24khz_samples(raw: Any) -> None:
    answer = raw.post("/v1/chat/completions", json={**AUDIO_BODY, "audio": {"voice": "coral", "format": "pcm16"}})
    audio = answer.json()["choices"][0]["message"]["audio"]
    data = base64.b64decode(audio["data"])
    seconds = speech_seconds(audio["transcript"], "coral")
    assert len(data) % 2 == 0 and abs(len(data) / 2 / 24_000 - seconds) < 0.05


def test_streamed_audio_arrives_in_delta_audio_updates(raw: Any) -> None:
    body = {**AUDIO_BODY, "stream": True, "audio": {"voice": "alloy", "format": "pcm16"}}
    streamed = raw.post("/v1/chat/completions", json=body)
    chunks = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
    updates = [c["choices"][0]["delta"]["audio"] for c in chunks if "audio" in c["choices"][0]["delta"]]
    assert updates[0]["transcript"] == "" and updates[0]["id"].startswith("audio_")
    assert list(updates[-1]) == ["expires_at"]
    assert all("content" not in c["choices"][0]["delta"] or c["choices"][0]["delta"]["content"] is None for c in chunks)
    transcript = "".join(u.get("transcript", "") for u in updates)
    data = base64.b64decode("".join(u.get("data", "") for u in updates))
    assert transcript and len(data) % 2 == 0  # the pieces join into the whole 16-bit 24 kHz recording
    assert abs(len(data) / 2 / 24_000 - speech_seconds(transcript, "alloy")) < 0.05
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({**AUDIO_BODY}, "audio"),
        ({**AUDIO_BODY, "audio": {"voice": "alloy", "format": "ogg"}}, "audio.format"),
        ({**AUDIO_BODY, "audio": {"format": "wav"}}, "audio.voice"),
        ({**AUDIO_BODY, "modalities": ["text"], "audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({**AUDIO_BODY, "modalities": ["text", "video"], "audio": {"voice": "alloy", "format": "wav"}}, "modalities"),
    ],
    ids=["no-audio-options", "bad-format", "no-voice", "audio-without-modality", "unknown-modality"],
)
def test_audio_options_that_do_not_fit_are_400(raw: Any, body: dict[str, Any], param: str) -> None:
    r = raw.post("/v1/chat/completions", json=body)
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text


def test_custom_voice_object_and_tool_calls_are_not_spoken(raw: Any) -> None:
    voice = {"voice": {"id": "voice_1234"}, "format": "wav"}
    spoken = raw.post("/v1/chat/completions", json={**AUDIO_BODY, "audio": voice}).json()
    assert spoken["choices"][0]["message"]["audio"]["transcript"]
    tool = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
    }
    called = raw.post(
        "/v1/chat/completions", json={**AUDIO_BODY, "audio": voice, "tools": [tool], "tool_choice": "required"}
    )
    message = called.json()["choices"][0]["message"]
    assert message["tool_calls"] and "audio" not in message
