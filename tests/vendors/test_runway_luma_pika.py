"""Runway, Luma and Pika: journeys on the virtual clock, failure paths, envelopes, Luma's notify_hook."""

from __future__ import annotations

from typing import Any

from tests.vendors.probes import Api, check_video, image_info

RUNWAY = "/runwayml/v1/image_to_video"
LUMA = "/luma/generations"
PIKA = "/pika/generate"
PIKA_OPTIONS = {"aspectRatio": 9 / 16, "frameRate": 24, "camera": {}, "parameters": {"motion": 1}, "extend": False}


# -- Runway ------------------------------------------------------------------------------------------


def runway_task(api: Api, task_id: str) -> dict[str, Any]:
    task: dict[str, Any] = api.get(f"/runwayml/v1/tasks/{task_id}")
    assert task["id"] == task_id and task["createdAt"].endswith("Z")
    return task


def test_runway_journey_reports_fractional_progress_then_an_mp4(api: Api) -> None:
    submitted = api.post(RUNWAY, {"promptImage": "https://example.com/a.png", "model": "gen3a_turbo", "duration": 10})
    task_id = submitted["id"]
    assert set(submitted) == {"id"}
    assert runway_task(api, task_id)["status"] == "PENDING"
    progress = []
    for _ in range(100):
        api.advance(5)
        task = runway_task(api, task_id)
        if task["status"] == "RUNNING":
            progress.append(task["progress"])
        if task["status"] == "SUCCEEDED":
            break
    assert task["status"] == "SUCCEEDED" and "progress" not in task
    assert len(set(progress)) >= 3 and progress == sorted(progress) and progress[0] > 0 and progress[-1] < 1
    (url,) = task["output"]
    check_video(*api.download(url), aspect=1280 / 768, seconds=10)


def test_runway_failures_carry_failure_codes(api: Api) -> None:
    refused = api.post(RUNWAY, {"promptImage": "x", "model": "gen4_turbo", "promptText": "gore-banned"}, status=400)
    assert "gore-banned" in refused["error"]
    moderated = api.post(RUNWAY, {"promptImage": "x", "model": "gen4_turbo", "promptText": "[mock:moderation]"})["id"]
    failed = api.post(RUNWAY, {"promptImage": "x", "model": "gen4_turbo", "promptText": "[mock:fail]"})["id"]
    api.advance(3600)
    first, second = runway_task(api, moderated), runway_task(api, failed)
    assert (first["status"], first["failureCode"]) == ("FAILED", "SAFETY.INPUT.TEXT")
    assert (second["status"], second["failureCode"]) == ("FAILED", "INTERNAL.BAD_OUTPUT.CODE01")
    assert first["failure"] and "output" not in first


def test_runway_bad_input_and_unknown_task(api: Api) -> None:
    invalid = api.post(RUNWAY, {"promptImage": "x", "model": "gen9"}, status=400)
    assert invalid["issues"][0]["path"] == ["model"]
    ratio = api.post(RUNWAY, {"promptImage": "x", "model": "gen4_turbo", "ratio": "1:7"}, status=400)
    assert "ratio" in ratio["error"]
    assert api.get("/runwayml/v1/tasks/does-not-exist", status=404) == {"error": "Task not found"}


def test_runway_start_and_end_frames_are_accepted(api: Api) -> None:
    frames = [{"uri": "https://e.com/1.png", "position": "first"}, {"uri": "https://e.com/2.png", "position": "last"}]
    task_id = api.post(RUNWAY, {"promptImage": frames, "model": "gen4_turbo", "ratio": "720:1280"})["id"]
    api.advance(3600)
    (url,) = runway_task(api, task_id)["output"]
    check_video(*api.download(url), aspect=720 / 1280, seconds=5)


# -- Luma --------------------------------------------------------------------------------------------


