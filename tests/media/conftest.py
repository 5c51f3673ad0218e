"""Fixtures for the media tests: a live emulator whose links point at itself, the official SDK, decoders."""

from __future__ import annotations

import io
import math
from array import array
from collections.abc import Iterator
from urllib.parse import urlsplit

import av
import httpx
import openai
import pytest
from PIL import Image
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, free_port, serve_in_thread

AUTH = {"Authorization": "Bearer sk-test"}


def media_settings(port: int = 8080) -> Settings:
    return Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0, port=port)


@pytest.fixture(scope="module")
def media_live() -> Iterator[ThreadedServer]:
    """One emulator per test module on a free port, with `base_url` set to it so media links resolve."""
    port = free_port()
    with serve_in_thread(create_app(media_settings(port)), port=port) as server:
        yield server


@pytest.fixture(scope="module")
def oai(media_live: ThreadedServer) -> Iterator[openai.OpenAI]:
    """The official OpenAI SDK pointed at the emulator."""
    client = openai.OpenAI(base_url=media_live.url + "/v1", api_key="sk-test", max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def http(media_live: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=media_live.url, headers=AUTH, timeout=30) as client:
        yield client


@pytest.fixture
def fresh_client() -> Iterator[TestClient]:
    """A new in-process emulator (fresh call counters) for determinism checks."""
    with TestClient(create_app(media_settings()), headers=AUTH) as client:
        yield client


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
