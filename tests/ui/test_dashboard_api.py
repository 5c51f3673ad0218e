"""The dashboard's server side: the page, the journal's live stream, and what it costs when nobody watches."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.journal import Journal
from mockserver.settings import Settings
from mockserver.testing import serve_in_thread
from mockserver.ui import render_page, script_json
from mockserver.ui.stream import answer_of

AUTH = {"Authorization": "Bearer sk-test-dashboard"}
FIXTURE = Path(__file__).parents[1] / "recording" / "fixtures" / "vcr_yescale.yaml"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def test_the_page_is_self_contained_and_its_policy_allows_only_its_own_script() -> None:
    app = create_app(Settings(speed=0.0, public_url="http://x/</script><script>alert(1)</script>"))
    with TestClient(app) as client:
        page = client.get("/__mock/ui")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "unsafe" not in policy
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+';", policy)
    assert page.headers["referrer-policy"] == "no-referrer"  # the URL may carry ?token=
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert "</script><script>alert" not in text  # the configured URL cannot close the config element
    assert text.count("<script") == 2 and "src=" not in re.sub(r"\.src\b|src:", "", text.split("<script>", 1)[0])
    assert "https://" not in text  # nothing fetched from elsewhere: works offline
    config = orjson.loads(text.split('id="config">', 1)[1].split("</script>", 1)[0])
    assert config["base_url"] == "http://x/</script><script>alert(1)</script>"
    assert "chat_completions" in config["operations"] and config["emulator"] is True


def test_script_json_escapes_what_could_end_a_script_element() -> None:
    assert script_json({"a": "</script>&"}) == '{"a":"\\u003c/script\\u003e\\u0026"}'
    page, _ = render_page({"x": 1})
    assert "/*SCRIPT*/" not in page and "/*STYLE*/" not in page and "/*CONFIG*/" not in page


def test_the_journal_pays_nothing_while_no_page_watches() -> None:
    journal = Journal(10)
    entry = journal.record(method="GET", path="/", query=b"", headers=[], operation=None, at=0.0)
    assert journal.watchers == [] and entry.kept_answer() is None
    woken: list[int] = []
    unwatch = journal.watch(lambda: woken.append(1))
    journal.record(method="GET", path="/a", query=b"", headers=[], operation=None, at=0.0)
    asyncio.run(journal.clear())
    assert woken == [1, 1] and journal.clears == 1
    unwatch()
    journal.record(method="GET", path="/b", query=b"", headers=[], operation=None, at=0.0)
    assert woken == [1, 1] and journal.watchers == []
    assert [e.path for e in asyncio.run(journal.since(0))] == ["/b"]
    assert asyncio.run(journal.since(10**6)) == []


def test_answers_are_kept_only_while_a_stream_is_open() -> None:
    app = create_app(Settings(speed=0.0))
    with TestClient(app, headers=AUTH) as client:
        client.post("/v1/chat/completions", json=CHAT)
        state = app.state.mock
        assert asyncio.run(state.journal.snapshot())[-1].kept_answer() is None
        unwatch = state.journal.watch(lambda: None)
        client.post("/v1/chat/completions", json=CHAT)
        unwatch()
        kept = asyncio.run(state.journal.snapshot())[-1].kept_answer()
        assert kept is not None and kept.done
        assert ("content-type", "application/json") in kept.headers and b"chat.completion" in kept.body
        # A large answer is kept by size only, so an open page cannot make the journal hold megabytes.
        client.post("/__mock/stubs", json={"operation": "models_list", "response": {"body": {"x": "y" * 100_000}}})
        unwatch = state.journal.watch(lambda: None)
        client.get("/v1/models")
        client.post("/v1/chat/completions", json={**CHAT, "stream": True})
        client.post("/v1/audio/speech", json={"model": "tts-1", "input": "Hi.", "voice": "alloy"})
        unwatch()
        large, streamed, speech = asyncio.run(state.journal.snapshot())[-3:]
        assert large.kept_answer().size == 100_008 and len(large.kept_answer().body) == 65536  # type: ignore[union-attr]
        assert answer_of(large)["body"] == "<100008 bytes: too large to keep>"  # type: ignore[index]
        chunks = answer_of(streamed)
        assert chunks is not None and chunks["complete"] and "data: [DONE]" in chunks["body"]  # a stream, copied
        media = answer_of(speech)["media"]  # type: ignore[index]
        assert media["type"] == "audio/mpeg" and media["src"].startswith("data:audio/mpeg;base64,")


def events_of(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """The named events of an SSE answer as (event, data), as they come."""
    buffer = ""
    for chunk in response.iter_text():
        buffer += chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields = dict(
                line.split(": ", 1) for line in block.splitlines() if not line.startswith(":") and ": " in line
            )
            if "event" in fields:
                yield fields["event"], orjson.loads(fields["data"])


def test_the_stream_sends_the_backlog_then_each_request_with_its_answer() -> None:
    with serve_in_thread(create_app(Settings(speed=0.0))) as server, httpx.Client(base_url=server.url) as client:
        client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
        assert client.get("/__mock/requests/stream", params={"after": "x"}).status_code == 400
        with client.stream("GET", "/__mock/requests/stream", timeout=10) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = events_of(response)
            first = next(events)
            assert first[0] == "entry" and first[1]["id"] == 1 and first[1]["status"] == 200
            assert first[1]["answer"] is None  # sent before any page was open: no answer kept
            httpx.post(server.url + "/v1/chat/completions", json=CHAT, headers=AUTH)
            second = next(e for e in events if e[1].get("status"))  # sent again once answered, if early
            assert second[1]["id"] == 2 and "chat.completion" in str(second[1]["answer"])
            assert second[1]["headers"]["authorization"] == "Bearer ***oard"  # masked
            httpx.delete(server.url + "/__mock/requests")
            assert next(events)[0] == "clear"
            httpx.get(server.url + "/v1/models", headers=AUTH)
            third = next(e for e in events if e[1].get("status"))
            assert third[1]["id"] == 3 and third[1]["path"] == "/v1/models"


def test_a_reconnecting_stream_resumes_after_the_last_event_id() -> None:
    app = create_app(Settings(speed=0.0))
    with serve_in_thread(app) as server, httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            client.get("/v1/models", headers=AUTH)
        with client.stream("GET", "/__mock/requests/stream", headers={"last-event-id": "2"}, timeout=10) as response:
            assert next(events_of(response))[1]["id"] == 3
        # the stream lets go of the journal once the server has seen the client leave (a moment later)
        deadline = time.monotonic() + 10
        while app.state.mock.journal.watchers and time.monotonic() < deadline:
            time.sleep(0.01)
        assert app.state.mock.journal.watchers == []


def test_the_replay_server_lists_interactions_and_explains_misses_as_data() -> None:
    from mockserver.recording.server import create_replay_app

    app = create_replay_app(Settings(cassettes=str(FIXTURE)))
    with TestClient(app) as client:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi"}], "temperature": 0}
        assert client.post("/v1/chat/completions", json=body).status_code == 200
        body["temperature"] = 1
        assert client.post("/v1/chat/completions", json=body).status_code == 404
        listed = client.get("/__mock/cassettes/interactions").json()
        page = client.get("/__mock/ui")
        misses = client.get("/__mock/cassettes").json()["misses"]
    assert [i["played"] for i in listed["interactions"]] == [True, False, False, False]
    assert listed["interactions"][0]["method"] == "POST" and listed["interactions"][0]["status"] == 200
    nearest = misses[0]["nearest"][0]
    assert nearest["where"].endswith("vcr_yescale.yaml#0") and nearest["failed"] == ["body"]
    assert "temperature" in nearest["reasons"][0]
    config = orjson.loads(page.text.split('id="config">', 1)[1].split("</script>", 1)[0])
    assert config["mode"] == "replay" and config["cassettes"] is True and config["emulator"] is False


def test_the_control_guard_wraps_the_stream_but_not_the_static_page() -> None:
    from mockserver.ui import dashboard, routes
    from mockserver.ui.stream import journal_stream

    wrapped: list[object] = []

    def guard(endpoint):  # type: ignore[no-untyped-def]
        wrapped.append(endpoint)
        return endpoint

    paths = {route.path: route.endpoint for route in routes(guard)}
    assert wrapped == [journal_stream]
    assert paths["/__mock/ui"] is dashboard
