"""Suno: music (inspiration, custom, continuation) and lyrics tasks, clip files, batch fetch, failures."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.vendors.probes import Api, audio_seconds, image_info, video_info

MUSIC = "/suno/submit/music"
LYRICS = "/suno/submit/lyrics"


def submit(api: Api, path: str, body: dict[str, Any]) -> str:
    answer = api.post(path, body)
    assert answer["code"] == "success" and answer["message"] == ""
    return str(answer["data"])


def fetch(api: Api, task_id: str) -> dict[str, Any]:
    answer = api.get(f"/suno/fetch/{task_id}")
    assert answer["code"] == "success"
    task: dict[str, Any] = answer["data"]
    assert task["task_id"] == task_id
    return task


def finish(api: Api, task_id: str) -> dict[str, Any]:
    api.advance(api.plan(task_id)[-1]["after_seconds"])
    return fetch(api, task_id)


def test_music_journey_two_clips_with_real_files(api: Api) -> None:
    task_id = submit(api, MUSIC, {"gpt_description_prompt": "an anthem dance pop song about dancing all night"})
    first = fetch(api, task_id)
    assert (first["status"], first["progress"], first["data"], first["action"]) == ("NOT_START", "0%", None, "MUSIC")
    tasks, clips = [], []
    for _ in range(100):
        api.advance(3)
        task = fetch(api, task_id)
        tasks.append((task["status"], task["progress"]))
        if task["data"]:
            clips.append(tuple(c["status"] for c in task["data"]))
        if task["status"] == "SUCCESS":
            break
    assert [s for s, _ in dict.fromkeys(tasks)] == ["SUBMITTED", "QUEUED", "IN_PROGRESS", "SUCCESS"]
    assert {p for s, p in tasks if s != "SUCCESS"} == {"0%"} and tasks[-1][1] == "100%"
    assert list(dict.fromkeys(clips)) == [(s, s) for s in ("submitted", "queued", "streaming", "complete")]
    # Music takes one to two minutes.
    assert 60 <= api.plan(task_id)[-1]["after_seconds"] <= 120
    assert task["start_time"] > task["submit_time"] and task["finish_time"] > task["start_time"]
    assert len(task["data"]) == 2 and task["data"][0]["id"] != task["data"][1]["id"]
    for clip in task["data"]:
        assert clip["title"] and clip["metadata"]["tags"] and "[Verse]" in clip["metadata"]["prompt"]
        mp3, kind = api.download(clip["audio_url"])
        assert kind == "audio/mpeg"
        assert abs(audio_seconds(mp3) - clip["metadata"]["duration"]) < 0.2
        assert image_info(api.download(clip["image_url"])[0])[0] == "JPEG"
        assert image_info(api.download(clip["image_large_url"])[0])[1] == 1024
        mp4 = video_info(api.download(clip["video_url"])[0])
        assert abs(mp4.seconds - clip["metadata"]["duration"]) < 1.0


def test_streaming_clips_already_have_audio_but_no_duration(api: Api) -> None:
    task_id = submit(api, MUSIC, {"prompt": "[Verse]\nlala", "title": "La", "tags": "lo-fi", "mv": "chirp-v4"})
    running = next(s for s in api.plan(task_id) if s["status"] == "IN_PROGRESS")
    api.advance(running["after_seconds"])
    clip = fetch(api, task_id)["data"][0]
    assert clip["status"] == "streaming" and clip["audio_url"] and clip["video_url"] == ""
    assert clip["metadata"]["duration"] is None and clip["is_video_pending"] is True
    assert (clip["title"], clip["metadata"]["tags"], clip["metadata"]["prompt"]) == ("La", "lo-fi", "[Verse]\nlala")
    assert clip["model_name"] == "chirp-v4" and clip["major_model_version"] == "v4"


def test_instrumental_has_no_lyrics(api: Api) -> None:
    task_id = submit(api, MUSIC, {"gpt_description_prompt": "calm piano", "make_instrumental": True, "prompt": ""})
    assert all(c["metadata"]["prompt"] == "" for c in finish(api, task_id)["data"])


def test_continuation_extends_an_existing_finished_clip(api: Api) -> None:
    parent = submit(api, MUSIC, {"gpt_description_prompt": "a sea shanty"})
    unfinished = fetch(api, parent)
    assert unfinished["status"] == "NOT_START"
    early_clip = None
    api.advance(10)
    early_clip = fetch(api, parent)["data"][0]["id"]
    too_early = api.post(MUSIC, {"continue_clip_id": early_clip, "continue_at": 5, "prompt": "x"}, status=400)
    assert too_early["code"] == "invalid_request" and "not complete" in too_early["message"]
    clip = finish(api, parent)["data"][0]
    body = {"continue_clip_id": clip["id"], "continue_at": 12.5, "prompt": "[Verse]\nmore", "task_id": parent}
    child = submit(api, MUSIC, body)
    extended = finish(api, child)["data"]
    assert len(extended) == 2
    assert extended[0]["metadata"]["history"][0] == {
        "id": clip["id"],
        "continue_at": 12.5,
        "type": "gen",
        "source": "web",
        "infill": False,
    }
    assert (
        extended[0]["title"] == f"{clip['title']} (Extended)"
        and extended[0]["metadata"]["tags"] == clip["metadata"]["tags"]
    )
    assert api.get(f"/__mock/tasks/{child}")["parent"] == parent


def test_continuation_errors_name_the_field(api: Api) -> None:
    unknown = api.post(MUSIC, {"continue_clip_id": "nope", "continue_at": 10, "prompt": "x"}, status=400)
    assert unknown == {
        "code": "invalid_request",
        "message": "continue_clip_id nope is not an existing clip",
        "data": None,
    }
    parent = submit(api, MUSIC, {"gpt_description_prompt": "jazz"})
    clip = finish(api, parent)["data"][1]
    no_at = api.post(MUSIC, {"continue_clip_id": clip["id"], "prompt": "x"}, status=400)
    assert "continue_at" in no_at["message"]
    past_end = api.post(MUSIC, {"continue_clip_id": clip["id"], "continue_at": 9999}, status=400)
    assert "past the end" in past_end["message"]
    wrong_task = api.post(MUSIC, {"continue_clip_id": clip["id"], "continue_at": 1, "task_id": "zzz"}, status=400)
    assert wrong_task["code"] == "task_not_exist"


def test_lyrics_are_done_at_once(api: Api) -> None:
    task_id = submit(api, LYRICS, {"prompt": "dance"})
    task = fetch(api, task_id)
    assert (task["action"], task["status"], task["progress"]) == ("LYRICS", "SUCCESS", "100%")
    lyrics = task["data"]
    assert lyrics["status"] == "complete" and "[Chorus]" in lyrics["text"] and lyrics["title"]
    # new-api's suno adaptor: a TaskError {"code": "invalid_request", "message": "prompt_empty", "data": null}
    for prompt in ("", "  "):
        empty = api.post(LYRICS, {"prompt": prompt}, status=400)
        assert empty == {"code": "invalid_request", "message": "prompt_empty", "data": None}


def test_fetch_data_is_the_gateway_task_dto(api: Api) -> None:
    """TaskModel2Dto's fields (dto/task.go), no notify_hook; clips carry `text` (dto/suno.go SunoSong)."""
    task_id = submit(api, MUSIC, {"prompt": "[Verse]\nla la", "tags": "pop", "title": "T", "notify_hook": ""})
    task = finish(api, task_id)
    assert list(task) == [
        "id", "created_at", "updated_at", "task_id", "platform", "user_id", "group", "channel_id", "quota",
        "action", "status", "fail_reason", "submit_time", "start_time", "finish_time", "progress",
        "properties", "data",
    ]  # fmt: skip
    assert "notify_hook" not in task and "result_url" not in task  # omitempty: nothing stored
    assert (task["platform"], task["task_id"], task["status"]) == ("suno", task_id, "SUCCESS")
    assert task["created_at"] == task["submit_time"] and task["updated_at"] == task["finish_time"]
    assert task["properties"] == {"input": "", "upstream_model_name": "suno_music", "origin_model_name": "suno_music"}
    assert all(clip["text"] == clip["metadata"]["prompt"] for clip in task["data"])
    assert fetch(api, task_id)["id"] == task["id"]  # the same row each time


