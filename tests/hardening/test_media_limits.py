"""Media links: recipes beyond the documented limits are refused with 400 before any work, and the
largest allowed video and audio stay within 300 MiB of peak memory (measured in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from mockserver import media
from mockserver.content import audio, video

PEAK_LIMIT_MIB = 300

_MEASURE = """
import json, resource, sys
from mockserver import media
import mockserver.content.video, mockserver.content.audio
kind, recipe = sys.argv[1], json.loads(sys.argv[2])
data, _ = media.KINDS[kind].generate(recipe)
print(json.dumps({"bytes": len(data), "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


# Linux keeps a process's peak RSS across exec, so a child started straight from this (large) test
# process would report this process's peak: a small launcher in between starts the measured one.
_LAUNCH = """
import subprocess, sys
done = subprocess.run([sys.executable, "-c", *sys.argv[1:]], capture_output=True, text=True)
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
sys.exit(done.returncode)
"""


def _peak(kind: str, recipe: dict[str, object]) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCH, _MEASURE, kind, json.dumps(recipe)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, int] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("kind", "recipe"),
    [
        # The link: 1280×1280, 600 s, 2 fps peaked at 7,650 MiB: now refused (pixel × frame budget).
        ("video", {"w": 1280, "h": 1280, "d": 600, "s": "x", "r": 2}),
        ("video", {"w": 1280, "h": 720, "d": 600, "s": "x", "r": 30}),
        ("video", {"w": 4000, "h": 720, "d": 1, "s": "x", "r": 8}),
        ("audio", {"d": 1800, "s": "x", "f": "wav"}),
        ("audio", {"d": 601, "s": "x", "f": "mp3"}),
        ("audio", {"d": 10, "s": "x", "f": "midi"}),
    ],
)
def test_recipes_beyond_the_limits_are_refused_with_400(
    client: TestClient, kind: str, recipe: dict[str, object]
) -> None:
    url = media.media_url("", kind, recipe, "bin")
    answer = client.get(url)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "media_out_of_limits"


def test_the_largest_allowed_video_stays_within_the_memory_bound() -> None:
    # The largest square clip the pixel × frame budget allows, at the longest side allowed.
    side = video.MAX_SIDE
    frames = video.MAX_PIXEL_FRAMES // (side * side)
    recipe = {"w": side, "h": side, "d": frames / 2, "s": "peak", "r": 2}
    assert video.check_video(side, side, frames / 2, 2) == frames
    result = _peak("video", recipe)
    assert result["bytes"] > 10_000
    assert result["peak_kib"] / 1024 <= PEAK_LIMIT_MIB


def test_the_longest_allowed_audio_stays_within_the_memory_bound() -> None:
    result = _peak("audio", {"d": audio.MAX_SECONDS, "s": "peak", "f": "flac"})
    assert result["bytes"] > 1_000_000
    assert result["peak_kib"] / 1024 <= PEAK_LIMIT_MIB


def test_frames_are_streamed_not_collected() -> None:
    frames = video._frames(64, 64, 3, "s")
    assert not isinstance(frames, list)
    assert len(list(frames)) == 3


def test_with_a_control_token_media_links_are_signed_and_forged_ones_refused() -> None:
    from mockserver.app import create_app
    from mockserver.settings import Settings

    settings = Settings(speed=0.0, start_time=1_750_000_000.0, control_token="media-key")
    with TestClient(create_app(settings), headers={"Authorization": "Bearer sk-test"}) as signed:
        body = {"model": "dall-e-2", "prompt": "a red fox", "size": "256x256", "response_format": "url"}
        url = signed.post("/v1/images/generations", json=body).json()["data"][0]["url"]
        assert "?sig=" in url
        path = url.split("127.0.0.1:8080", 1)[1]
        assert signed.get(path).status_code == 200
        forged = media.media_url("", "video", {"w": 320, "h": 180, "d": 5, "s": "forged", "r": 8}, "mp4")
        answer = signed.get(forged)
        # one rule for keys and the control token (mockserver.gateway.signing): a key, the token or the sig
        assert answer.status_code == 401 and "signature" in answer.json()["error"]["message"]
        tampered = path.replace("?sig=", "?sig=0")
        assert signed.get(tampered).status_code == 401
        assert signed.get(forged, headers={"x-mock-token": "media-key"}).status_code == 200


def test_without_a_control_token_links_are_plain(client: TestClient) -> None:
    body = {"model": "dall-e-2", "prompt": "a red fox", "size": "256x256", "response_format": "url"}
    url = client.post("/v1/images/generations", json=body).json()["data"][0]["url"]
    assert "?sig=" not in url
