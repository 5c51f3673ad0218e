"""The whole Midjourney user journey against a live emulator with a real loopback callback receiver:
imagine exactly as the YEScale docs show it, watch the task while advancing the clock, download the 2×2
grid, press U1 / V1 / reroll, download the upscale; every transition arrives as a callback, in order."""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from mockserver.contracts import load_contracts
from tests.tasks.helpers import Live, Receiver, live_emulator, running_receiver

CONTRACTS = load_contracts()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def mj(receiver: Receiver) -> Iterator[Live]:
    with live_emulator() as live:
        yield live


def image_of(live: Live, url: str) -> Image.Image:
    response = live.http.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    return image


def press(live: Live, task_id: str, custom_id: str, hook: str) -> str:
    answer = live.post("/mj/submit/action", {"taskId": task_id, "customId": custom_id, "notifyHook": hook}).json()
    assert answer["code"] == 1, answer
    assert answer["description"] == "Submit success"
    return str(answer["result"])


def expected_transitions(live: Live, task_id: str) -> list[tuple[str, str]]:
    """(status, progress) of every planned step after submission, as the callbacks must carry them."""
    out = []
    for step in live.plan(task_id)[1:]:
        # midjourney-proxy's own Task: "100%" on success, "" once failed (Task.fail)
        progress = {"succeeded": "100%", "failed": ""}.get(step["phase"], f"{step['progress']}%")
        out.append((step["status"], progress))
    return out


def assert_called_back_in_order(live: Live, receiver: Receiver, task_id: str) -> list[dict[str, Any]]:
    expected = expected_transitions(live, task_id)
    bodies = receiver.wait_until(lambda got: sum(b["id"] == task_id for b in got) >= len(expected))
    mine = [b for b in bodies if b["id"] == task_id]
    assert [(b["status"], b["progress"]) for b in mine] == expected
    contract = CONTRACTS.get("mj_submit_imagine")
    for body in mine:
        assert contract.validate_named("callback", body) == []
    return mine