def test_batch_fetch_returns_known_tasks_only(api: Api, client: TestClient) -> None:
    music = submit(api, MUSIC, {"gpt_description_prompt": "rock"})
    lyrics = submit(api, LYRICS, {"prompt": "rain"})
    both = api.post("/suno/fetch", {"ids": [music, "unknown", lyrics]})["data"]
    assert [t["task_id"] for t in both] == [music, lyrics]
    only_lyrics = api.post("/suno/fetch", {"ids": [music, lyrics], "action": "LYRICS"})["data"]
    assert [t["task_id"] for t in only_lyrics] == [lyrics]
    assert api.post("/suno/fetch", {"ids": []})["data"] == []
    assert api.post("/suno/fetch", {})["data"] == []
    too_many = api.post("/suno/fetch", {"ids": ["x"] * 101}, status=400)
    assert too_many["code"] == "invalid_request"
    stranger = client.post("/suno/fetch", json={"ids": [music]}, headers={"Authorization": "Bearer sk-other"})
    assert stranger.json()["data"] == []


def test_failures_and_unknown_ids(api: Api) -> None:
    refused = api.post(MUSIC, {"gpt_description_prompt": "nsfw-banned song"}, status=400)
    assert refused["code"] == "sensitive_words_detected"
    task_id = submit(api, MUSIC, {"gpt_description_prompt": "[mock:moderation] a song"})
    failed = finish(api, task_id)
    assert failed["status"] == "FAILURE" and failed["progress"] == "100%" and failed["fail_reason"]
    assert failed["result_url"] == failed["fail_reason"]  # GetResultURL() falls back to fail_reason
    for clip in failed["data"]:
        assert clip["status"] == "error" and clip["metadata"]["error_type"] == "moderation"
        assert clip["metadata"]["error_message"] == failed["fail_reason"]
    assert api.get("/suno/fetch/nope", status=400) == {
        "code": "task_not_exist",
        "message": "task_not_exist",
        "data": None,
    }
    neither = api.post(MUSIC, {"mv": "chirp-v3-5"}, status=400)
    assert "gpt_description_prompt" in neither["message"]


def test_notify_hook_gets_the_task_on_each_change(api: Api, callback_receiver: Any) -> None:
    task_id = submit(api, MUSIC, {"gpt_description_prompt": "blues", "notify_hook": callback_receiver.url})
    finish(api, task_id)
    callback_receiver.wait_for(task_id, status="SUCCESS")
    statuses = [e["body"]["status"] for e in callback_receiver.received if e["body"]["task_id"] == task_id]
    assert statuses == ["SUBMITTED", "QUEUED", "IN_PROGRESS", "SUCCESS"]
