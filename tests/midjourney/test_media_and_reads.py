"""Blend, upload, face swap and video jobs, and the read side: fetch, list-by-condition, image-seed,
`/mj/image/{id}` and the `/mj-fast`, `/mj-relax`, `/mj-turbo` prefixes."""

from __future__ import annotations

import io

import av
import pytest
from PIL import Image

from mockserver.contracts import load_contracts
from tests.midjourney.mj_helpers import Mj, PNG_1x1

WIDE_PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAD0lEQVR4nGM8wcXFwMAAAAUYAN5kz/nyAAAAAElFTkSuQmCC"
)


def image_size(mj: Mj, url: str) -> tuple[int, int]:
    response = mj.get(url)
    assert response.status_code == 200, response.text
    with Image.open(io.BytesIO(response.content)) as image:
        return image.size


def test_blend_dimensions_shape_the_grid(mj: Mj) -> None:
    answer = mj.submit("/mj/submit/blend", {"base64Array": [PNG_1x1, PNG_1x1, PNG_1x1], "dimensions": "PORTRAIT"})
    done = mj.finish(answer["result"])
    assert (done["action"], done["status"], len(done["buttons"])) == ("BLEND", "SUCCESS", 9)
    assert image_size(mj, done["imageUrl"]) == (688, 1024)


def test_upload_returns_links_to_the_same_bytes(mj: Mj) -> None:
    answer = mj.submit("/mj/submit/upload-discord-images", {"base64Array": [PNG_1x1, WIDE_PNG]})
    assert answer["code"] == 1 and len(answer["result"]) == 2
    first = mj.get(answer["result"][0])
    assert first.headers["content-type"] == "image/png" and first.content.startswith(b"\x89PNG")
    assert image_size(mj, answer["result"][1]) == (2, 1)
    upload_id = answer["result"][0].rsplit("/", 1)[1]
    assert mj.fetch(upload_id)["action"] == "UPLOAD" and mj.fetch(upload_id)["status"] == "SUCCESS"


def test_face_swap_yields_one_image(mj: Mj) -> None:
    answer = mj.submit("/mj/insight-face/swap", {"sourceBase64": PNG_1x1, "targetBase64": WIDE_PNG})
    done = mj.finish(answer["result"])
    assert (done["action"], done["status"], done["buttons"]) == ("SWAP_FACE", "SUCCESS", [])
    width, height = image_size(mj, done["imageUrl"])
    assert width == 2 * height


def test_video_and_extend(mj: Mj) -> None:
    body = {
        "prompt": "tulip opening",
        "motion": "high",
        "image": WIDE_PNG,
        "batchSize": 2,
        "notifyHook": "",
        "state": "9",
    }
    answer = mj.submit("/mj/submit/video", body)
    assert answer["code"] == 1
    plan = mj.plan(answer["result"])
    assert plan[-1]["after_seconds"] > 45
    done = mj.finish(answer["result"])
    assert (done["action"], done["state"], len(done["videoUrls"])) == ("VIDEO", "9", 2)
    assert done["videoUrl"] == done["videoUrls"][0]["url"]
    clip = mj.get(done["videoUrl"].removeprefix("http://127.0.0.1:8080"))
    assert clip.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(clip.content)) as container:
        stream = container.streams.video[0]
        assert stream.width > stream.height
    extended = mj.submit("/mj/submit/video", {"action": "extend", "taskId": done["id"], "index": 1, "prompt": ""})
    assert extended["code"] == 1
    assert mj.finish(extended["result"])["prompt"] == "tulip opening"
    bad_index = mj.submit("/mj/submit/video", {"action": "extend", "taskId": done["id"], "index": 5})
    assert bad_index["code"] == 4
    missing = mj.post("/mj/submit/video", {"prompt": "x", "motion": "low"})
    assert missing.status_code == 400 and "image" in missing.json()["description"]
    not_video = mj.finish(mj.imagine("cat"))
    assert mj.submit("/mj/submit/video", {"action": "extend", "taskId": not_video["id"], "index": 0})["code"] == 4


def test_fetch_list_and_image_seed(mj: Mj) -> None:
    a, b = mj.imagine("cat"), mj.imagine("dog")
    early = mj.get(f"/mj/task/{a}/image-seed").json()
    assert (early["code"], early["description"]) == (4, "关联任务状态错误")
    listed = mj.post("/mj/task/list-by-condition", {"ids": [b, "nope", a]}).json()
    assert [t["id"] for t in listed] == [b, a]
    assert mj.post("/mj/task/list-by-condition", {}).json() == []
    assert mj.post("/mj/task/list-by-condition", {"ids": None}).json() == []
    mj.finish(a)
    seed = mj.get(f"/mj/task/{a}/image-seed").json()
    assert seed["code"] == 1 and seed["result"].isdigit() and int(seed["result"]) < 2**32
    assert mj.get("/mj/task/404/image-seed").status_code == 400
    unknown = mj.get("/mj/task/404/fetch")
    assert unknown.status_code == 400 and unknown.json()["description"] == "task_no_found "


def test_image_route_errors_and_needs_no_key(mj: Mj) -> None:
    task_id = mj.imagine("cat")
    no_key = {"Authorization": ""}
    missing = mj.client.get("/mj/image/123", headers=no_key)
    assert (missing.status_code, missing.json()) == (400, {"error": "midjourney_task_not_found"})
    not_ready = mj.client.get(f"/mj/image/{task_id}", headers=no_key)
    assert (not_ready.status_code, not_ready.json()) == (404, {"error": "midjourney_image_not_ready"})
    mj.finish(task_id)
    assert mj.client.get(f"/mj/image/{task_id}", headers=no_key).status_code == 200
    assert mj.client.get(f"/mj-relax/mj/image/{task_id}", headers=no_key).status_code == 200


ROUTED = [(c.method, path) for c in load_contracts() if c.family == "midjourney" for _, path in c.aliases]


@pytest.mark.parametrize(("method", "path"), ROUTED, ids=[f"{m} {p}" for m, p in ROUTED])
def test_every_mode_prefix_route_answers(mj: Mj, method: str, path: str) -> None:
    concrete = path.replace("{id}", "1")
    response = mj.client.request(method, concrete, json={} if method == "POST" else None)
    # served (not a 404/405): an answer, or a 400 for the empty body / unknown task 1
    assert response.status_code in (200, 400), response.text