def test_luma_journey_and_callbacks(api: Api, callback_receiver: Any) -> None:
    body = {"user_prompt": "a flamingo preens", "aspect_ratio": "1:1", "notify_hook": callback_receiver.url}
    created = api.post(LUMA, body)
    assert created["state"] == "pending" and created["video"] is None
    task_id = created["id"]
    plan = api.plan(task_id)
    assert [s["status"] for s in plan] == ["pending", "processing", "completed"]
    api.advance(plan[1]["after_seconds"])
    assert api.get(f"{LUMA}/{task_id}")["state"] == "processing"
    api.advance(plan[2]["after_seconds"])
    done = api.get(f"{LUMA}/{task_id}")
    assert done["state"] == "completed"
    video = done["video"]
    assert video["download_url"] == video["url"]
    info = check_video(*api.download(video["url"]), aspect=1.0, seconds=5)
    assert (info.width, info.height) == (video["width"], video["height"])
    check_video(*api.download(done["video_raw"]["url"]), aspect=1.0, seconds=5)
    for frame in (done["thumbnail"], done["last_frame"]):
        fmt, width, height = image_info(api.download(frame["url"])[0])
        assert (fmt, width, height) == ("JPEG", frame["width"], frame["height"])
    callback_receiver.wait_for(task_id, status="completed")
    states = [e["body"]["state"] for e in callback_receiver.received if e["body"]["id"] == task_id]
    assert states == ["processing", "completed"]


def test_luma_failure_reason_and_not_found(api: Api) -> None:
    task_id = api.post(LUMA, {"user_prompt": "[mock:fail=render node lost]"})["id"]
    api.advance(3600)
    failed = api.get(f"{LUMA}/{task_id}")
    assert (failed["state"], failed["failure_reason"], failed["video"]) == ("failed", "render node lost", None)
    assert api.get(f"{LUMA}/nope", status=400) == {"code": "task_not_exist", "message": "task_not_exist", "data": None}
    missing = api.post(LUMA, {"expand_prompt": True}, status=400)
    assert missing["code"] == "invalid_request" and "user_prompt" in missing["message"]


# -- Pika --------------------------------------------------------------------------------------------


def test_pika_journey_with_integer_progress_and_vertical_video(api: Api) -> None:
    task_id = api.post(PIKA, {"promptText": "a plane flies", "options": PIKA_OPTIONS, "image": ""})["id"]
    first = api.get(f"/pika/feed/{task_id}")["videos"][0]
    assert (first["status"], first["progress"]) == ("queued", 0)
    progress = []
    for _ in range(60):
        api.advance(5)
        video = api.get(f"/pika/feed/{task_id}")["videos"][0]
        progress.append(video["progress"])
        if video["status"] == "finished":
            break
    assert video["status"] == "finished" and video["progress"] == 100
    assert progress == sorted(progress) and len(set(progress)) >= 4
    check_video(*api.download(video["resultUrl"]), aspect=9 / 16, seconds=5)
    check_video(*api.download(video["sharingUrl"]), aspect=9 / 16, seconds=5)
    for key in ("videoPoster", "imageThumb"):
        fmt, width, height = image_info(api.download(video[key])[0])
        assert fmt == "JPEG" and abs(width / height - 9 / 16) < 0.03


def test_pika_failures_and_bad_input(api: Api) -> None:
    task_id = api.post(PIKA, {"promptText": "[mock:moderation] x", "options": PIKA_OPTIONS})["id"]
    api.advance(3600)
    video = api.get(f"/pika/feed/{task_id}")["videos"][0]
    assert video["status"] == "error" and video["error"]
    no_options = api.post(PIKA, {"promptText": "x"}, status=400)
    assert no_options["code"] == "invalid_request" and "options" in no_options["message"]
    assert api.post(PIKA, {"promptText": "nsfw-banned", "options": PIKA_OPTIONS}, status=400)["data"] is None
    assert api.get("/pika/feed/unknown", status=400)["code"] == "task_not_exist"
