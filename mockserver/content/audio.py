"""Deterministic audio (PyAV): speech-like tone bursts and short melodies, encoded to real audio files.

Speech is one tone burst per syllable at a pitch chosen by the voice, so its length grows with the
text and shrinks with `speed`; the spoken text is stored in the file's metadata (where the container
has any), which lets the emulator's own transcription endpoint hear it back. `render_audio` makes a
melody of a given length for music tasks; `audio_url` is a self-describing link the emulator serves.
Samples are built from whole waveform periods repeated with `array` arithmetic, so even minutes of
audio cost milliseconds before the encoder runs.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
import random
import re
from array import array
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import av
from av.audio.fifo import AudioFifo

from mockserver.content.links import media_url
from mockserver.content.seeded import seeded_rng

RATE = 24_000
# Ten minutes: longer than any song a vendor makes, and a few seconds of encoding at most.
MAX_SECONDS = 600.0
SPEECH_MARKER = "mockserver-tts:"


@dataclasses.dataclass(frozen=True)
class AudioFormat:
    """How one `response_format` is written: container, codec, sample rate, content type."""

    name: str
    container: str | None
    codec: str | None
    rate: int
    content_type: str
    bit_rate: int | None = None


FORMATS: dict[str, AudioFormat] = {
    "mp3": AudioFormat("mp3", "mp3", "libmp3lame", RATE, "audio/mpeg", 64_000),
    "opus": AudioFormat("opus", "ogg", "libopus", 48_000, "audio/opus", 48_000),
    "aac": AudioFormat("aac", "adts", "aac", RATE, "audio/aac", 64_000),
    "flac": AudioFormat("flac", "flac", "flac", RATE, "audio/flac"),
    "wav": AudioFormat("wav", "wav", "pcm_s16le", RATE, "audio/wav"),
    "pcm": AudioFormat("pcm", None, None, RATE, "audio/pcm"),
}

# A note: (frequency in Hz — 0 for silence, seconds, level 0..1).
Note = tuple[float, float, float]


def _seeded(*parts: Any) -> random.Random:
    return seeded_rng("|".join(map(str, parts)))


@functools.lru_cache(maxsize=512)
def _period(samples: int) -> tuple[float, ...]:
    """One period of a voice-like wave (fundamental plus two harmonics), peak 1.0."""
    wave = [
        math.sin(2 * math.pi * i / samples)
        + 0.35 * math.sin(4 * math.pi * i / samples)
        + 0.15 * math.sin(6 * math.pi * i / samples)
        for i in range(samples)
    ]
    peak = max(abs(v) for v in wave) or 1.0
    return tuple(v / peak for v in wave)


def _burst(freq: float, seconds: float, level: float, rate: int) -> array[int]:
    """A tone of whole periods with an attack/decay envelope in steps (each step starts at phase 0)."""
    size = max(2, round(rate / freq))
    periods = max(1, round(seconds * rate / size))
    steps = min(periods, 12)
    wave = _period(size)
    out: array[int] = array("h")
    done = 0
    for step in range(steps):
        count = (periods * (step + 1)) // steps - done
        done += count
        position = (step + 0.5) / steps
        shape = min(1.0, position / 0.15, (1.0 - position) / 0.3)
        amplitude = 32767 * level * max(0.15, shape)
        out.extend(array("h", [int(amplitude * v) for v in wave]) * count)
    return out


def synthesize(notes: Iterable[Note], rate: int = RATE) -> array[int]:
    """16-bit mono samples for a sequence of notes."""
    out: array[int] = array("h")
    for freq, seconds, level in notes:
        if seconds <= 0:
            continue
        if freq <= 0 or level <= 0:
            out.extend(array("h", bytes(2 * round(seconds * rate))))
        else:
            out.extend(_burst(freq, seconds, level, rate))
    return out


# ---------------------------------------------------------------------------------------------
# Speech and music

_WORD = re.compile(r"\S+")
_VOWELS = re.compile(r"[aeiouyàáâãèéêìíòóôõùúýăđĩũơư]+", re.IGNORECASE)


def speech_notes(text: str, voice: str = "alloy", speed: float = 1.0, instructions: str = "") -> list[Note]:
    """The notes of `text` spoken by `voice`: one burst per syllable, pauses after words and sentences."""
    rng = _seeded("voice", voice, instructions)
    base = 95.0 + rng.random() * 150.0
    notes: list[Note] = [(0.0, 0.1, 0.0)]
    for word in _WORD.findall(text):
        word_rng = _seeded("word", word.lower())
        syllables = max(1, min(8, len(_VOWELS.findall(word)) or len(word) // 3))
        for _ in range(syllables):
            pitch = base * (1.0 + (word_rng.randint(0, 8) - 4) * 0.035)
            notes.append((pitch, 0.11 / speed, 0.28 + word_rng.random() * 0.12))
        pause = 0.28 if word[-1] in ".!?;:" else 0.12 if word[-1] == "," else 0.06
        notes.append((0.0, pause / speed, 0.0))
    if len(notes) == 1:  # blank text still makes a short, audible chirp
        notes.append((base, 0.2 / speed, 0.3))
    notes.append((0.0, 0.1, 0.0))
    return notes


def speech_seconds(text: str, voice: str = "alloy", speed: float = 1.0, instructions: str = "") -> float:
    """How long `text` lasts when spoken (what the encoded file's duration will be, ± one frame)."""
    return sum(seconds for _, seconds, _ in speech_notes(text, voice, speed, instructions))


_PENTATONIC = (0, 2, 4, 7, 9, 12, 14, 16)


def melody_notes(seconds: float, seed: Any) -> list[Note]:
    """A melody of exactly `seconds` from a pentatonic scale chosen by `seed`."""
    rng = _seeded("melody", seed)
    root = 196.0 * 2 ** (rng.randint(0, 11) / 12)
    beat = rng.choice((0.25, 0.3, 0.375))
    notes: list[Note] = []
    left = seconds
    while left > 1e-6:
        length = min(left, beat * rng.choice((1, 1, 2, 2, 3, 4)))
        step = rng.choice(_PENTATONIC)
        notes.append((root * 2 ** (step / 12), length, 0.35 + rng.random() * 0.2))
        left -= length
    return notes


# ---------------------------------------------------------------------------------------------
# Encoding


_BLOCK = RATE * 4  # samples per block handed to the resampler


def _drain(stream: Any, container: Any, fifo: AudioFifo, size: int, *, final: bool) -> None:
    """Encode whole codec frames from `fifo` (and, when `final`, the short remainder)."""
    while fifo.samples >= size or (final and fifo.samples):
        chunk = fifo.read(min(size, fifo.samples))
        if chunk is None:
            break
        chunk.pts = None
        for packet in stream.encode(chunk):
            container.mux(packet)


def encode(samples: array[int], fmt: str, *, rate: int = RATE, comment: str | None = None) -> bytes:
    """Encode 16-bit mono samples as `fmt` (mp3, opus, aac, flac, wav or raw 16-bit LE pcm)."""
    spec = FORMATS[fmt]
    if spec.container is None or spec.codec is None:
        return samples.tobytes()
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=spec.container) as container:
        stream = container.add_stream(spec.codec, rate=spec.rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        if spec.bit_rate:
            stream.bit_rate = spec.bit_rate
        if comment:
            container.metadata["comment"] = comment
            stream.metadata["comment"] = comment
        codec = stream.codec_context
        sample_format = codec.format.name if codec.format else "s16"
        resampler = av.AudioResampler(format=sample_format, layout="mono", rate=spec.rate)
        fifo = AudioFifo()
        size = codec.frame_size or 1024
        # Blocks of a few seconds go through the resampler and the encoder in turn, so memory holds one
        # block's resampled copy, not the whole clip's (a long melody was hundreds of megabytes).
        for start in range(0, max(1, len(samples)), _BLOCK):
            block = samples[start : start + _BLOCK]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(block))
            frame.planes[0].update(block.tobytes())
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for part in resampler.resample(frame):
                fifo.write(part)
            _drain(stream, container, fifo, size, final=False)
        for part in resampler.resample(None):
            fifo.write(part)
        _drain(stream, container, fifo, size, final=True)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def content_type(fmt: str) -> str:
    return FORMATS[fmt].content_type


