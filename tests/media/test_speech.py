"""POST /v1/audio/speech: real, decodable audio in every format, length following text and speed."""

from __future__ import annotations

import base64
import io
import json
import wave
from array import array

import httpx
import openai
import pytest

from mockserver.content.audio import FORMATS
from tests.media.media_helpers import decode_audio, pcm_level

SENTENCE = "The quick brown fox jumped over the lazy dog."
MAGIC = {"mp3": (b"ID3",), "opus": (b"OggS",), "aac": (b"\xff\xf1", b"\xff\xf9"), "flac": (b"fLaC",), "wav": (b"RIFF",)}
VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)


def speak(oai: openai.OpenAI, text: str = SENTENCE, **kwargs: object) -> bytes:
    params: dict[str, object] = {"model": "tts-1", "voice": "alloy", "input": text, **kwargs}
    return oai.audio.speech.create(**params).read()  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "wav"])
def test_every_container_format_decodes(oai: openai.OpenAI, fmt: str) -> None:
    data = speak(oai, response_format=fmt)
    assert data.startswith(MAGIC[fmt])
    seconds, level = decode_audio(data)
    assert 1.5 < seconds < 4.0
    assert level > 0.05, "speech must not be silence"


def test_wav_reads_with_the_standard_library(oai: openai.OpenAI) -> None:
    with wave.open(io.BytesIO(speak(oai, response_format="wav"))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 24_000)
        frames = w.readframes(w.getnframes())
    assert pcm_level(array("h", frames)) > 0.05


def test_pcm_is_raw_16_bit_24khz_mono(oai: openai.OpenAI) -> None:
    pcm = speak(oai, response_format="pcm")
    with wave.open(io.BytesIO(speak(oai, response_format="wav"))) as w:
        assert len(pcm) == w.getnframes() * 2
    assert pcm_level(array("h", pcm)) > 0.05


def test_content_type_follows_the_format(http: httpx.Client) -> None:
    for fmt, spec in FORMATS.items():
        r = http.post(
            "/v1/audio/speech", json={"model": "tts-1", "voice": "nova", "input": "hi", "response_format": fmt}
        )
        assert r.status_code == 200
        assert r.headers["content-type"] == spec.content_type


def test_duration_grows_with_text_and_shrinks_with_speed(oai: openai.OpenAI) -> None:
    short, _ = decode_audio(speak(oai, "Hello there.", response_format="flac"))
    long, _ = decode_audio(speak(oai, SENTENCE * 3, response_format="flac"))
    fast, _ = decode_audio(speak(oai, SENTENCE * 3, response_format="flac", speed=2.0))
    slow, _ = decode_audio(speak(oai, SENTENCE * 3, response_format="flac", speed=0.5))
    assert long > 3 * short
    assert fast < long * 0.6
    assert slow > long * 1.6


def test_every_documented_voice_speaks_with_gpt_4o_mini_tts(oai: openai.OpenAI) -> None:
    clips = {v: speak(oai, "Hi.", model="gpt-4o-mini-tts", voice=v, response_format="pcm") for v in VOICES}
    assert all(pcm_level(array("h", clip)) > 0.05 for clip in clips.values())
    assert len(set(clips.values())) == len(VOICES), "each voice sounds different"


def test_instructions_and_custom_voice_object(oai: openai.OpenAI) -> None:
    plain = speak(oai, model="gpt-4o-mini-tts", voice="coral", response_format="pcm")
    cheerful = speak(oai, model="gpt-4o-mini-tts", voice="coral", response_format="pcm", instructions="Be cheerful.")
    custom = speak(oai, model="gpt-4o-mini-tts", voice={"id": "voice_1234"}, response_format="wav")
    assert plain != cheerful
    assert decode_audio(custom)[1] > 0.05


def test_same_request_same_bytes(oai: openai.OpenAI) -> None:
    assert speak(oai, "Same words.") == speak(oai, "Same words.")


def test_streaming_response_is_chunked(oai: openai.OpenAI) -> None:
    text = SENTENCE * 4
    with oai.audio.speech.with_streaming_response.create(model="tts-1", voice="onyx", input=text) as response:
        assert response.headers.get("transfer-encoding") == "chunked"
        assert response.headers["content-type"] == "audio/mpeg"
        chunks = list(response.iter_bytes(4096))
    data = b"".join(chunks)
    assert len(chunks) > 1
    assert data == speak(oai, text, voice="onyx")


def test_sse_stream_format_carries_the_audio(http: httpx.Client) -> None:
    body = {
        "model": "gpt-4o-mini-tts",
        "voice": "sage",
        "input": SENTENCE,
        "stream_format": "sse",
        "response_format": "mp3",
    }
    with http.stream("POST", "/v1/audio/speech", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    events = [json.loads(line) for line in lines]
    assert [e["type"] for e in events][-1] == "speech.audio.done"
    assert all(e["type"] == "speech.audio.delta" for e in events[:-1])
    audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert decode_audio(audio)[0] > 1.5
    usage = events[-1]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "tts-1", "voice": "alloy", "input": "hi", "speed": 5}, "speed"),
        ({"model": "tts-1", "voice": "alloy", "input": "hi", "response_format": "ogg"}, "response_format"),
        ({"model": "tts-1", "voice": "alloy"}, "input"),
        ({"model": "tts-1", "voice": "alloy", "input": ""}, "input"),
        ({"model": "tts-1", "voice": "robot", "input": "hi"}, "voice"),
        ({"model": "tts-1", "voice": "ballad", "input": "hi"}, "voice"),
        ({"model": "tts-1", "voice": "alloy", "input": "hi", "stream_format": "sse"}, "stream_format"),
        ({"model": "tts-1", "voice": "alloy", "input": "x" * 4097}, "input"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(http: httpx.Client, body: dict[str, object], field: str) -> None:
    r = http.post("/v1/audio/speech", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == field


def test_a_content_stub_changes_what_is_spoken(http: httpx.Client, oai: openai.OpenAI) -> None:
    stub = {"operation": "audio_speech", "body_regex": "announcement", "content": "Gate four is now boarding."}
    assert http.post("/__mock/stubs", json=stub).status_code in (200, 201)
    try:
        clip = speak(oai, "announcement placeholder")
        heard = oai.audio.transcriptions.create(model="whisper-1", file=("clip.mp3", clip))
        assert heard.text == "Gate four is now boarding."
    finally:
        http.post("/__mock/reset")
