"""What every video, music and async-image vendor guarantees: coverage, envelopes, bad input, --instant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.contracts import load_contracts
from mockserver.settings import Settings

AUTH = {"Authorization": "Bearer sk-test"}

DOCS_ENTRIES = {
    "kling_text2video_submit", "kling_text2video_get", "kling_image2video_submit", "kling_image2video_get",
    "kling_image_submit", "kling_image_get", "kolors_tryon_submit", "kolors_tryon_get",
    "runway_image_to_video_submit", "runway_task_get", "luma_generations_submit", "luma_generations_get",
    "pika_generate_submit", "pika_feed_get", "veo_submit", "veo_submit_frames", "veo_get",
    "minimax_hailuo_submit", "minimax_hailuo_get", "seedance_submit", "seedance_get",
    "suno_generate_inspiration", "suno_generate_custom", "suno_generate_continuation", "suno_generate_lyrics",
    "suno_fetch", "suno_illustrate", "suno_parameters",
    "replicate_flux_kontext_pro", "replicate_flux_kontext_max", "replicate_flux_pro", "replicate_prediction_get",
}  # fmt: skip
FAMILIES = ("kling", "runway", "luma", "pika", "veo", "minimax", "seedance", "suno", "replicate")

# (path of a lookup with an unknown id, expected status, a check of the vendor's own not-found shape)
UNKNOWN: list[tuple[str, int, Any]] = [
    ("/kling/v1/videos/text2video/404", 404, lambda b: b["code"] == 1203),
    ("/kling/v1/images/kolors-virtual-try-on/404", 404, lambda b: b["code"] == 1203),
    ("/runwayml/v1/tasks/404", 404, lambda b: b == {"error": "Task not found"}),
    ("/luma/generations/404", 400, lambda b: b["code"] == "task_not_exist"),
    ("/pika/feed/404", 400, lambda b: b["code"] == "task_not_exist"),
    ("/v1/video/query?id=404", 400, lambda b: b["error"]["code"] == "task_not_exist"),
    ("/minimax/v1/query/video_generation?task_id=404", 404, lambda b: b["base_resp"]["status_code"] == 2013),
    ("/minimax/v1/files/retrieve?file_id=404", 404, lambda b: b["base_resp"]["status_code"] == 2013),
    ("/seedance/generations/404", 404, lambda b: b["error"]["code"] == "ResourceNotFound"),
    ("/suno/fetch/404", 400, lambda b: b == {"code": "task_not_exist", "message": "task_not_exist", "data": None}),
    ("/replicate/v1/predictions/404", 404, lambda b: b["detail"] == "Not found."),
]

# One submit per vendor, with a body that is valid JSON but not an object.
SUBMITS = [
    ("/kling/v1/videos/text2video", lambda b: b["code"] in (1200, 1201)),
    ("/runwayml/v1/image_to_video", lambda b: "error" in b),
    ("/luma/generations", lambda b: b["code"] == "invalid_request"),
    ("/pika/generate", lambda b: b["code"] == "invalid_request"),
    ("/v1/video/create", lambda b: b["error"]["type"] == "invalid_request_error"),
    ("/minimax/v1/video_generation", lambda b: b["base_resp"]["status_code"] == 2013),
    ("/seedance/generations", lambda b: b["error"]["code"] == "InvalidParameter"),
    ("/suno/submit/music", lambda b: b["code"] == "invalid_request"),
    (
        "/replicate/v1/models/black-forest-labs/flux-pro/predictions",
        lambda b: b["status"] in (415, 422) and b["detail"],
    ),
]


def test_every_docs_entry_is_attached_to_a_contract_of_these_families() -> None:
    contracts = [c for c in load_contracts() if c.vendor in FAMILIES]
    attached = {entry for c in contracts for entry in c.docs_entries}
    assert attached >= DOCS_ENTRIES
    for contract in contracts:
        assert contract.raw.get("task") is not None or not contract.docs_entries, contract.id
        assert "4XX" in contract.raw["responses"], contract.id


@pytest.mark.parametrize(("path", "status", "check"), UNKNOWN, ids=[u[0] for u in UNKNOWN])
def test_unknown_ids_get_the_vendors_not_found(client: TestClient, path: str, status: int, check: Any) -> None:
    answer = client.get(path)
    assert answer.status_code == status, answer.text
    assert check(answer.json()), answer.text


@pytest.mark.parametrize(("path", "check"), SUBMITS, ids=[s[0] for s in SUBMITS])
def test_malformed_bodies_get_a_4xx_in_the_vendors_envelope(client: TestClient, path: str, check: Any) -> None:
    for content, headers in (
        ("[1, 2]", {"Content-Type": "application/json"}),
        ("{not json", {"Content-Type": "application/json"}),
        ("", {"Content-Type": "application/json"}),
    ):
        answer = client.post(path, content=content, headers=headers)
        assert 400 <= answer.status_code < 500, answer.text
        assert check(answer.json()), answer.text
    wrong_type = client.post(path, content="a=1", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415 and check(wrong_type.json())


@pytest.mark.parametrize("path", [p for p, _ in SUBMITS])
def test_a_missing_key_is_refused_by_the_gateway(client: TestClient, path: str) -> None:
    answer = client.post(path, json={}, headers={"Authorization": ""})
    assert answer.status_code == 401
    assert answer.json()["error"]["message"].endswith(")")  # "... (request id: ...)"


@pytest.fixture
def instant() -> Iterator[TestClient]:
    settings = Settings(strict_responses=True, speed=0.0, instant=True, start_time=1_750_000_000.0)
    with TestClient(create_app(settings), headers=AUTH) as client:
        yield client


def test_instant_mode_finishes_every_vendor_at_submission(instant: TestClient) -> None:
    kling = instant.post("/kling/v1/videos/text2video", json={"prompt": "x"}).json()["data"]
    assert kling["task_status"] == "succeed" and kling["task_result"]["videos"]
    suno = instant.post("/suno/submit/music", json={"gpt_description_prompt": "x"}).json()["data"]
    assert instant.get(f"/suno/fetch/{suno}").json()["data"]["status"] == "SUCCESS"
    luma = instant.post("/luma/generations", json={"user_prompt": "x"}).json()
    assert luma["state"] == "completed"
    replicate = instant.post(
        "/replicate/v1/models/black-forest-labs/flux-pro/predictions", json={"input": {"prompt": "x"}}
    )
    assert replicate.json()["status"] == "succeeded"
    tasks = instant.get("/__mock/tasks").json()
    assert tasks["count"] == 4 and {t["phase"] for t in tasks["tasks"]} == {"succeeded"}


def test_same_seed_same_answers(settings: Settings) -> None:
    bodies = []
    for _ in range(2):
        with TestClient(create_app(settings), headers=AUTH) as client:
            task_id = client.post("/kling/v1/videos/text2video", json={"prompt": "same"}).json()["data"]["task_id"]
            client.post("/__mock/clock/advance", json={"seconds": 3600})
            bodies.append(client.get(f"/kling/v1/videos/text2video/{task_id}").json()["data"])
    assert bodies[0] == bodies[1]


def test_strict_models_refuses_unknown_models_like_the_gateway() -> None:
    settings = Settings(strict_responses=True, speed=0.0, strict_models=True, start_time=1_750_000_000.0)
    with TestClient(create_app(settings), headers=AUTH) as client:
        unknown = client.post("/kling/v1/videos/text2video", json={"prompt": "x", "model_name": "kling-v99"})
        assert unknown.status_code == 503 and unknown.json()["error"]["code"] == "model_not_found"
        known = client.post("/kling/v1/videos/text2video", json={"prompt": "x", "model_name": "kling-v2-master"})
        assert known.status_code == 200
        suno = client.post("/suno/submit/music", json={"gpt_description_prompt": "x", "mv": "chirp-v9"})
        # a distribution refusal is the gateway's own error: abortWithOpenAiMessage has no `param` slot
        assert suno.status_code == 503 and "chirp-v9" in suno.json()["error"]["message"]
        assert suno.json()["error"]["type"] == "new_api_error" and "param" not in suno.json()["error"]
