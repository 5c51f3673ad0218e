"""POST /v1/audio/transcriptions and /translations: every response format, checks on the upload."""

from __future__ import annotations

import io
import math
import re
import wave
from array import array

import httpx
import openai
import pytest

from mockserver.content.images import render_image

SENTENCE = "Meet me at the station at noon. Bring the blue umbrella."


def tone_wav(seconds: float, freq: float = 440.0, rate: int = 16_000) -> bytes:
    """A WAV written with the standard library (audio the emulator did not make)."""
    samples = array("h", (int(9000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(int(seconds * rate))))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def spoken_mp3(oai: openai.OpenAI) -> bytes:
    return oai.audio.speech.create(model="tts-1", voice="alloy", input=SENTENCE).read()


def test_json_hears_back_what_the_emulator_said(oai: openai.OpenAI, spoken_mp3: bytes) -> None:
    result = oai.audio.transcriptions.create(model="whisper-1", file=("speech.mp3", spoken_mp3))
    assert result.text == SENTENCE
    assert result.usage is not None and result.usage.type == "duration"


def test_text_srt_and_vtt_are_plain_text(oai: openai.OpenAI, spoken_mp3: bytes) -> None:
    file = ("speech.mp3", spoken_mp3)
    text = oai.audio.transcriptions.create(model="whisper-1", file=file, response_format="text")
    srt = oai.audio.transcriptions.create(model="whisper-1", file=file, response_format="srt")
    vtt = oai.audio.transcriptions.create(model="whisper-1", file=file, response_format="vtt")
    assert text.strip() == SENTENCE
    assert re.match(r"1\n00:00:00,000 --> 00:00:0\d,\d{3}\nMeet me at the station at noon\.\n\n2\n", srt)
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")
    assert "Bring the blue umbrella." in vtt


def test_verbose_json_has_segments_words_and_the_decoded_duration(oai: openai.OpenAI) -> None:
    audio = tone_wav(6.0)
    result = oai.audio.transcriptions.create(
        model="whisper-1",
        file=("tone.wav", audio),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="vi",
    )
    assert result.duration == pytest.approx(6.0, abs=0.01)
    assert result.language == "vietnamese"
    assert result.segments and result.words
    assert result.segments[-1].end == pytest.approx(6.0, abs=0.05)
    assert all(w.start <= w.end for w in result.words)
    assert [w.start for w in result.words] == sorted(w.start for w in result.words)
    assert 8 <= len(result.text.split()) <= 30, "about 2.5 words a second"


def test_words_only_when_asked(oai: openai.OpenAI) -> None:
    file = ("tone.wav", tone_wav(2.0))
    plain = oai.audio.transcriptions.create(model="whisper-1", file=file, response_format="verbose_json")
    words = oai.audio.transcriptions.create(
        model="whisper-1", file=file, response_format="verbose_json", timestamp_granularities=["word"]
    )
    assert plain.words is None and plain.segments
    assert words.words and words.segments is None


def test_text_is_deterministic_per_file_and_differs_between_files(oai: openai.OpenAI) -> None:
    first = oai.audio.transcriptions.create(model="whisper-1", file=("a.wav", tone_wav(3.0)))
    again = oai.audio.transcriptions.create(model="whisper-1", file=("b.wav", tone_wav(3.0)))
    other = oai.audio.transcriptions.create(model="whisper-1", file=("c.wav", tone_wav(3.0, freq=300)))
    assert first.text == again.text
    assert first.text != other.text


def test_gpt_4o_transcribe_usage_logprobs_and_stream(oai: openai.OpenAI, spoken_mp3: bytes) -> None:
    file = ("speech.mp3", spoken_mp3)
    result = oai.audio.transcriptions.create(model="gpt-4o-transcribe", file=file, include=["logprobs"])
    assert result.text == SENTENCE
    assert result.usage is not None and result.usage.type == "tokens"
    assert result.logprobs and "".join(p.token or "" for p in result.logprobs) == SENTENCE
    events = list(oai.audio.transcriptions.create(model="gpt-4o-mini-transcribe", file=file, stream=True))
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    assert "".join(deltas) == SENTENCE
    assert events[-1].type == "transcript.text.done" and events[-1].text == SENTENCE


def test_mp4_container_with_audio_is_accepted(oai: openai.OpenAI) -> None:
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=24_000)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=24_000)
        frame.planes[0].update(array("f", [0.1] * 24_000).tobytes())
        frame.sample_rate = 24_000
        for packet in (*stream.encode(frame), *stream.encode(None)):  # type: ignore[union-attr]
            container.mux(packet)
    result = oai.audio.transcriptions.create(model="whisper-1", file=("clip.m4a", out.getvalue()))
    assert result.text


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks translations as deprecated
def test_translation(oai: openai.OpenAI, spoken_mp3: bytes) -> None:
    result = oai.audio.translations.create(model="whisper-1", file=("speech.mp3", spoken_mp3))
    assert result.text == SENTENCE
    verbose = oai.audio.translations.create(
        model="whisper-1", file=("speech.mp3", spoken_mp3), response_format="verbose_json"
    )
    assert verbose.duration > 1 and verbose.segments
    srt = oai.audio.translations.create(model="whisper-1", file=("speech.mp3", spoken_mp3), response_format="srt")
    assert srt.startswith("1\n00:00:00,000 --> ")


