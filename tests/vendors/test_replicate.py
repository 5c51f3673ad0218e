"""FLUX on Replicate: predictions on the virtual clock, Prefer: wait, webhooks, cancel, errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

import mockserver.clock
from mockserver.app import create_app
from mockserver.families.imagegen import replicate
from mockserver.settings import Settings
from tests.fake_time import FakeTime
from tests.vendors.probes import Api, image_info

BASE = "/replicate/v1/models/black-forest-labs"
KONTEXT_PRO = f"{BASE}/flux-kontext-pro/predictions"
KONTEXT_MAX = f"{BASE}/flux-kontext-max/predictions"
PRO = f"{BASE}/flux-pro/predictions"
AUTH = {"Authorization": "Bearer sk-test"}


def prediction(api: Api, prediction_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/replicate/v1/predictions/{prediction_id}")
    assert body["id"] == prediction_id and body["version"] == "hidden"
    return body


def test_kontext_journey_starting_processing_succeeded(api: Api) -> None:
    created = api.post(
        KONTEXT_PRO, {"input": {"prompt": "make it 3D", "aspect_ratio": "16:9", "output_format": "jpg"}}, status=201
    )
    assert created["status"] == "starting" and created["output"] is None and created["logs"] == ""
    assert created["model"] == "black-forest-labs/flux-kontext-pro"
    assert created["urls"]["get"].endswith(f"/replicate/v1/predictions/{created['id']}")
    assert len(created["id"]) == 26 and created["id"].isalnum()
    plan = api.plan(created["id"])
    assert [step["status"] for step in plan] == ["starting", "processing", "processing", "processing", "succeeded"]
    logs = []
    elapsed = 0.0
    for step in plan[1:]:
        api.advance(step["after_seconds"] - elapsed)
        elapsed = step["after_seconds"]
        body = prediction(api, created["id"])
        assert body["status"] == step["status"]
        logs.append(body["logs"])
    assert [len(log.splitlines()) for log in logs] == [1, 2, 3, 5]
    assert "Generated image" in logs[-1] and "Using seed" in logs[1]
    assert body["metrics"]["image_count"] == 1 and body["completed_at"] >= body["started_at"]
    data, content_type = api.download(body["output"])
    fmt, width, height = image_info(data)
    assert (fmt, content_type) == ("JPEG", "image/jpeg")
    assert abs(width / height - 16 / 9) < 0.03 and 0.8e6 < width * height < 1.3e6


@pytest.mark.parametrize(("path", "fmt"), [(PRO, "WEBP"), (KONTEXT_MAX, "PNG")])
def test_default_output_formats(api: Api, path: str, fmt: str) -> None:
    created = api.post(path, {"input": {"prompt": "a cake"}}, status=201)
    api.advance(60)
    done = prediction(api, created["id"])
    assert done["status"] == "succeeded"
    assert image_info(api.download(done["output"])[0])[0] == fmt


def test_flux_pro_custom_size_rounds_to_32(api: Api) -> None:
    body = {"input": {"prompt": "x", "aspect_ratio": "custom", "width": 1000, "height": 700}}
    created = api.post(PRO, body, status=201)
    api.advance(60)
    _, width, height = image_info(api.download(prediction(api, created["id"])["output"])[0])
    assert (width, height) == (992, 704)


def test_failures_cancel_and_errors(api: Api) -> None:
    flagged = api.post(KONTEXT_PRO, {"input": {"prompt": "[mock:moderation] x"}}, status=201)
    api.advance(60)
    failed = prediction(api, flagged["id"])
    assert failed["status"] == "failed" and "E005" in failed["error"] and failed["output"] is None
    running = api.post(PRO, {"input": {"prompt": "slow"}}, status=201)
    api.advance(2.5)
    canceled = api.post(f"/replicate/v1/predictions/{running['id']}/cancel", None)
    assert canceled["status"] == "canceled" and canceled["completed_at"]
    api.advance(60)
    assert prediction(api, running["id"])["status"] == "canceled"
    invalid = api.post(KONTEXT_PRO, {"input": {"aspect_ratio": "1:1"}}, status=422)
    assert invalid["title"] == "Input validation failed"
    assert invalid["invalid_fields"] == [{"type": "required", "field": "input.prompt", "description": "field required"}]
    assert api.post(KONTEXT_PRO, {"input": {"prompt": "x", "aspect_ratio": "7:1"}}, status=422)["invalid_fields"]
    assert api.get("/replicate/v1/predictions/unknown", status=404)["status"] == 404
    assert api.post(KONTEXT_PRO, {"input": {"prompt": "gore-banned"}}, status=422)["detail"]


def test_webhook_events_filter_limits_the_callbacks(api: Api, callback_receiver: Any) -> None:
    everything = api.post(KONTEXT_PRO, {"input": {"prompt": "a"}, "webhook": callback_receiver.url}, status=201)
    completed_only = api.post(
        KONTEXT_PRO,
        {"input": {"prompt": "b"}, "webhook": callback_receiver.url, "webhook_events_filter": ["completed"]},
        status=201,
    )
    api.advance(60)
    callback_receiver.wait_for(everything["id"], status="succeeded")
    callback_receiver.wait_for(completed_only["id"], status="succeeded")

    def statuses(prediction_id: str) -> list[str]:
        return [e["body"]["status"] for e in callback_receiver.received if e["body"]["id"] == prediction_id]

    assert statuses(everything["id"])[0] == "processing" and statuses(everything["id"])[-1] == "succeeded"
    assert len(statuses(everything["id"])) >= 3
    assert statuses(completed_only["id"]) == ["succeeded"]


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Real time for the emulator's clock and the `Prefer: wait` loop, moving only when that loop sleeps."""
    fake = FakeTime()
    monkeypatch.setattr(mockserver.clock, "time", fake.time_module())
    monkeypatch.setattr(replicate, "time", fake.time_module())
    monkeypatch.setattr(replicate, "asyncio", fake.asyncio_module())
    return fake


