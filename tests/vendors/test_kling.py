"""Kling: text2video, image2video, images and virtual try-on on the virtual clock, failures, callbacks."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.vendors.probes import Api, check_video, image_info

T2V = "/kling/v1/videos/text2video"
I2V = "/kling/v1/videos/image2video"
IMAGES = "/kling/v1/images/generations"
TRYON = "/kling/v1/images/kolors-virtual-try-on"


def submit(api: Api, path: str, body: dict[str, Any]) -> str:
    answer = api.post(path, body)
    assert answer["code"] == 0 and answer["message"] == "SUCCEED"
    data = answer["data"]
    assert data["task_status"] == "submitted"
    assert data["created_at"] == data["updated_at"] == 1_750_000_000_000  # milliseconds
    return str(data["task_id"])


def task(api: Api, path: str, task_id: str) -> dict[str, Any]:
    answer = api.get(f"{path}/{task_id}")
    assert answer["code"] == 0
    data: dict[str, Any] = answer["data"]
    assert data["task_id"] == task_id
    return data


def test_text2video_journey_ends_with_a_vertical_mp4(api: Api) -> None:
    task_id = submit(api, T2V, {"prompt": "a fox in the snow", "aspect_ratio": "9:16", "duration": "10"})
    assert task_id.isdigit() and len(task_id) == 18
    seen = [task(api, T2V, task_id)["task_status"]]
    for _ in range(60):
        api.advance(15)
        data = task(api, T2V, task_id)
        seen.append(data["task_status"])
        if data["task_status"] == "succeed":
            break
    assert seen[0] == "submitted" and "processing" in seen and seen[-1] == "succeed"
    # Kling videos take minutes at --speed 1 (10 s of video: twice as long as 5 s).
    assert 240 <= api.plan(task_id)[-1]["after_seconds"] <= 600
    assert seen.index("processing") > 0 and seen.count("succeed") == 1
    video = data["task_result"]["videos"][0]
    assert video["duration"] == "10.0" and video["id"]
    assert data["updated_at"] > data["created_at"]
    check_video(*api.download(video["url"]), aspect=9 / 16, seconds=10)


def test_image2video_needs_an_image_and_gives_16_9_by_default(api: Api) -> None:
    refused = api.post(I2V, {"prompt": "pan left"}, status=400)
    assert refused["code"] == 1201 and "image" in refused["message"]
    task_id = submit(api, I2V, {"image": "https://example.com/a.jpg", "mode": "pro"})
    api.advance(3600)
    data = task(api, I2V, task_id)
    assert data["task_status"] == "succeed"
    check_video(*api.download(data["task_result"]["videos"][0]["url"]), aspect=16 / 9, seconds=5)
    # The same id under the other action's path is unknown, as it is to Kling.
    assert api.get(f"{T2V}/{task_id}", status=404)["code"] == 1203


def test_image_generation_gives_n_pngs_in_the_aspect_ratio(api: Api) -> None:
    task_id = submit(api, IMAGES, {"prompt": "a lighthouse", "n": 2, "aspect_ratio": "3:4"})
    assert task_id.startswith("Cj")
    assert task(api, IMAGES, task_id)["task_status"] == "submitted"
    finish = api.plan(task_id)[-1]["after_seconds"]
    assert 15 <= finish <= 90  # images take tens of seconds
    api.advance(finish)
    data = task(api, IMAGES, task_id)
    assert data["task_status"] == "succeed"
    images = data["task_result"]["images"]
    assert [i["index"] for i in images] == [0, 1]
    for item in images:
        data_bytes, content_type = api.download(item["url"])
        fmt, width, height = image_info(data_bytes)
        assert (fmt, content_type) == ("PNG", "image/png")
        assert abs(width / height - 3 / 4) < 0.02


def test_virtual_try_on_gives_one_portrait_png(api: Api) -> None:
    refused = api.post(TRYON, {"human_image": "https://example.com/h.jpg"}, status=400)
    assert refused["code"] == 1201 and "cloth_image" in refused["message"]
    task_id = submit(
        api, TRYON, {"human_image": "https://example.com/h.jpg", "cloth_image": "https://example.com/c.jpg"}
    )
    api.advance(120)
    data = task(api, TRYON, task_id)
    assert data["task_status"] == "succeed"
    (image,) = data["task_result"]["images"]
    fmt, width, height = image_info(api.download(image["url"])[0])
    assert fmt == "PNG" and height > width


def test_banned_prompt_is_refused_at_submission_with_code_1301(api: Api) -> None:
    refused = api.post(T2V, {"prompt": "a nsfw-banned scene"}, status=400)
    assert refused["code"] == 1301 and "nsfw-banned" in refused["message"]
    assert api.get("/__mock/tasks")["count"] == 0
    assert api.post(T2V, {"prompt": "[mock:reject] anything"}, status=400)["code"] == 1301


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        ("[mock:moderation]", "Failure to pass the risk control system"),
        ("[mock:fail=GPU fell over]", "GPU fell over"),
    ],
)
def test_failure_paths_fail_while_processing(api: Api, marker: str, reason: str) -> None:
    task_id = submit(api, T2V, {"prompt": f"a cat {marker}"})
    plan = api.plan(task_id)
    assert [s["status"] for s in plan] == ["submitted", "processing", "failed"]
    api.advance(plan[1]["after_seconds"])
    assert task(api, T2V, task_id)["task_status"] == "processing"
    api.advance(plan[-1]["after_seconds"] - plan[1]["after_seconds"])
    data = task(api, T2V, task_id)
    assert data["task_status"] == "failed" and data["task_status_msg"] == reason
    assert "task_result" not in data


def test_a_fault_rule_picks_the_failure_path(api: Api) -> None:
    rule = {"operation": "kling_text2video_submit", "scenario": "fail", "message": "upstream exploded", "times": 1}
    api.post("/__mock/faults", rule, status=201)
    failing = submit(api, T2V, {"prompt": "a cat"})
    healthy = submit(api, T2V, {"prompt": "a cat"})
    api.advance(3600)
    assert task(api, T2V, failing)["task_status_msg"] == "upstream exploded"
    assert task(api, T2V, healthy)["task_status"] == "succeed"


def test_bad_input_and_unknown_ids_answer_in_klings_envelope(api: Api) -> None:
    missing = api.post(T2V, {"aspect_ratio": "16:9"}, status=400)
    assert missing["code"] == 1201 and "prompt" in missing["message"] and missing["request_id"]
    camera = api.post(T2V, {"prompt": "x", "camera_control": {"type": "sideways"}}, status=400)
    assert "camera_control.type" in camera["message"]
    wrong_ratio = api.post(T2V, {"prompt": "x", "aspect_ratio": "5:1"}, status=400)
    assert "aspect_ratio" in wrong_ratio["message"]
    for path in (T2V, I2V, IMAGES, TRYON):
        unknown = api.get(f"{path}/123456789", status=404)
        assert unknown["code"] == 1203 and "123456789" in unknown["message"]


def test_tasks_are_private_to_the_key_that_made_them(api: Api, client: TestClient) -> None:
    task_id = submit(api, T2V, {"prompt": "mine"})
    other = client.get(f"{T2V}/{task_id}", headers={"Authorization": "Bearer sk-someone-else"})
    assert other.status_code == 404 and other.json()["code"] == 1203


def test_gateway_refusals_use_the_openai_envelope(client: TestClient) -> None:
    answer = client.post(T2V, json={"prompt": "x"}, headers={"Authorization": ""})
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "new_api_error"


def test_callback_url_receives_every_status_change_in_order(api: Api, callback_receiver: Any) -> None:
    task_id = submit(api, T2V, {"prompt": "a heron", "callback_url": callback_receiver.url, "external_task_id": "e-1"})
    api.advance(3600)
    done = callback_receiver.wait_for(task_id, status="succeed", timeout=10)
    bodies = [e["body"] for e in callback_receiver.received if e["body"]["task_id"] == task_id]
    assert [b["task_status"] for b in bodies] == ["processing", "succeed"]
    assert done["body"]["task_result"]["videos"][0]["url"].endswith(".mp4")
    assert done["body"]["task_info"]["external_task_id"] == "e-1"
    log = api.get("/__mock/callbacks", params={"task": task_id})
    assert [(e["status"], e["ok"]) for e in log["callbacks"]] == [("processing", True), ("succeed", True)]


def test_docs_envelope_is_the_default_and_the_gateway_alternative_is_recorded(api: Api) -> None:
    """Sources disagree (issue 15): YEScale's docs relay Kling's envelope, the current new-api source
    answers an OpenAI video object. The emulator follows the docs; the other shape sits in the
    contract's provenance, distinct enough that `mockserver verify` on a recording tells them apart."""
    import jsonschema_rs

    from mockserver.contracts import Contracts

    contracts = Contracts().compile()
    task_id = str(api.post(T2V, {"prompt": "a fox"})["data"]["task_id"])
    answers = {
        "kling_text2video_submit": api.post(T2V, {"prompt": "a fox"}),
        "kling_text2video_get": api.get(f"{T2V}/{task_id}"),
    }
    openai_video = {
        "id": "task_1",
        "object": "video",
        "model": "kling-v1",
        "status": "queued",
        "progress": 0,
        "created_at": 1,
    }
    for operation in (
        "kling_text2video_submit",
        "kling_text2video_get",
        "kling_image2video_submit",
        "kling_image2video_get",
    ):
        contract = contracts.get(operation)
        (alternative,) = contract.raw["provenance"]["alternatives"]
        other = jsonschema_rs.validator_for(alternative["body"])
        assert other.is_valid(openai_video) and contract.validate_response(200, openai_video) != []
        if operation in answers:
            answer = answers[operation]
            assert contract.validate_response(200, answer) == []
            assert not other.is_valid(answer)  # the emulator answers the docs' shape, not the alternative
