"""`mockserver.content.video`: real H.264 MP4s of the asked shape and length, served by link."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mockserver.content.video import parse_aspect, render_video, video_size, video_url
from tests.vendors.probes import check_video, video_info


@pytest.mark.parametrize(
    ("aspect", "size"),
    [
        ("16:9", (320, 180)),
        ("9:16", (180, 320)),
        ("1:1", (320, 320)),
        ("1280:768", (320, 192)),
        ("720x1280", (180, 320)),
        (0.5625, (180, 320)),
        (None, (320, 180)),
        ("not a ratio", (320, 180)),
        ("0:5", (320, 180)),
    ],
)
def test_video_size_keeps_the_ratio_with_even_sides(aspect: object, size: tuple[int, int]) -> None:
    assert video_size(aspect) == size  # type: ignore[arg-type]


def test_parse_aspect_handles_every_spelling() -> None:
    assert parse_aspect("21:9") == pytest.approx(21 / 9)
    assert parse_aspect(2) == 2.0
    assert parse_aspect(True) == pytest.approx(16 / 9)


def test_render_video_is_deterministic_and_sized() -> None:
    first = render_video(240, 136, 2.5, seed="a")
    assert first == render_video(240, 136, 2.5, seed="a")
    assert first != render_video(240, 136, 2.5, seed="b")
    info = video_info(first)
    assert (info.width, info.height, info.codec) == (240, 136, "h264")
    assert info.seconds == pytest.approx(2.5, abs=0.13)


@pytest.mark.parametrize(
    ("width", "height", "seconds", "fps"),
    [(241, 136, 1, 8), (8, 8, 1, 8), (320, 180, 0, 8), (320, 180, 700, 1), (320, 180, 200, 8), (320, 180, 5, 0)],
)
def test_render_video_refuses_impossible_recipes(width: int, height: int, seconds: float, fps: int) -> None:
    with pytest.raises(ValueError):
        render_video(width, height, seconds, seed="x", fps=fps)


def test_links_are_served_and_bad_links_are_400(client: TestClient) -> None:
    url = video_url("http://127.0.0.1:8080", aspect="9:16", seconds=3, seed="z")
    answer = client.get(url.split("8080", 1)[1])
    assert answer.status_code == 200 and answer.headers["cache-control"].startswith("public")
    check_video(answer.content, answer.headers["content-type"], aspect=9 / 16, seconds=3)
    bad = video_url("http://h", size=(99, 99), seconds=3, seed="z")
    assert client.get(bad.split("http://h", 1)[1]).status_code == 400
    assert client.get("/__mock/media/video/not-a-recipe.mp4").status_code == 404
