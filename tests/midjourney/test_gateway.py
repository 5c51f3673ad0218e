"""What the new-api gateway changes between midjourney-proxy and the client (issue 15): the submit
codes it rewrites, the refusal it makes itself, and the task DTO its fetch builds."""

from __future__ import annotations

from tests.midjourney.mj_helpers import Mj


def test_empty_prompt_is_refused_by_the_gateway_with_http_400(mj: Mj) -> None:
    """new-api RelayMidjourneySubmit: `prompt == ""` → MidjourneyErrorWrapper(4, "prompt_is_required"),
    rendered as `"%s %s"` of description and the empty result (hence the trailing blank)."""
    for path in ("/mj/submit/imagine", "/mj-fast/mj/submit/imagine"):
        r = mj.post(path, {"prompt": "", "botType": "MID_JOURNEY"})
        assert r.status_code == 400, path
        assert r.json() == {"description": "prompt_is_required ", "type": "upstream_error", "code": 4}
    # a blank (not empty) prompt passes the gateway and midjourney-proxy refuses it (isBlank)
    blank = mj.submit("/mj/submit/imagine", {"prompt": "   ", "botType": "MID_JOURNEY"})
    assert (blank["code"], blank["description"], blank["result"]) == (4, "prompt不能为空", None)
    assert mj.get("/__mock/tasks").json()["count"] == 0


def test_fetch_dto_is_what_cover_midjourney_task_dto_builds(mj: Mj) -> None:
    answer = mj.submit("/mj/submit/imagine", {"prompt": "cat", "botType": "NIJI_JOURNEY", "state": "s1"})
    waiting = mj.fetch(answer["result"])
    # before the gateway's first poll: no properties, no buttons, no videos
    assert (waiting["status"], waiting["properties"], waiting["buttons"], waiting["videoUrls"]) == (
        "NOT_START",
        None,
        None,
        None,
    )
    done = mj.finish(answer["result"])
    assert done["properties"] == {"finalPrompt": "cat", "finalZhPrompt": ""}
    assert (done["botType"], done["customId"], done["state"]) == ("", "", "s1")  # never copied by the gateway
    assert done["videoUrls"] is None and done["videoUrl"] == ""  # null without a video, not []


def test_only_modal_actions_keep_code_21(mj: Mj) -> None:
    """21 (existed / waiting for a form) is rewritten to 1 except for INPAINT and CUSTOM_ZOOM."""
    grid = mj.finish(mj.imagine("cat"))
    upscaled = mj.finish(mj.action(grid["id"], mj.button(grid, "U1"))["result"])
    zoom = mj.action(upscaled["id"], mj.button(upscaled, "Custom Zoom"))
    region = mj.action(upscaled["id"], mj.button(upscaled, "Vary (Region)"))
    assert (zoom["code"], region["code"]) == (21, 21)
    subtle = mj.action(upscaled["id"], mj.button(upscaled, "Vary (Subtle)"))
    assert subtle["code"] == 1
