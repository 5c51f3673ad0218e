"""Midjourney submissions: field rules, return codes 1/3/4/9/22/23/24, auth, envelopes, and every failure
path (fail part way, timeout, rejection) reached deterministically."""

from __future__ import annotations

import pytest

from tests.midjourney.mj_helpers import Mj, PNG_1x1, mj_client


def test_code_1_answer_matches_the_docs_page(mj: Mj) -> None:
    body = {"base64Array": [], "notifyHook": "", "prompt": "cat", "state": "", "botType": "MID_JOURNEY"}
    answer = mj.submit("/mj/submit/imagine", body)
    assert answer["code"] == 1 and answer["description"] == "Submit success"
    assert answer["result"].startswith("1750000000000") and len(answer["result"]) == 16
    assert set(answer["properties"]) == {"discordChannelId", "discordInstanceId"}
    assert all(v.isdigit() and len(v) == 19 for v in answer["properties"].values())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "cat"}, "botType"),
        ({"botType": "MID_JOURNEY"}, "prompt"),
        ({"prompt": "cat", "botType": "DALL_E"}, "botType"),
        ({"prompt": 5, "botType": "MID_JOURNEY"}, "prompt"),
        ({"prompt": "cat", "botType": "MID_JOURNEY", "base64Array": "x"}, "base64Array"),
    ],
)
def test_malformed_bodies_are_400_naming_the_field(mj: Mj, body: dict[str, object], field: str) -> None:
    response = mj.post("/mj/submit/imagine", body)
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "upstream_error" and error["code"] == 4
    assert field in error["description"]


def test_gateway_errors_keep_the_openai_envelope(mj: Mj) -> None:
    anonymous = mj.client.post("/mj/submit/imagine", json={"prompt": "x"}, headers={"Authorization": ""})
    assert anonymous.status_code == 401 and "request id" in anonymous.json()["error"]["message"]
    # the current new-api distributor refuses a body it cannot parse with abortWithOpenAiMessage (older
    # versions used abortWithMidjourneyMessage): the OpenAI-shaped envelope
    bad_json = mj.client.post("/mj/submit/imagine", content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "error" in bad_json.json()
    assert mj.get("/mj/nothing-here").status_code == 404


def test_mj_api_secret_header_is_a_key() -> None:
    with mj_client(api_key=("sk-good",)) as api:
        ok = api.client.post(
            "/mj/submit/imagine",
            json={"prompt": "cat", "botType": "MID_JOURNEY"},
            headers={"Authorization": "", "mj-api-secret": "sk-good"},
        )
        assert ok.status_code == 200 and ok.json()["code"] == 1
        wrong = api.client.post(
            "/mj/submit/imagine",
            json={"prompt": "cat", "botType": "MID_JOURNEY"},
            headers={"Authorization": "Bearer sk-bad"},
        )
        assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "description"),
    [
        ("/mj/submit/imagine", {"prompt": "   ", "botType": "MID_JOURNEY"}, "prompt不能为空"),
        ("/mj/submit/imagine", {"prompt": "cat", "botType": "MID_JOURNEY", "base64Array": ["nope"]}, "base64格式错误"),
        (
            "/mj/submit/imagine",
            {"prompt": "cat", "botType": "MID_JOURNEY", "base64": "data:image/png;base64,@@"},
            "base64格式错误",
        ),
        ("/mj/submit/blend", {"base64Array": [PNG_1x1]}, "base64List参数错误"),
        ("/mj/submit/blend", {"base64Array": [PNG_1x1] * 6}, "base64List参数错误"),
        ("/mj/submit/blend", {"base64Array": [PNG_1x1, "plain"]}, "base64格式错误"),
        ("/mj/submit/describe", {"base64": ""}, "base64不能为空"),
        ("/mj/submit/describe", {"base64": "iVBORw0KGgo="}, "base64格式错误"),
        ("/mj/submit/shorten", {"prompt": ""}, "prompt不能为空"),
        ("/mj/submit/upload-discord-images", {"base64Array": []}, "base64 参数错误"),
        ("/mj/insight-face/swap", {"sourceBase64": "x", "targetBase64": PNG_1x1}, "sourceBase64格式错误"),
        ("/mj/submit/video", {"prompt": "p", "motion": "low", "image": "data:image/png;base64,@@"}, "image格式错误"),
    ],
)
def test_semantic_errors_are_code_4_with_http_200(mj: Mj, path: str, body: dict[str, object], description: str) -> None:
    answer = mj.submit(path, body)
    assert (answer["code"], answer["description"]) == (4, description)
    assert mj.get("/__mock/tasks").json()["count"] == 0


def test_banned_word_is_code_24_with_the_word() -> None:
    with mj_client(banned_words=("forbidden thing", "gore")) as api:
        answer = api.submit("/mj/submit/imagine", {"prompt": "A Forbidden Thing at night", "botType": "MID_JOURNEY"})
        assert answer == {
            "code": 24,
            "description": "可能包含敏感词",
            "result": None,  # SubmitResultVO.fail
            "properties": {"promptEn": "A Forbidden Thing at night", "bannedWord": "forbidden thing"},
        }
        assert api.submit("/mj/submit/shorten", {"prompt": "gore fest"})["code"] == 24
        assert api.submit("/mj/submit/imagine", {"prompt": "gorgeous", "botType": "MID_JOURNEY"})["code"] == 1