def render_speech(text: str, *, voice: str, speed: float = 1.0, fmt: str = "mp3", instructions: str = "") -> bytes:
    """Bytes of `text` spoken by `voice` at `speed`, encoded as `fmt` (the text rides in the metadata)."""
    if fmt not in FORMATS:
        raise ValueError(f"unsupported audio format {fmt!r}")
    if not 0.25 <= speed <= 4.0:
        raise ValueError(f"speed {speed} is outside 0.25..4.0")
    samples = synthesize(speech_notes(text, voice, speed, instructions))
    return encode(samples, fmt, comment=SPEECH_MARKER + text)


def render_audio(seconds: float, seed: Any, fmt: str = "mp3") -> bytes:
    """Bytes of a melody lasting `seconds`, chosen by `seed`, encoded as `fmt`."""
    if fmt not in FORMATS:
        raise ValueError(f"unsupported audio format {fmt!r}")
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"audio length {seconds} is outside 0..{MAX_SECONDS:g} seconds")
    return encode(synthesize(melody_notes(seconds, seed)), fmt)


def audio_url(base_url: str, seconds: float, seed: Any, fmt: str = "mp3") -> str:
    """A link the emulator serves with exactly these bytes (`GET /__mock/media/audio/...`)."""
    return media_url(base_url, "audio", {"d": round(float(seconds), 3), "s": str(seed), "f": fmt}, fmt)


