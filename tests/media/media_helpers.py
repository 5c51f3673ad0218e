"""Helpers for the media tests: settings whose links point at the emulator, link fetching, decoders."""

from __future__ import annotations

import io
import math
from array import array
from urllib.parse import urlsplit

import av
import httpx
from PIL import Image
from starlette.testclient import TestClient

from mockserver.settings import Settings

AUTH = {"Authorization": "Bearer sk-test"}


def media_settings(port: int = 8080) -> Settings:
    return Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0, port=port)


def fetch(client: httpx.Client | TestClient, url: str) -> httpx.Response:
    """GET a media link from the emulator `client` talks to (links name the emulator's own base URL)."""
    parts = urlsplit(url)
    response = client.get(parts.path)
    assert response.status_code == 200, response.text
    return response


def open_picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def decode_audio(data: bytes) -> tuple[float, float]:
    """(seconds, RMS level 0..1) of an audio file, decoded with PyAV."""
    samples: array[int] = array("h")
    rate = 0
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono")
        for frame in container.decode(audio=0):
            rate = frame.sample_rate
            for part in resampler.resample(frame):
                samples.frombytes(bytes(part.planes[0])[: part.samples * 2])
    assert rate, "no audio decoded"
    return len(samples) / rate, pcm_level(samples)


def pcm_level(samples: array[int]) -> float:
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples[::7]) / len(samples[::7])) / 32768