def test_queue_answers_follow_the_worker_pool() -> None:
    with mj_client(mj_concurrency=1, mj_queue_size=2) as api:
        body = {"prompt": "cat", "botType": "MID_JOURNEY"}
        first, second, third, fourth = (api.submit("/mj/submit/imagine", body) for _ in range(4))
        assert (first["code"], second["code"]) == (1, 1)  # nobody waiting yet: code 1, though it waits
        # midjourney-proxy's 22 reaches the client as 1: new-api rewrites `"code":22` and keeps the rest
        assert third["code"] == 1 and third["description"] == "排队中，前面还有1个任务"
        assert third["properties"]["numberOfQueues"] == 1
        assert api.fetch(third["result"])["description"] == "排队中，前面还有1个任务"  # stored with the task
        assert fourth["code"] == 23 and fourth["description"] == "队列已满，请稍后尝试"
        assert fourth["result"] is None and set(fourth["properties"]) == {"discordInstanceId"}
        assert api.get(f"/mj/task/{fourth['result']}/fetch").status_code == 400  # not stored
        # the second job starts only when the first has ended
        first_end = api.plan(first["result"])[-1]["at"]
        second_plan = api.plan(second["result"])
        assert second_plan[1]["status"] == "SUBMITTED" and second_plan[1]["at"] >= first_end
        api.advance(first_end - api.now() + 0.01)
        assert api.fetch(first["result"])["status"] == "SUCCESS"
        assert api.fetch(third["result"])["status"] == "NOT_START"
        again = api.submit("/mj/submit/imagine", body)  # one waits again: room for one
        assert again["code"] == 1 and again["properties"]["numberOfQueues"] == 1


def test_markers_choose_the_failure_paths(mj: Mj) -> None:
    failing = mj.imagine("cat [mock:fail]")
    plan = mj.plan(failing)
    assert [s["status"] for s in plan][:3] == ["NOT_START", "SUBMITTED", "IN_PROGRESS"]
    assert plan[-1]["status"] == "FAILURE" and 0 < plan[-2]["progress"] < 100
    failed = mj.finish(failing)
    assert failed["status"] == "FAILURE" and failed["progress"] == "100%"
    assert failed["failReason"].startswith("[Job failed]") and failed["buttons"] == [] and failed["imageUrl"] == ""

    custom = mj.finish(mj.imagine("cat", state="[mock:fail=moderation said no]"))
    assert custom["failReason"] == "moderation said no"

    stalls = mj.imagine("cat [mock:timeout]")
    started = mj.plan(stalls)[1]["at"]
    mj.advance(started + 200 - mj.now())
    assert mj.fetch(stalls)["status"] == "IN_PROGRESS"
    mj.advance(started + 300 - mj.now() + 0.01)
    timed_out = mj.fetch(stalls)
    assert (timed_out["status"], timed_out["failReason"]) == ("FAILURE", "任务超时")

    rejected = mj.finish(mj.imagine("cat [mock:reject]"))
    assert rejected["status"] == "FAILURE" and rejected["startTime"] == 0 and rejected["failReason"]

    assert mj.submit("/mj/submit/imagine", {"prompt": "x [mock:no-account]", "botType": "MID_JOURNEY"}) == {
        "code": 3,
        "description": "无可用的账号实例",
        "result": None,
        "properties": {},
    }
    assert mj.submit("/mj/submit/imagine", {"prompt": "x [mock:error]", "botType": "MID_JOURNEY"})["code"] == 9


def test_fault_rules_can_replace_an_answer(mj: Mj) -> None:
    fault = {
        "operation": "mj_submit_imagine",
        "status": 200,
        "body": {"code": 23, "description": "队列已满，请稍后尝试"},
        "times": 1,
    }
    assert mj.post("/__mock/faults", fault).status_code == 201
    assert mj.submit("/mj/submit/imagine", {"prompt": "cat", "botType": "MID_JOURNEY"})["code"] == 23
    assert mj.submit("/mj/submit/imagine", {"prompt": "cat", "botType": "MID_JOURNEY"})["code"] == 1


def test_lifecycle_durations_are_realistic_and_scaled_by_mode(mj: Mj) -> None:
    grid = mj.plan(mj.imagine("cat"))
    assert 25 <= grid[-1]["after_seconds"] <= 90
    assert 4 <= sum(1 for s in grid if s["status"] == "IN_PROGRESS" and s["progress"] > 0) <= 7
    relax = mj.submit("/mj-relax/mj/submit/imagine", {"prompt": "cat", "botType": "MID_JOURNEY"})["result"]
    turbo = mj.imagine("cat --turbo")
    assert mj.plan(relax)[-1]["after_seconds"] > 60
    assert mj.plan(turbo)[-1]["after_seconds"] < 40
    assert mj.get(f"/mj-turbo/mj/task/{relax}/fetch").json()["id"] == relax


def test_instant_mode_finishes_at_once() -> None:
    with mj_client(instant=True) as api:
        task = api.fetch(api.imagine("cat"))
        assert task["status"] == "SUCCESS" and len(task["buttons"]) == 9
        assert api.get(task["imageUrl"]).headers["content-type"] == "image/png"


def test_same_seed_same_answers() -> None:
    def run() -> list[object]:
        with mj_client(seed=7) as api:
            task_id = api.imagine("cat --ar 16:9")
            return [task_id, api.plan(task_id), api.finish(task_id)]

    assert run() == run()
