"""Media in cassettes: recorded from a loopback upstream, replayed offline byte for byte, checked by verify."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.app import create_app
from mockserver.recording.media import MEDIA_ROUTE, find_links, rewrite
from mockserver.recording.model import Chunk
from mockserver.recording.server import create_proxy_app, create_replay_app
from mockserver.recording.verify import verify_paths
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, free_port, serve_in_thread

KEY = {"Authorization": "Bearer sk-media-secret-0123456789abcdef", "mj-api-secret": "sk-media-secret-0123456789abcdef"}

Journey = Callable[[httpx.Client], list[dict[str, Any]]]


def journeys(client: httpx.Client) -> list[dict[str, Any]]:
    """An MJ imagine + upscale, a Suno song and a Kling video; every answer that carries media links."""
    answers = []
    task_id = client.post("/mj/submit/imagine", json={"prompt": "a red fox", "botType": "MID_JOURNEY"}).json()["result"]
    grid = client.get(f"/mj/task/{task_id}/fetch").json()
    assert grid["status"] == "SUCCESS" and grid["imageUrl"]
    answers.append(grid)
    upscale = next(b["customId"] for b in grid["buttons"] if "upsample::1" in b["customId"])
    up_id = client.post("/mj/submit/action", json={"taskId": task_id, "customId": upscale}).json()["result"]
    answers.append(client.get(f"/mj/task/{up_id}/fetch").json())
    song = client.post("/suno/submit/music", json={"gpt_description_prompt": "a song about foxes"}).json()["data"]
    answers.append(client.get(f"/suno/fetch/{song}").json())
    video = client.post("/kling/v1/videos/text2video", json={"prompt": "a fox in the snow"}).json()["data"]["task_id"]
    answers.append(client.get(f"/kling/v1/videos/text2video/{video}").json())
    return answers


def links_in(answers: list[dict[str, Any]], prefix: str) -> list[str]:
    found = [link for a in answers for link in find_links(httpx.Response(200, json=a).content)]
    return [link for link in found if link.startswith(prefix)]


@pytest.fixture
def upstream() -> Iterator[ThreadedServer]:
    port = free_port()
    with serve_in_thread(create_app(Settings(instant=True, port=port)), port=port) as server:
        yield server


def _serve(app: Any, port: int) -> Any:
    return serve_in_thread(app, port=port)


def record(upstream: ThreadedServer, cassette: Path, **settings: Any) -> list[dict[str, Any]]:
    port = free_port()
    options = Settings(upstream=upstream.url, cassettes=str(cassette), record_mode="all", port=port, **settings)
    app = create_proxy_app(options)
    with _serve(app, port) as proxy, httpx.Client(base_url=proxy.url, headers=KEY, timeout=60) as client:
        return journeys(client)


def test_recorded_media_replays_offline_byte_for_byte(tmp_path: Path, upstream: ThreadedServer) -> None:
    cassette = tmp_path / "cassettes" / "journeys.yaml"
    recorded = record(upstream, cassette)
    originals = [httpx.get(link, headers=KEY, timeout=60).content for link in links_in(recorded, upstream.url)]
    assert len(originals) >= 5  # grid, upscale, song audio + cover, video (and more)
    upstream.stop()  # from here on, nothing may need it

    text = cassette.read_text()
    assert "media:" in text and "sk-media-secret" not in text
    stored = sorted((cassette.parent / "media").iterdir())
    assert stored and all(len(p.stem) == 64 for p in stored)  # content-addressed names, nothing else in them

    port = free_port()
    with _serve(create_replay_app(Settings(cassettes=str(cassette), port=port)), port) as replay:
        with httpx.Client(base_url=replay.url, headers=KEY, timeout=60) as client:
            replayed = journeys(client)
        links = links_in(replayed, replay.url)
        assert links and all(link.startswith(replay.url + MEDIA_ROUTE) for link in links)
        assert not links_in(replayed, upstream.url)
        downloads = [httpx.get(link, timeout=60) for link in links]
        assert [d.content for d in downloads] == originals
        kinds = {d.headers["content-type"].split("/")[0] for d in downloads}
        assert kinds == {"image", "audio", "video"}
        missing = httpx.get(replay.url + MEDIA_ROUTE + "0" * 64 + ".png")
        assert missing.status_code == 404 and "no recorded media" in missing.json()["error"]["message"]

    report = verify_paths([cassette])
    assert not [d for d in report.drift if d.kind.startswith("media")], report.to_text()
    assert "media" in report.to_text()


def test_public_url_is_the_base_of_replayed_links(tmp_path: Path, upstream: ThreadedServer) -> None:
    cassette = tmp_path / "c.yaml"
    record(upstream, cassette)
    settings = Settings(cassettes=str(cassette), public_url="https://replay.example:8443")
    app = create_replay_app(settings)
    port = free_port()
    with _serve(app, port) as replay, httpx.Client(base_url=replay.url, headers=KEY, timeout=60) as client:
        links = links_in(journeys(client), "http")
        assert links and all(link.startswith("https://replay.example:8443" + MEDIA_ROUTE) for link in links)


def test_no_media_says_so_on_replay(tmp_path: Path, upstream: ThreadedServer) -> None:
    cassette = tmp_path / "c.yaml"
    record(upstream, cassette, media=False)
    assert "media: 'off'" in cassette.read_text() and not (tmp_path / "media").exists()
    port = free_port()
    with _serve(create_replay_app(Settings(cassettes=str(cassette), port=port)), port) as replay:
        with httpx.Client(base_url=replay.url, headers=KEY, timeout=60) as client:
            answer = client.get("/mj/task/x/fetch")  # a miss; then a hit:
            task_id = client.post("/mj/submit/imagine", json={"prompt": "a red fox", "botType": "MID_JOURNEY"})
            assert task_id.headers["x-mockserver-media"] == "not-recorded"
            assert answer.status_code == 404
        status = httpx.get(replay.url + "/__mock/cassettes").json()
        assert status["media_not_recorded"] == [str(cassette)]
        gone = httpx.get(replay.url + MEDIA_ROUTE + "0" * 64 + ".png").json()["error"]["message"]
        assert "media was not recorded" in gone and "--no-media" in gone


def test_limits_skip_big_files_and_note_why(tmp_path: Path, upstream: ThreadedServer) -> None:
    cassette = tmp_path / "c.yaml"
    record(upstream, cassette, media_max_bytes=2000)
    text = cassette.read_text()
    assert "skipped: larger than the 2000-byte limit per file" in text


def test_verify_reports_media_drift(tmp_path: Path, upstream: ThreadedServer) -> None:
    cassette = tmp_path / "c.yaml"
    record(upstream, cassette)
    text = verify_paths([cassette]).to_text()
    assert "media imageUrl: image/png" in text and "media data.task_result.videos[].url: video/mp4" in text
    files = {p.suffix: p for p in (tmp_path / "media").iterdir()}
    files[".png"].write_bytes(files[".mp3"].read_bytes())  # an "image" that is now audio
    files[".mp4"].unlink()
    report = verify_paths([cassette])
    kinds = {(d.kind, d.path) for d in report.drift}
    assert ("media type change", "imageUrl") in kinds and ("media missing", "data.task_result.videos[].url") in kinds
    assert not report.ok


def test_rewrite_moves_chunk_boundaries_with_the_links() -> None:
    body = b'data: {"url": "http://up/a.png"}\n\ndata: {"u": "http:\\/\\/up\\/a.png"}\n\n'
    cut = body.index(b"a.png")  # a boundary inside the first link
    chunks = [Chunk(0.0, cut), Chunk(0.1, len(body) - cut)]
    new, recut = rewrite(body, {"http://up/a.png": "http://me/__mock/cassettes/media/x.png"}, chunks)
    assert new.count(b"http://me/__mock/cassettes/media/x.png") == 1
    assert b"http:\\/\\/me\\/__mock\\/cassettes\\/media\\/x.png" in new
    assert recut is not None and sum(c.size for c in recut) == len(new)
    assert new[: recut[0].size].endswith(b"x.png")  # the link stays whole in one piece


def test_media_in_captured_callbacks_is_replayed_to_the_new_receiver(tmp_path: Path, upstream: ThreadedServer) -> None:
    from tests.recording.recording_helpers import CallbackReceiver

    receiver = CallbackReceiver()
    cassette = tmp_path / "c.yaml"
    with serve_in_thread(receiver.app) as hooks:
        port = free_port()
        options = Settings(upstream=upstream.url, cassettes=str(cassette), record_mode="all", port=port)
        submit = {"prompt": "a red fox", "botType": "MID_JOURNEY", "notifyHook": hooks.url + "/hook"}
        with _serve(create_proxy_app(options), port) as proxy:
            httpx.post(proxy.url + "/mj/submit/imagine", json=submit, headers=KEY, timeout=60).raise_for_status()
            assert receiver.done.wait(30)
            original = httpx.get(receiver.received[-1]["imageUrl"], headers=KEY, timeout=60).content
            deadline = time.monotonic() + 30
            while "callback_of" not in cassette.read_text() or "media:" not in cassette.read_text():
                assert time.monotonic() < deadline, "the callback was not recorded"
                time.sleep(0.05)
        upstream.stop()
        receiver.received.clear()
        receiver.done.clear()
        port = free_port()
        with _serve(create_replay_app(Settings(cassettes=str(cassette), port=port)), port) as replay:
            again = {**submit, "notifyHook": hooks.url + "/hook?run=2"}
            httpx.post(replay.url + "/mj/submit/imagine", json=again, headers=KEY, timeout=60).raise_for_status()
            assert receiver.done.wait(30)
            link = receiver.received[-1]["imageUrl"]
            assert link.startswith(replay.url + MEDIA_ROUTE)
            assert httpx.get(link, timeout=60).content == original
