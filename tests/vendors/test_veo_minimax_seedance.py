"""Veo (unified format), MiniMax Hailuo and Seedance: journeys, failures, envelopes, Seedance callbacks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.vendors.probes import Api, check_video, image_info

VEO = "/v1/video/create"
HAILUO = "/minimax/v1/video_generation"
HAILUO_QUERY = "/minimax/v1/query/video_generation"
SEEDANCE = "/seedance/generations"
SEEDANCE_MODEL = "doubao-seedance-1-0-pro-250528"


# -- Veo ---------------------------------------------------------------------------------------------


def test_veo_journey_gives_an_8_second_video_in_the_asked_ratio(api: Api) -> None:
    created = api.post(
        VEO, {"model": "veo3-fast", "prompt": "a cow flies", "aspect_ratio": "9:16", "enhance_prompt": True}
    )
    assert created["id"].startswith("veo3-fast:1750000000-") and created["status"] == "pending"
    assert created["enhanced_prompt"] != "a cow flies"
    seen = []
    for _ in range(40):
        api.advance(10)
        job = api.get("/v1/video/query", params={"id": created["id"]})
        seen.append(job["status"])
        if job["status"] == "completed":
            break
    assert "processing" in seen and seen[-1] == "completed"
    assert job["detail"]["running"] is False and job["video_url"] == job["detail"]["video_url"]
    check_video(*api.download(job["video_url"]), aspect=9 / 16, seconds=8)


def test_veo_pro_takes_longer_than_fast(api: Api) -> None:
    fast = api.post(VEO, {"model": "veo3-fast", "prompt": "x"})["id"]
    pro = api.post(VEO, {"model": "veo3-pro", "prompt": "x"})["id"]
    assert api.plan(fast)[-1]["after_seconds"] < api.plan(pro)[-1]["after_seconds"]


@pytest.mark.parametrize(
    ("model", "images", "status"),
    [
        ("veo3-pro-frames", [], 400),
        ("veo3-pro-frames", ["https://e.com/1.png"], 200),
        ("veo3-pro-frames", ["a", "b"], 400),
        ("veo2-fast-frames", ["a", "b"], 200),
        ("veo3.1-components", ["a", "b", "c"], 200),
        ("veo3.1-components", ["a", "b", "c", "d"], 400),
    ],
)
def test_veo_frames_and_components_count_their_images(api: Api, model: str, images: list[str], status: int) -> None:
    answer = api.post(VEO, {"model": model, "prompt": "x", "images": images}, status=status)
    if status == 400:
        assert answer["error"]["param"] == "images" and model in answer["error"]["message"]


def test_veo_failure_and_errors_use_the_gateway_envelope(api: Api) -> None:
    job_id = api.post(VEO, {"model": "veo3", "prompt": "[mock:moderation]"})["id"]
    api.advance(3600)
    failed = api.get("/v1/video/query", params={"id": job_id})
    assert failed["status"] == "failed" and failed["video_url"] is None
    assert "Responsible AI" in failed["detail"]["error_message"]
    unknown = api.get("/v1/video/query", params={"id": "veo3:1-nothing"}, status=400)
    assert unknown["error"]["code"] == "task_not_exist"
    no_id = api.get("/v1/video/query", status=400)
    assert no_id["error"]["param"] == "id"
    assert api.post(VEO, {"prompt": "x"}, status=400)["error"]["param"] == "model"


# -- MiniMax Hailuo ----------------------------------------------------------------------------------


def test_hailuo_journey_resolves_the_file_id_to_an_mp4(api: Api) -> None:
    submitted = api.post(HAILUO, {"model": "MiniMax-Hailuo-02", "prompt": "a tide pool", "duration": 10})
    assert submitted["base_resp"] == {"status_code": 0, "status_msg": "success"}
    task_id = submitted["task_id"]
    statuses = []
    for _ in range(120):
        query = api.get(HAILUO_QUERY, params={"task_id": task_id})
        statuses.append(query["status"])
        if query["status"] == "Success":
            break
        api.advance(10)
    ordered = list(dict.fromkeys(statuses))
    assert ordered == ["Preparing", "Queueing", "Processing", "Success"]
    # Ten seconds of Hailuo video take several minutes.
    assert api.plan(task_id)[-1]["after_seconds"] > 200
    retrieved = api.get("/minimax/v1/files/retrieve", params={"file_id": query["file_id"]})
    file = retrieved["file"]
    data, content_type = api.download(file["download_url"])
    assert file["bytes"] == len(data) and file["purpose"] == "video_generation"
    info = check_video(data, content_type, aspect=16 / 9, seconds=10)
    assert (info.width, info.height) == (query["video_width"], query["video_height"])


def test_hailuo_checks_duration_and_resolution(api: Api) -> None:
    bad = api.post(HAILUO, {"model": "T2V-01", "prompt": "x", "duration": 0}, status=400)
    assert bad["base_resp"]["status_code"] == 2013 and "duration" in bad["base_resp"]["status_msg"]
    combo = api.post(HAILUO, {"model": "T2V-01", "prompt": "x", "duration": 10, "resolution": "1080P"}, status=400)
    assert "1080P" in combo["base_resp"]["status_msg"]
    sensitive = api.post(HAILUO, {"model": "T2V-01", "prompt": "nsfw-banned"}, status=400)
    assert sensitive["base_resp"]["status_code"] == 1026


def test_hailuo_failures_and_unknown_ids(api: Api) -> None:
    moderated = api.post(HAILUO, {"model": "T2V-01", "prompt": "[mock:moderation]"})["task_id"]
    failed = api.post(HAILUO, {"model": "T2V-01", "prompt": "[mock:fail]"})["task_id"]
    pending_file = "2" + moderated[1:]
    api.advance(3600)
    first = api.get(HAILUO_QUERY, params={"task_id": moderated})
    assert first["status"] == "Fail" and first["base_resp"]["status_code"] == 1027
    second = api.get(HAILUO_QUERY, params={"task_id": failed})
    assert second["status"] == "Fail" and second["file_id"] == ""
    assert api.get("/minimax/v1/files/retrieve", params={"file_id": pending_file}, status=404)["base_resp"]
    assert api.get(HAILUO_QUERY, params={"task_id": "1234"}, status=404)["base_resp"]["status_code"] == 2013


# -- Seedance ----------------------------------------------------------------------------------------


def seedance_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": SEEDANCE_MODEL, "content": [{"type": "text", "text": text}], **extra}


def test_seedance_journey_with_flags_callbacks_and_last_frame(api: Api, callback_receiver: Any) -> None:
    body = seedance_body(
        "a koi pond --ratio 21:9 --duration 10 --seed 7", callback_url=callback_receiver.url, return_last_frame=True
    )
    task_id = api.post(SEEDANCE, body)["id"]
    assert task_id.startswith("cgt-20250615150640-")
    assert api.get(f"{SEEDANCE}/{task_id}")["status"] == "queued"
    api.advance(3600)
    task = api.get(f"{SEEDANCE}/{task_id}")
    assert (task["status"], task["duration"], task["ratio"], task["seed"]) == ("succeeded", 10, "21:9", 7)
    assert task["usage"]["completion_tokens"] > 0 and task["error"] is None
    check_video(*api.download(task["content"]["video_url"]), aspect=21 / 9, seconds=10)
    assert image_info(api.download(task["content"]["last_frame_url"])[0])[0] == "PNG"
    callback_receiver.wait_for(task_id, status="succeeded")
    statuses = [e["body"]["status"] for e in callback_receiver.received if e["body"]["id"] == task_id]
    assert statuses == ["running", "succeeded"]


def test_seedance_image_to_video_and_bad_flags(api: Api) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://e.com/first.png"}, "role": "first_frame"}
    task_id = api.post(SEEDANCE, {"model": SEEDANCE_MODEL, "content": [image]})["id"]
    assert api.get(f"{SEEDANCE}/{task_id}")["ratio"] == "adaptive"
    bad = api.post(SEEDANCE, seedance_body("x --duration 7"), status=400)
    assert bad["error"]["code"] == "InvalidParameter" and bad["error"]["param"] == "content.text.duration"
    empty = api.post(SEEDANCE, {"model": SEEDANCE_MODEL, "content": []}, status=400)
    assert empty["error"]["type"] == "BadRequest"


def test_seedance_failures_and_not_found(api: Api) -> None:
    refused = api.post(SEEDANCE, seedance_body("gore-banned"), status=400)
    assert refused["error"]["code"] == "InputTextSensitiveContentDetected"
    moderated = api.post(SEEDANCE, seedance_body("[mock:moderation]"))["id"]
    failed = api.post(SEEDANCE, seedance_body("[mock:fail]"))["id"]
    api.advance(3600)
    assert api.get(f"{SEEDANCE}/{moderated}")["error"]["code"] == "OutputVideoSensitiveContentDetected"
    assert api.get(f"{SEEDANCE}/{failed}")["error"]["code"] == "InternalServiceError"
    unknown = api.get(f"{SEEDANCE}/cgt-0", status=404)
    assert unknown["error"]["code"] == "ResourceNotFound"