def test_imagine_to_upscale_journey(mj: Live, receiver: Receiver) -> None:
    # 1. Submit exactly as the YEScale docs page shows (plus our receiver as notifyHook).
    body = {"base64Array": [], "notifyHook": receiver.url, "prompt": "cat", "state": "", "botType": "MID_JOURNEY"}
    submitted = mj.post("/mj/submit/imagine", body)
    assert submitted.status_code == 200
    answer = submitted.json()
    assert answer["code"] == 1 and answer["description"] == "Submit success"
    assert set(answer["properties"]) == {"discordChannelId", "discordInstanceId"}
    task_id = answer["result"]
    assert task_id.isdigit() and len(task_id) == 16

    # 2. Watch it while advancing the virtual clock: statuses in lifecycle order, progress rising.
    first = mj.fetch(task_id)
    assert (first["status"], first["progress"], first["imageUrl"], first["buttons"]) == ("NOT_START", "0%", "", None)
    seen: list[tuple[str, int]] = []
    for _ in range(200):
        task = mj.fetch(task_id)
        progress = int(task["progress"].rstrip("%"))
        if not seen or seen[-1] != (task["status"], progress):
            seen.append((task["status"], progress))
        if task["status"] == "IN_PROGRESS" and progress > 0:
            assert "?rand=" in task["imageUrl"]
            preview = image_of(mj, task["imageUrl"])
            assert preview.size == (512, 512)
        if task["status"] == "SUCCESS":
            break
        mj.advance(2)
    order = {"NOT_START": 0, "SUBMITTED": 1, "IN_PROGRESS": 2, "SUCCESS": 3}
    assert seen[0][0] == "NOT_START" and seen[-1] == ("SUCCESS", 100)
    assert [order[s] for s, _ in seen] == sorted(order[s] for s, _ in seen)
    progresses = [p for s, p in seen if s == "IN_PROGRESS"]
    assert progresses == sorted(progresses) and len(progresses) >= 3
    steps = {b - a for a, b in itertools.pairwise(progresses)}
    assert len(steps) > 1, "progress steps should be irregular"

    # 3. The finished grid: a real 1024x1024 PNG, nine buttons with Discord's customIds.
    done = mj.fetch(task_id)
    assert done["progress"] == "100%" and done["finishTime"] > done["startTime"] > done["submitTime"]
    assert done["imageUrl"] == f"{mj.url}/mj/image/{task_id}"
    grid = image_of(mj, done["imageUrl"]).convert("RGB")
    assert grid.size == (1024, 1024)
    labels = [b["label"] or b["emoji"] for b in done["buttons"]]
    assert labels == ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]
    job = done["buttons"][0]["customId"].rsplit("::", 1)[1]
    assert done["buttons"][0]["customId"] == f"MJ::JOB::upsample::1::{job}"
    assert done["buttons"][4]["customId"] == f"MJ::JOB::reroll::0::{job}::SOLO"
    assert done["buttons"][5]["customId"] == f"MJ::JOB::variation::1::{job}"
    imagine_callbacks = assert_called_back_in_order(mj, receiver, task_id)
    # the callback is midjourney-proxy's Task (it posts to the notifyHook itself), not the gateway's DTO
    last = imagine_callbacks[-1]
    assert list(last) == [
        "id", "properties", "action", "status", "prompt", "promptEn", "description", "state",
        "submitTime", "startTime", "finishTime", "imageUrl", "progress", "failReason",
    ]  # fmt: skip
    shared = ("id", "action", "status", "prompt", "promptEn", "submitTime", "startTime", "finishTime", "imageUrl")
    assert {k: last[k] for k in shared} == {k: done[k] for k in shared}
    assert (last["description"], last["failReason"], last["progress"]) == ("/imagine cat", None, "100%")
    assert last["properties"]["notifyHook"] == receiver.url and last["properties"]["messageHash"] == job
    assert last["properties"]["discordInstanceId"] == answer["properties"]["discordInstanceId"]
    assert imagine_callbacks[0]["progress"] == "0%" or imagine_callbacks[0]["status"] != "NOT_START"

    # 4. U1, V1 and reroll through /mj/submit/action.
    u1 = press(mj, task_id, done["buttons"][0]["customId"], receiver.url)
    v1 = press(mj, task_id, done["buttons"][5]["customId"], receiver.url)
    reroll = press(mj, task_id, done["buttons"][4]["customId"], receiver.url)
    upscaled, varied, rerolled = mj.finish(u1), mj.finish(v1), mj.finish(reroll)
    assert (upscaled["action"], varied["action"], rerolled["action"]) == ("UPSCALE", "VARIATION", "REROLL")
    assert all(t["status"] == "SUCCESS" for t in (upscaled, varied, rerolled))
    # coverMidjourneyTaskDto never copies customId or botType: both read "" on every fetch
    assert (upscaled["customId"], upscaled["botType"], upscaled["prompt"]) == ("", "", "cat")
    assert [b["label"] for b in upscaled["buttons"][:2]] == ["Upscale (Subtle)", "Upscale (Creative)"]
    assert any(b["customId"].startswith("MJ::CustomZoom::") for b in upscaled["buttons"])
    assert [b["label"] for b in varied["buttons"]][:4] == ["U1", "U2", "U3", "U4"]

    # 5. The upscale is tile 1 of the grid, bigger.
    big = image_of(mj, upscaled["imageUrl"]).convert("RGB")
    assert big.size == (1024, 1024)
    tile = grid.crop((0, 0, 512, 512))
    difference = ImageStat.Stat(ImageChops.difference(big.resize((512, 512)), tile)).mean
    assert max(difference) < 12, difference
    other_tile = grid.crop((512, 0, 1024, 512))
    assert max(ImageStat.Stat(ImageChops.difference(big.resize((512, 512)), other_tile)).mean) > max(difference)
    assert image_of(mj, varied["imageUrl"]).size == (1024, 1024)

    for child in (u1, v1, reroll):
        assert_called_back_in_order(mj, receiver, child)
    # The receiver holds a body before the dispatcher has logged its answer: poll the log briefly.
    deadline = time.monotonic() + 10
    log = mj.get("/__mock/callbacks").json()
    while log["delivered"] < len(receiver.bodies) and time.monotonic() < deadline:
        time.sleep(0.02)
        log = mj.get("/__mock/callbacks").json()
    assert log["failed"] == 0 and log["delivered"] == len(receiver.bodies)
    assert all(e["ok"] and e["attempt"] == 1 and e["http_status"] == 200 for e in log["callbacks"])
    assert {e["task"] for e in log["callbacks"]} == {task_id, u1, v1, reroll}


def test_control_api_lists_tasks_with_views(mj: Live) -> None:
    task_id = mj.post("/mj/submit/imagine", {"prompt": "dog", "botType": "MID_JOURNEY"}).json()["result"]
    listed = mj.get("/__mock/tasks").json()
    assert listed["count"] == 1
    (entry,) = listed["tasks"]
    assert (entry["id"], entry["vendor"], entry["kind"], entry["status"]) == (
        task_id,
        "midjourney",
        "IMAGINE",
        "NOT_START",
    )
    assert entry["view"]["id"] == task_id
    detail = mj.get(f"/__mock/tasks/{task_id}").json()
    assert detail["plan"][0]["status"] == "NOT_START" and detail["plan"][-1]["status"] == "SUCCESS"
    assert 25 <= detail["plan"][-1]["after_seconds"] <= 90
    assert mj.get("/__mock/tasks?status=succeeded").json()["count"] == 0
    mj.finish(task_id)
    assert mj.get("/__mock/tasks?status=SUCCESS").json()["count"] == 1
    assert mj.get("/__mock/tasks/nope").status_code == 404
    assert mj.get("/__mock/tasks?limit=x").status_code == 400
    assert mj.post("/__mock/reset", {}).json() == {"reset": True}
    assert mj.get("/__mock/tasks").json()["count"] == 0
    assert mj.get(f"/mj/task/{task_id}/fetch").status_code == 400
