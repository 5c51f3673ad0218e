"""Helpers for the video, music and async-image vendor tests: clock, JSON calls, downloads and media probes.

Media links point at the emulator's configured base URL, so `Api.download` fetches them from the same app
by path.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any
from urllib.parse import urlsplit

import av
from PIL import Image
from starlette.testclient import TestClient


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    container: str
    codec: str
    width: int
    height: int
    seconds: float

    @property
    def aspect(self) -> float:
        return self.width / self.height


class Api:
    """A thin layer over the test client: time travel, JSON calls, media downloads."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def advance(self, seconds: float) -> None:
        answer = self.client.post("/__mock/clock/advance", json={"seconds": seconds})
        assert answer.status_code == 200, answer.text

    def post(self, path: str, body: Any, *, status: int = 200, **kwargs: Any) -> Any:
        answer = self.client.post(path, json=body, **kwargs)
        assert answer.status_code == status, answer.text
        return answer.json()

    def get(self, path: str, *, status: int = 200, **kwargs: Any) -> Any:
        answer = self.client.get(path, **kwargs)
        assert answer.status_code == status, answer.text
        return answer.json()

    def plan(self, task_id: str) -> list[dict[str, Any]]:
        """The task's plan from the control API (each step with its time offset)."""
        described = self.get(f"/__mock/tasks/{task_id}")
        plan: list[dict[str, Any]] = described["plan"]
        return plan

    def download(self, url: str) -> tuple[bytes, str]:
        """Fetch a media link the emulator handed out (it points at the emulator itself)."""
        parts = urlsplit(url)
        assert parts.path.startswith("/__mock/media/"), url
        answer = self.client.get(parts.path)
        assert answer.status_code == 200, answer.text
        return answer.content, answer.headers["content-type"]


def video_info(data: bytes) -> VideoInfo:
    """Open an MP4 with PyAV: container, codec, frame size and duration."""
    assert data[4:8] == b"ftyp", "not an MP4 (no ftyp box)"
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        seconds = float(container.duration or 0) / 1_000_000
        return VideoInfo(container.format.name, stream.codec_context.name, stream.width, stream.height, seconds)


def check_video(data: bytes, content_type: str, *, aspect: float, seconds: float) -> VideoInfo:
    """An H.264 MP4 with the aspect ratio (±3%) and roughly the duration asked for."""
    assert content_type == "video/mp4"
    info = video_info(data)
    assert "mp4" in info.container
    assert info.codec == "h264"
    assert abs(info.aspect - aspect) / aspect < 0.03, (info.width, info.height, aspect)
    assert abs(info.seconds - seconds) < 0.5, (info.seconds, seconds)
    return info


def audio_seconds(data: bytes) -> float:
    """Decode an MP3 completely; its length in seconds."""
    assert data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0), "not an MP3"
    samples = 0
    rate = 0
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio, "no audio stream"
        for frame in container.decode(audio=0):
            samples += frame.samples
            rate = frame.sample_rate
    return samples / rate


def image_info(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of an image, fully decoded by Pillow."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return str(image.format), image.width, image.height