@contextlib.contextmanager
def clock_at(speed: float) -> Iterator[TestClient]:
    """An emulator whose clock runs `speed` times (fake) real time (Prefer: wait needs time to pass)."""
    settings = Settings(strict_responses=True, speed=speed, start_time=1_750_000_000.0)
    with TestClient(create_app(settings), headers=AUTH) as client:
        yield client


def test_prefer_wait_answers_when_the_prediction_is_done(fake_time: FakeTime) -> None:
    with clock_at(20.0) as client:
        answer = client.post(KONTEXT_PRO, json={"input": {"prompt": "sync"}}, headers={"Prefer": "wait"})
        assert answer.status_code == 201
        body = answer.json()
        run = client.get(f"/__mock/tasks/{body['id']}").json()["plan"][-1]["after_seconds"]
    assert body["status"] == "succeeded" and body["output"]
    # The prediction needs `run` virtual seconds, `run / 20` real ones: held that long (to one 0.25 s poll),
    # far from the 60 s the header allows.
    assert run / 20 - 0.001 <= fake_time.slept <= run / 20 + 0.25  # plan offsets are rounded to 1 ms


def test_prefer_wait_n_gives_up_after_n_seconds(fake_time: FakeTime) -> None:
    with clock_at(2.0) as client:
        answer = client.post(KONTEXT_MAX, json={"input": {"prompt": "slow"}}, headers={"Prefer": "wait=1"})
        bad = client.post(KONTEXT_MAX, json={"input": {"prompt": "x"}}, headers={"Prefer": "wait=99"})
    # kontext-max needs at least 6 virtual seconds; one real second at 2x covers two.
    assert answer.status_code == 201 and answer.json()["status"] in ("starting", "processing")
    assert 1.0 <= fake_time.slept < 1.01 and len(fake_time.naps) > 1
    assert bad.status_code == 422 and bad.json()["invalid_fields"][0]["field"] == "Prefer"


def test_prefer_wait_with_a_stopped_clock_answers_at_once(fake_time: FakeTime) -> None:
    with clock_at(0.0) as client:
        answer = client.post(PRO, json={"input": {"prompt": "x"}}, headers={"Prefer": "wait=30"})
    assert answer.status_code == 201 and answer.json()["status"] == "starting"
    assert fake_time.slept == 0