def speech_recipe(text: str, voice: str, speed: float, fmt: str, instructions: str = "") -> dict[str, Any]:
    """The media recipe of a speech clip (so `media.render("speech", recipe)` caches the encode)."""
    return {"t": text, "v": voice, "x": round(float(speed), 4), "f": fmt, "i": instructions}


def audio_from_recipe(recipe: Mapping[str, Any]) -> tuple[bytes, str]:
    fmt = str(recipe.get("f", "mp3"))
    return render_audio(float(recipe["d"]), recipe["s"], fmt), content_type(fmt)


def speech_from_recipe(recipe: Mapping[str, Any]) -> tuple[bytes, str]:
    text = str(recipe["t"])
    if len(text) > 4096:
        raise ValueError("speech text is longer than 4096 characters")
    fmt = str(recipe.get("f", "mp3"))
    data = render_speech(
        text, voice=str(recipe["v"]), speed=float(recipe["x"]), fmt=fmt, instructions=str(recipe.get("i", ""))
    )
    return data, content_type(fmt)


# ---------------------------------------------------------------------------------------------
# Uploaded audio: what it is, how long it lasts, and whether the emulator spoke it


@dataclasses.dataclass(frozen=True)
class AudioProbe:
    """What an uploaded file turned out to be: container kind, decoded length, text it carries."""

    kind: str
    seconds: float | None
    spoken_text: str | None


def sniff_audio(data: bytes) -> str | None:
    """The container a file's first bytes announce (wav, mp3, flac, ogg, mp4, webm, aac), or None."""
    head = data[:12]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3":
        return "mp3"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # MPEG audio frame sync: layer bits 00 mean AAC in ADTS, anything else is MPEG layer I-III.
        return "aac" if head[1] & 0x06 == 0 else "mp3"
    return None


def _spoken_text(container: Any) -> str | None:
    for metadata in (container.metadata, *(s.metadata for s in container.streams.audio)):
        comment = metadata.get("comment") or metadata.get("COMMENT") or ""
        if comment.startswith(SPEECH_MARKER):
            return str(comment[len(SPEECH_MARKER) :])
    return None


def probe_audio(data: bytes, max_seconds: float = 4 * 3600) -> AudioProbe | None:
    """Sniff and decode an upload; None when it is not audio. `seconds` is None when it cannot be decoded."""
    kind = sniff_audio(data)
    if kind is None:
        return None
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.audio:
                return AudioProbe(kind, None, None)
            text = _spoken_text(container)
            samples = 0
            rate = 0
            for frame in container.decode(audio=0):
                samples += frame.samples
                rate = frame.sample_rate or rate
                if rate and samples / rate > max_seconds:
                    break
            seconds = samples / rate if rate else None
            return AudioProbe(kind, seconds, text)
    except (av.FFmpegError, ValueError, OSError, UnicodeDecodeError):
        return AudioProbe(kind, None, None)
