"""The dashboard in headless Chromium: live journal, task media, faults from the form, escaping, replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, serve_in_thread
from tests.ui.browser import screenshot

HOSTILE = '<script>window.__owned = 1</script><img src=x onerror="window.__owned = 2"> a cat'
FIXTURE = Path(__file__).parents[1] / "recording" / "fixtures" / "vcr_yescale.yaml"


def chat(api: httpx.Client, text: str = "hello") -> httpx.Response:
    return api.post(
        "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    )


def test_a_request_appears_in_the_journal_live(
    emulator: ThreadedServer, api: httpx.Client, page: Any, tmp_path: Path
) -> None:
    page.goto(emulator.url + "/__mock/ui#journal")
    page.wait_for_selector("#live.on")
    assert page.locator("#journal-table tbody tr").count() == 0
    assert chat(api, "what is the weather").status_code == 200
    row = page.locator("#journal-table tbody tr").first
    row.wait_for()
    assert "/v1/chat/completions" in row.inner_text()
    page.wait_for_function("document.querySelector('#journal-table tbody tr td:nth-child(6)').textContent === '200'")
    api.get("/v1/models")
    page.wait_for_function("document.querySelectorAll('#journal-table tbody tr').length === 2")
    assert "/v1/models" in page.locator("#journal-table tbody tr").first.inner_text()  # newest first
    # Filters: by operation, then by status.
    page.fill("#f-operation", "chat_completions")
    assert page.locator("#journal-table tbody tr:visible").count() == 1
    page.fill("#f-operation", "")
    page.fill("#f-status", "4xx")
    assert page.locator("#journal-table tbody tr:visible").count() == 0
    page.fill("#f-status", "")
    page.fill("#f-key", "nope")
    assert page.locator("#journal-table tbody tr:visible").count() == 0
    page.fill("#f-key", "oard")  # the key's last four characters survive masking
    assert page.locator("#journal-table tbody tr:visible").count() == 2
    # The detail: request, answer (kept because the page was open), secrets masked, copy as curl.
    page.locator("#journal-table tbody tr", has_text="/v1/chat/completions").click()
    detail = page.locator("#journal-detail")
    detail.locator(".answer-body").wait_for()
    assert "chat.completion" in detail.locator(".answer-body").inner_text()
    assert "what is the weather" in detail.locator(".request-body").inner_text()
    curl = detail.locator(".curl").inner_text()
    assert curl.startswith(f"curl -X POST '{emulator.url}/v1/chat/completions'")
    assert '"authorization: Bearer $API_KEY"' in curl and "sk-test-dashboard" not in page.content()
    assert '--data-raw \'{"model":"gpt-4o-mini"' in curl
    screenshot(page, tmp_path, "journal")
    # Speech is played right in the detail.
    speech = {"model": "tts-1", "input": "Hello there.", "voice": "alloy", "response_format": "mp3"}
    assert api.post("/v1/audio/speech", json=speech).status_code == 200
    page.locator("#journal-table tbody tr", has_text="/v1/audio/speech").click()
    player = page.locator("#journal-detail audio")
    player.wait_for()
    page.wait_for_function("(a) => a.readyState >= 1 && a.duration > 0", arg=player.element_handle())
    assert "bytes of audio/mpeg" in page.inner_text("#journal-detail .answer-body")
    assert page.errors == []


def test_tasks_show_their_images_and_audio_and_the_clock_buttons_advance(
    emulator: ThreadedServer, api: httpx.Client, page: Any, tmp_path: Path
) -> None:
    answer = api.post("/mj/submit/imagine", json={"prompt": "a red fox in snow", "botType": "MID_JOURNEY"}).json()
    task_id = answer["result"]
    assert api.post("/suno/submit/music", json={"prompt": "a calm song", "mv": "chirp-v3-5"}).status_code == 200
    page.goto(emulator.url + "/__mock/ui#tasks")
    card = page.locator(f"article.task[data-id='{task_id}']")
    card.wait_for()
    assert card.locator("img").count() == 0  # nothing to show before the clock moves
    before = page.inner_text("#clock-now")
    page.click("button[data-advance='600']")
    page.wait_for_function(f"document.querySelector('#clock-now').textContent !== {before!r}")
    image = card.locator(".media img").first
    image.wait_for()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=15_000)
    assert card.locator(".state").inner_text().startswith("SUCCESS")
    assert card.locator("progress").get_attribute("value") == "100"
    audio = page.locator("article.task[data-id] .media audio").first
    audio.wait_for()
    src = audio.evaluate("a => a.src")
    assert src.startswith(emulator.url + "/__mock/media/audio/")
    assert httpx.get(src).headers["content-type"].startswith("audio/")
    video = page.locator("article.task[data-id] .media video").first  # Suno's clips come with a video
    assert video.evaluate("v => v.src").startswith(emulator.url + "/__mock/media/video/")
    page.wait_for_function("(v) => v.readyState >= 1 && v.videoWidth > 0", arg=video.element_handle())
    # The plan of the task, on the virtual clock.
    card.locator("details summary").click()
    card.locator("details table tbody tr").first.wait_for()
    assert card.locator("details table tbody tr").count() > 3
    screenshot(page, tmp_path, "tasks")
    assert page.errors == []


def test_a_fault_added_from_the_form_makes_the_next_call_fail(
    emulator: ThreadedServer, api: httpx.Client, page: Any, tmp_path: Path
) -> None:
    page.goto(emulator.url + "/__mock/ui#rules")
    form = page.locator("#fault-form")
    # A bad value is shown as the server's error naming the field, never silently dropped.
    form.locator("input[name=operation]").fill("chat_completions")
    form.locator("input[name=status]").fill("fivehundred")
    form.locator("button[type=submit]").click()
    page.wait_for_function("document.querySelector('#fault-form .form-error').textContent.includes('status')")
    assert api.get("/__mock/faults").json()["faults"] == []
    form.locator("input[name=status]").fill("503")
    form.locator("input[name=message]").fill("the upstream is down")
    form.locator("input[name=times]").fill("1")
    form.locator("button[type=submit]").click()
    page.locator("#faults-list article.rule").wait_for()
    failed = chat(api)
    assert failed.status_code == 503
    assert "the upstream is down" in failed.text
    assert chat(api).status_code == 200  # times: 1
    # A stub from its form, then both deleted from the page.
    stub = page.locator("#stub-form")
    stub.locator("input[name=operation]").fill("chat_completions")
    stub.locator("textarea[name=content]").fill("Paris.")
    stub.locator("button[type=submit]").click()
    page.locator("#stubs-list article.rule").wait_for()
    assert chat(api, "capital of France?").json()["choices"][0]["message"]["content"] == "Paris."
    screenshot(page, tmp_path, "faults-and-stubs")
    page.locator("#stubs-list article.rule button.danger").click()
    page.wait_for_function("!document.querySelector('#stubs-list article.rule')")
    assert api.get("/__mock/stubs").json()["stubs"] == []
    assert page.errors == []


def test_a_script_in_a_prompt_is_shown_as_text(
    emulator: ThreadedServer, api: httpx.Client, page: Any, tmp_path: Path
) -> None:
    api.post("/mj/submit/imagine", json={"prompt": HOSTILE, "botType": "MID_JOURNEY"})
    chat(api, HOSTILE)
    page.goto(emulator.url + "/__mock/ui#tasks")
    prompt = page.locator("article.task .prompt").first
    page.wait_for_function("document.querySelector('article.task .prompt')?.textContent.length > 0")
    assert prompt.inner_text() == HOSTILE
    assert prompt.locator("script, img").count() == 0
    page.goto(emulator.url + "/__mock/ui#journal")
    page.locator("#journal-table tbody tr", has_text="/v1/chat/completions").click()
    assert HOSTILE.replace('"', '\\"') in page.locator("#journal-detail .request-body").inner_text()
    assert page.locator("#journal-detail script, #journal-detail img").count() == 0
    assert page.evaluate("window.__owned") is None
    assert page.locator("script").count() == 2  # the page's config and code, nothing injected
    screenshot(page, tmp_path, "escaping")
    assert page.errors == []


def test_callbacks_are_listed_with_each_attempt(
    emulator: ThreadedServer, api: httpx.Client, page: Any, tmp_path: Path
) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    calls: list[int] = []

    async def hook(request: Request) -> Response:
        calls.append(1)
        return Response(status_code=503 if len(calls) == 1 else 200)  # the first delivery fails once

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with serve_in_thread(receiver) as target:
        api.post(
            "/mj/submit/imagine",
            json={"prompt": "a lighthouse", "botType": "MID_JOURNEY", "notifyHook": target.url + "/hook"},
        )
        api.post("/__mock/clock/advance", json={"seconds": 600})
        page.goto(emulator.url + "/__mock/ui#callbacks")
        page.wait_for_function(
            "document.querySelectorAll('#callbacks-table tbody tr td.s2').length >= 2", timeout=15_000
        )
        assert "delivered (200)" in page.inner_text("#callbacks-table tbody")
        page.wait_for_function("document.querySelector('#callbacks-table tbody').textContent.includes('will retry')")
        failed = page.locator("#callbacks-table tbody tr", has_text="will retry").inner_text()
        assert "503" in failed and "\t1\t" in failed  # attempt 1 of that step, and its outcome
        assert "/hook" in page.inner_text("#callbacks-table tbody")
        screenshot(page, tmp_path, "callbacks")
    assert page.errors == []


def test_reset_from_the_page_forgets_everything(emulator: ThreadedServer, api: httpx.Client, page: Any) -> None:
    chat(api)
    api.post("/__mock/faults", json={"operation": "embeddings_create", "status": 500})
    page.goto(emulator.url + "/__mock/ui#journal")
    page.locator("#journal-table tbody tr").first.wait_for()
    page.click("#reset")
    page.click("#reset")  # the second click confirms
    page.wait_for_function("document.querySelectorAll('#journal-table tbody tr').length === 0")
    assert api.get("/__mock/faults").json()["faults"] == []
    assert api.get("/__mock/requests").json()["count"] == 0


def test_the_replay_server_shows_played_interactions_and_misses(browser: Any, tmp_path: Path) -> None:
    from mockserver.recording.server import create_replay_app

    settings = Settings(cassettes=str(FIXTURE), speed=0.0)
    with serve_in_thread(create_replay_app(settings)) as server:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi"}], "temperature": 0}
        assert httpx.post(server.url + "/v1/chat/completions", json=body).status_code == 200
        body["messages"][0]["content"] = "Say <b>bye</b>"
        assert httpx.post(server.url + "/v1/chat/completions", json=body).status_code == 404
        context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        try:
            page = context.new_page()
            page.goto(server.url + "/__mock/ui")
            miss = page.locator("#misses-list article.miss").first
            miss.wait_for()
            assert "POST /v1/chat/completions" in miss.inner_text()
            assert "body" in miss.locator("table tbody tr").first.inner_text()  # the matcher that failed
            page.wait_for_function("document.querySelectorAll('#interactions-table tbody tr').length === 4")
            rows = page.locator("#interactions-table tbody tr").all_inner_texts()
            assert [row.split("\t")[-1] for row in rows] == ["played", "not yet", "not yet", "not yet"]
            assert page.locator("nav a[data-view=journal]").is_hidden()  # no emulator behind this one
            assert page.locator("#misses-list b").count() == 0  # the <b> of the request is text
            screenshot(page, tmp_path, "replay")
        finally:
            context.close()


def test_a_token_in_the_page_url_goes_with_every_control_call(
    emulator: ThreadedServer, api: httpx.Client, page: Any
) -> None:
    api.post("/mj/submit/imagine", json={"prompt": "a kite", "botType": "MID_JOURNEY"})
    api.post("/__mock/clock/advance", json={"seconds": 600})
    sent: list[Any] = []
    page.on("request", lambda request: sent.append(request))
    page.goto(emulator.url + "/__mock/ui?token=s3cret#tasks")
    image = page.locator("article.task .media img").first
    image.wait_for()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => img.src").startswith("blob:")  # fetched with the header, not a bare <img src>
    page.click("button[data-advance='1']")
    page.wait_for_function("document.querySelector('#clock-now').textContent.endsWith(':41')")
    calls = [r for r in sent if "/__mock/" in r.url and "/__mock/ui?" not in r.url]
    assert calls and all(r.all_headers().get("x-mock-token") == "s3cret" for r in calls)
    writes = [r for r in calls if r.method == "POST"]
    assert [r.url for r in writes] == [emulator.url + "/__mock/clock/advance"]
    headers = writes[0].all_headers()
    assert headers["origin"] == emulator.url and headers["content-type"] == "application/json"  # same-origin JSON


def test_the_backlog_is_there_when_the_page_opens(emulator: ThreadedServer, api: httpx.Client, page: Any) -> None:
    for _ in range(60):
        api.get("/v1/models")
    page.goto(emulator.url + "/__mock/ui#no-such-view")  # an unknown view falls back to the journal
    page.wait_for_function("document.querySelector('#journal-count').textContent === '60 of 60 requests'")
    assert page.locator("#view-journal").is_visible()
    assert page.locator("#journal-table tbody tr").first.locator("td").first.inner_text() == "60"
