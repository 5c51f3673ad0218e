"""The media generators on their own: audio links for music tasks, sniffing, SVG, derived pictures, subtitles."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from starlette.testclient import TestClient

from mockserver import media
from mockserver.content import audio, derived, svg, transcript
from mockserver.content.images import image_recipe, recipe_url, render_image
from tests.media.media_helpers import decode_audio, fetch, open_picture


@pytest.mark.parametrize(("seconds", "fmt"), [(2.5, "mp3"), (1.0, "wav"), (3.0, "opus")])
def test_audio_links_serve_music_of_the_requested_length(fresh_client: TestClient, seconds: float, fmt: str) -> None:
    url = audio.audio_url("http://127.0.0.1:8080", seconds, seed="song-1", fmt=fmt)
    assert url.endswith("." + fmt)
    response = fetch(fresh_client, url)
    assert response.headers["content-type"] == audio.content_type(fmt)
    length, level = decode_audio(response.content)
    assert length == pytest.approx(seconds, abs=0.08)
    assert level > 0.05


def test_render_audio_is_deterministic_and_seeded() -> None:
    assert audio.render_audio(1.0, "a", "mp3") == audio.render_audio(1.0, "a", "mp3")
    assert audio.render_audio(1.0, "a", "mp3") != audio.render_audio(1.0, "b", "mp3")
    with pytest.raises(ValueError):
        audio.render_audio(audio.MAX_SECONDS + 1, "a", "mp3")


def test_absurd_audio_links_are_refused_not_rendered(fresh_client: TestClient) -> None:
    url = media.media_url("http://x", "audio", {"d": 10**9, "s": "x", "f": "mp3"}, "mp3")
    answer = fresh_client.get(url.split("http://x", 1)[1])
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "media_out_of_limits"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"),
        (b"ID3\x04\x00", "mp3"),
        (b"\xff\xfb\x90\x00", "mp3"),
        (b"\xff\xf1\x50\x80", "aac"),
        (b"fLaC\x00\x00", "flac"),
        (b"OggS\x00\x02", "ogg"),
        (b"\x00\x00\x00\x20ftypM4A ", "mp4"),
        (b"\x1a\x45\xdf\xa3\x01", "webm"),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"plain text", None),
        (b"", None),
    ],
)
def test_sniff_audio(head: bytes, kind: str | None) -> None:
    assert audio.sniff_audio(head) == kind


def test_speech_carries_its_text_and_probe_reads_it_back() -> None:
    clip = audio.render_speech("Xin chào các bạn.", voice="nova", fmt="flac")
    probe = audio.probe_audio(clip)
    assert probe is not None and probe.kind == "flac"
    assert probe.spoken_text == "Xin chào các bạn."
    assert probe.seconds == pytest.approx(audio.speech_seconds("Xin chào các bạn.", "nova"), abs=0.05)


def test_svg_is_well_formed_with_the_requested_size() -> None:
    root = ET.fromstring(svg.render_svg(120, 80, seed=1))
    assert root.attrib["viewBox"] == "0 0 120 80"
    assert len(root) >= 5


def test_derived_pictures_redraw_identically_on_any_emulator(
    fresh_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = derived.thumbnail_token(Image.open(io.BytesIO(render_image(64, 48, seed=5))))
    recipe = image_recipe(128, 96, seed="s", fmt="webp", alpha=True, source=token, mode="cutout")
    first = fetch(fresh_client, recipe_url("http://127.0.0.1:8080", recipe)).content
    image = open_picture(first)
    assert (image.format, image.size, image.mode) == ("WEBP", (128, 96), "RGBA")
    monkeypatch.setattr(media, "CACHE", media.MediaCache())  # a "restarted" emulator: nothing cached
    assert fetch(fresh_client, recipe_url("http://127.0.0.1:8080", recipe)).content == first


def test_open_image_refuses_what_is_not_a_picture() -> None:
    with pytest.raises(derived.NotAnImage):
        derived.open_image(b"GIF89a broken")
    with pytest.raises(derived.NotAnImage):
        derived.open_image(b"")
    image = derived.open_image(render_image(10, 20, seed=1, fmt="jpeg"))
    assert (image.fmt, image.size, image.has_alpha) == ("jpeg", (10, 20), False)


def test_subtitles_and_timings() -> None:
    text = "One two three. Four five."
    result = transcript.transcribe(text, 5.0)
    assert [s.text for s in result.segments] == [" One two three.", " Four five."]
    assert result.words[0].start == 0.0 and result.words[-1].end == pytest.approx(5.0, abs=0.01)
    srt = "1\n00:00:00,000 --> 00:00:02,900\nOne two three.\n\n2\n00:00:02,900 --> 00:00:05,000\nFour five.\n\n"
    assert transcript.to_srt(result) == srt
    assert transcript.to_vtt(result).startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.900\nOne two three.\n")
    long = transcript.spoken_text(transcript.seed_of(b"x"), 60)
    assert 130 <= len(long.split()) <= 175
