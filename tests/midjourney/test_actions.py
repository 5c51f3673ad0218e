"""Follow-ups on finished jobs: change, simple-change, action (every button kind), modal confirmations,
describe and shorten suggestions, and the errors new-api answers for bad parents and customIds."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.midjourney.mj_helpers import Mj, PNG_1x1


def finished_grid(mj: Mj, prompt: str = "cat") -> dict[str, object]:
    return mj.finish(mj.imagine(prompt))


def size_of(mj: Mj, url: str) -> tuple[int, int]:
    response = mj.get(url)
    assert response.status_code == 200, response.text
    with Image.open(io.BytesIO(response.content)) as image:
        return image.size


def test_change_and_simple_change_map_to_children(mj: Mj) -> None:
    grid = finished_grid(mj, "cat --ar 16:9")
    task_id = str(grid["id"])
    up = mj.submit("/mj/submit/change", {"taskId": task_id, "action": "UPSCALE", "index": 3})["result"]
    var = mj.submit("/mj/submit/simple-change", {"content": f"{task_id} V2"})["result"]
    reroll = mj.submit("/mj/submit/simple-change", {"content": f" {task_id}  r "})["result"]
    upscaled, varied, rerolled = mj.finish(up), mj.finish(var), mj.finish(reroll)
    assert [t["action"] for t in (upscaled, varied, rerolled)] == ["UPSCALE", "VARIATION", "REROLL"]
    assert upscaled["customId"] == "" and upscaled["prompt"] == "cat --ar 16:9"
    assert size_of(mj, str(grid["imageUrl"])) == (1024, 576)
    assert size_of(mj, upscaled["imageUrl"]) == (1024, 576)
    assert size_of(mj, varied["imageUrl"]) == (1024, 576)
    # UPSCALE children are not grids: /change refuses them (midjourney-proxy), /action has their buttons
    refused = mj.submit("/mj/submit/change", {"taskId": up, "action": "VARIATION", "index": 1})
    assert (refused["code"], refused["description"]) == (4, "关联任务不允许执行变化")
    assert mj.submit("/mj/submit/simple-change", {"content": f"{task_id} U5"})["description"] == "content参数错误"
    missing_index = mj.post("/mj/submit/change", {"taskId": task_id, "action": "UPSCALE"})
    assert missing_index.status_code == 400 and "index" in missing_index.json()["description"]


def test_parent_and_custom_id_errors_are_new_api_relay_errors(mj: Mj) -> None:
    running = mj.imagine("cat")
    not_done = mj.post("/mj/submit/action", {"taskId": running, "customId": "MJ::JOB::upsample::1::x"})
    assert not_done.status_code == 400
    assert not_done.json() == {"description": "task_status_not_success ", "type": "upstream_error", "code": 4}
    unknown = mj.post("/mj/submit/change", {"taskId": "1", "action": "REROLL"})
    assert unknown.status_code == 400 and unknown.json()["description"] == "task_not_found "
    grid = finished_grid(mj)
    job = mj.button(grid, "U1").rsplit("::", 1)[1]
    foreign = mj.post("/mj/submit/action", {"taskId": grid["id"], "customId": "MJ::JOB::upsample::1::another-job"})
    assert (
        foreign.status_code == 400
        and foreign.json()["description"] == "unknown_action:MJ::JOB::upsample::1::another-job "
    )
    bookmark = mj.post("/mj/submit/action", {"taskId": grid["id"], "customId": f"MJ::BOOKMARK::{job}"})
    assert bookmark.status_code == 400 and bookmark.json()["description"].startswith("unknown_action:")
    empty = mj.post("/mj/submit/action", {"taskId": grid["id"], "customId": " "})
    assert empty.status_code == 400 and empty.json()["description"] == "custom_id_is_required "
    missing = mj.post("/mj/submit/action", {"taskId": grid["id"]})
    assert missing.status_code == 400 and "customId" in missing.json()["description"]
    # another key's task is not found (tasks are per user at the gateway)
    other = mj.client.post(
        "/mj/submit/action",
        json={"taskId": grid["id"], "customId": mj.button(grid, "U1")},
        headers={"Authorization": "Bearer sk-other"},
    )
    assert other.status_code == 400 and other.json()["description"] == "task_not_found "
    assert (
        mj.client.get(f"/mj/task/{grid['id']}/fetch", headers={"Authorization": "Bearer sk-other"}).status_code == 400
    )


@pytest.mark.parametrize(
    ("label", "action"),
    [
        ("Upscale (Subtle)", "UPSCALE"),
        ("Upscale (Creative)", "UPSCALE"),
        ("Vary (Subtle)", "LOW_VARIATION"),
        ("Vary (Strong)", "HIGH_VARIATION"),
        ("Zoom Out 2x", "ZOOM"),
        ("Zoom Out 1.5x", "ZOOM"),
        ("⬅️", "PAN"),
        ("⬇️", "PAN"),
    ],
)
def test_every_upscale_button_makes_the_right_child(mj: Mj, label: str, action: str) -> None:
    grid = finished_grid(mj, "cat --v 7")
    upscaled = mj.finish(mj.action(str(grid["id"]), mj.button(grid, "U2"))["result"])
    assert mj.button(upscaled, "Upscale (Subtle)").startswith("MJ::JOB::upsample_v7_2x_subtle::1::")
    answer = mj.action(upscaled["id"], mj.button(upscaled, label))
    assert answer["code"] == 1
    child = mj.finish(answer["result"])
    assert (child["action"], child["status"]) == (action, "SUCCESS")
    if label.startswith("Upscale"):
        assert size_of(mj, child["imageUrl"]) == (2048, 2048)
        assert not any(b["label"].startswith("Upscale") for b in child["buttons"])
    else:
        assert [b["label"] for b in child["buttons"]][:4] == ["U1", "U2", "U3", "U4"]


def test_custom_zoom_and_vary_region_go_through_the_modal(mj: Mj) -> None:
    grid = finished_grid(mj)
    upscaled = mj.finish(mj.action(str(grid["id"]), mj.button(grid, "U1"))["result"])
    zoom = mj.action(upscaled["id"], mj.button(upscaled, "Custom Zoom"))
    assert (zoom["code"], zoom["description"]) == (21, "窗口等待")
    waiting = mj.fetch(zoom["result"])
    assert (waiting["status"], waiting["action"], waiting["progress"]) == ("MODAL", "CUSTOM_ZOOM", "0%")
    for bad in ("cat", "cat --zoom 2.5", "cat --zoom x"):
        answer = mj.submit("/mj/submit/modal", {"taskId": zoom["result"], "prompt": bad})
        assert answer["code"] == 4 and "--zoom" in answer["description"]
    confirmed = mj.submit("/mj/submit/modal", {"taskId": zoom["result"], "prompt": "cat --zoom 1.5"})
    assert (confirmed["code"], confirmed["result"]) == (1, zoom["result"])
    assert mj.fetch(zoom["result"])["status"] == "MODAL"  # confirmed now; the worker starts soon
    done = mj.finish(zoom["result"])
    assert (done["status"], done["prompt"]) == ("SUCCESS", "cat --zoom 1.5")
    again = mj.submit("/mj/submit/modal", {"taskId": zoom["result"], "prompt": "cat --zoom 1.2"})
    assert (again["code"], again["description"]) == (4, "关联任务状态错误")

    region = mj.action(upscaled["id"], mj.button(upscaled, "Vary (Region)"))
    assert region["code"] == 21
    no_mask = mj.submit("/mj/submit/modal", {"taskId": region["result"], "prompt": "a hat"})
    assert no_mask["code"] == 4 and "maskBase64" in no_mask["description"]
    assert (
        mj.submit("/mj/submit/modal", {"taskId": region["result"], "prompt": "a hat", "maskBase64": PNG_1x1})["code"]
        == 1
    )
    inpainted = mj.finish(region["result"])
    assert (inpainted["action"], inpainted["status"], inpainted["prompt"]) == ("INPAINT", "SUCCESS", "a hat")
    assert mj.post("/mj/submit/modal", {"taskId": "404"}).status_code == 400


def test_an_unconfirmed_modal_times_out_at_the_gateway_after_an_hour(mj: Mj) -> None:
    grid = finished_grid(mj)
    upscaled = mj.finish(mj.action(str(grid["id"]), mj.button(grid, "U1"))["result"])
    zoom = mj.action(upscaled["id"], mj.button(upscaled, "Custom Zoom"))["result"]
    mj.advance(3599)
    assert mj.fetch(zoom)["status"] == "MODAL"
    mj.advance(2)
    expired = mj.fetch(zoom)
    assert (expired["status"], expired["failReason"]) == ("FAILURE", "上游任务超时（超过1小时）")


def test_describe_offers_four_prompts_and_imagines_one(mj: Mj) -> None:
    answer = mj.submit("/mj/submit/describe", {"botType": "MID_JOURNEY", "base64": PNG_1x1})
    assert answer["code"] == 1
    running = mj.fetch(answer["result"])
    # properties stay null until the gateway has polled the upstream (coverMidjourneyTaskDto)
    assert running["action"] == "DESCRIBE" and running["properties"] is None
    done = mj.finish(answer["result"])
    lines = done["properties"]["finalPrompt"].split("\n\n")
    assert len(lines) == 4 and lines[0].startswith("1️⃣ ") and lines[3].startswith("4️⃣ ")
    assert done["prompt"] == done["properties"]["finalPrompt"]
    uploaded = mj.get(done["imageUrl"])
    assert uploaded.content.startswith(b"\x89PNG") and len(uploaded.content) < 200  # the picture described
    assert [b["emoji"] for b in done["buttons"]] == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "🔄"]
    pick = mj.action(done["id"], "MJ::Job::PicReader::2")
    assert pick["code"] == 1 and mj.fetch(pick["result"])["status"] == "MODAL"
    assert mj.submit("/mj/submit/modal", {"taskId": pick["result"], "prompt": ""})["code"] == 1
    imagined = mj.finish(pick["result"])
    assert imagined["action"] == "IMAGINE" and imagined["prompt"] == lines[1].removeprefix("2️⃣ ")
    assert len(imagined["buttons"]) == 9
    retry = mj.finish(mj.action(done["id"], "MJ::Picread::Retry")["result"])
    assert retry["action"] == "DESCRIBE" and retry["properties"]["finalPrompt"] != done["properties"]["finalPrompt"]


def test_shorten_offers_shorter_prompts(mj: Mj) -> None:
    prompt = "a very beautiful and highly detailed painting of an old lighthouse on a cliff --ar 3:2"
    done = mj.finish(mj.submit("/mj/submit/shorten", {"prompt": prompt, "botType": "MID_JOURNEY"})["result"])
    assert done["action"] == "SHORTEN" and done["prompt"] == prompt
    options = [line.split(" ", 1)[1] for line in done["properties"]["finalPrompt"].split("\n\n")]
    assert len(options) == 5 and all(o.endswith("--ar 3:2") for o in options)
    assert all(len(o) < len(prompt) for o in options) and len(options[-1]) < len(options[0])
    assert "very" not in options[0].split()
    pick = mj.action(done["id"], "MJ::PromptAnalyzer::3")
    mj.submit("/mj/submit/modal", {"taskId": pick["result"], "prompt": "lighthouse, storm"})
    assert mj.finish(pick["result"])["prompt"] == "lighthouse, storm"