PNG = render_image(8, 8, seed=1)


@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/audio/translations"])
@pytest.mark.parametrize(
    ("files", "data", "field"),
    [
        ({"file": ("picture.png", PNG, "image/png")}, {}, "file"),
        ({"file": ("notes.txt", b"hello world", "text/plain")}, {}, "file"),
        ({"file": ("fake.mp3", PNG, "audio/mpeg")}, {}, "file"),
        ({"file": ("fake.wav", b"just some text", "audio/wav")}, {}, "file"),
        ({"other": ("speech.mp3", b"ID3", "audio/mpeg")}, {}, "file"),
        ({}, {"file": "speech.mp3"}, "file"),
        ({"file": ("tone.wav", tone_wav(0.5), "audio/wav")}, {"response_format": "doc"}, "response_format"),
        ({"file": ("tone.wav", tone_wav(0.5), "audio/wav")}, {"temperature": "3"}, "temperature"),
    ],
)
def test_bad_uploads_are_a_400_naming_the_field(
    http: httpx.Client, path: str, files: dict[str, object], data: dict[str, str], field: str
) -> None:
    r = http.post(path, data={"model": "whisper-1", **data}, files=files or {"x": ("x", b"x")})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == field


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"model": "gpt-4o-transcribe", "response_format": "srt"}, "response_format"),
        ({"model": "whisper-1", "timestamp_granularities[]": "word"}, "timestamp_granularities[]"),
        ({"model": "whisper-1", "include[]": "logprobs"}, "include[]"),
        (
            {"model": "whisper-1", "timestamp_granularities[]": "sentence", "response_format": "verbose_json"},
            "timestamp_granularities[][0]",
        ),
        ({}, "model"),
    ],
)
def test_option_conflicts_are_a_400_naming_the_field(http: httpx.Client, data: dict[str, str], field: str) -> None:
    r = http.post("/v1/audio/transcriptions", data=data, files={"file": ("t.wav", tone_wav(0.5), "audio/wav")})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == field


def test_a_content_stub_sets_the_transcript(http: httpx.Client, oai: openai.OpenAI) -> None:
    stub = {"operation": "audio_transcriptions", "body_regex": "meeting\\.wav", "content": "Agenda item one. Approved."}
    assert http.post("/__mock/stubs", json=stub).status_code in (200, 201)
    try:
        result = oai.audio.transcriptions.create(
            model="whisper-1", file=("meeting.wav", tone_wav(2.0)), response_format="verbose_json"
        )
        assert result.text == "Agenda item one. Approved."
        assert [s.text for s in result.segments or []] == [" Agenda item one.", " Approved."]
        other = oai.audio.transcriptions.create(model="whisper-1", file=("other.wav", tone_wav(2.0)))
        assert other.text != "Agenda item one. Approved."
    finally:
        http.post("/__mock/reset")


def test_files_over_25_mb_are_refused(http: httpx.Client) -> None:
    big = b"ID3" + bytes(25 * 1024 * 1024)
    r = http.post("/v1/audio/transcriptions", data={"model": "whisper-1"}, files={"file": ("big.mp3", big)})
    assert r.status_code == 413
    assert r.json()["error"]["param"] == "file"
