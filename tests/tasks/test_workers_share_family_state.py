"""Two emulators on one store, as two workers (or replicas) are: family state lives in the shared state, so
Midjourney ids stay unique and ordered at a standing clock, and a Responses follow-up served by the other
worker finds the conversation the first one stored.

Parametrized over how the shared state is shared: `memory` (both apps on one store object, in-process)
and `sqlite` (each app opens the file, as a worker process does)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import mockserver.app
from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.stores import Stores, open_store
from tests.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]  # fixtures: a real Redis for the redis variants

AUTH = {"Authorization": "Bearer sk-test"}
START = 1_750_000_000.0
Workers = Callable[[], contextlib.AbstractContextManager[tuple[TestClient, TestClient]]]


def _settings(store: str) -> Settings:
    # speed 0: the clock stands still, so every Midjourney id is drawn from the same millisecond
    return Settings(strict_responses=True, speed=0.0, start_time=START, store=store)


@contextlib.contextmanager
def _clients(first: Any, second: Any) -> Iterator[tuple[TestClient, TestClient]]:
    with TestClient(first, headers=AUTH) as a, TestClient(second, headers=AUTH) as b:
        yield a, b


def _memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workers:
    """Two apps on one memory store (what one store shared by two MockStates looks like in-process)."""

    @contextlib.contextmanager
    def workers() -> Iterator[tuple[TestClient, TestClient]]:
        one: Stores = open_store("memory", speed=0.0, start=START)
        monkeypatch.setattr(mockserver.app, "open_store", lambda *args, **kw: one)
        settings = _settings("memory")
        with _clients(create_app(settings), create_app(settings)) as pair:
            yield pair

    return workers


def _sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workers:
    """Two apps each opening one sqlite file, as `--workers 2` does."""
    url = f"sqlite:///{tmp_path / 'store.db'}"

    @contextlib.contextmanager
    def workers() -> Iterator[tuple[TestClient, TestClient]]:
        settings = _settings(url)
        with _clients(create_app(settings), create_app(settings)) as pair:
            yield pair

    return workers


def _redis(url: str) -> Workers:
    """Two apps on one Redis prefix, as two replicas are."""

    @contextlib.contextmanager
    def workers() -> Iterator[tuple[TestClient, TestClient]]:
        settings = _settings(url)
        with _clients(create_app(settings), create_app(settings)) as pair:
            pair[0].post("/__mock/reset").raise_for_status()
            yield pair

    return workers


@pytest.fixture(params=["memory", "sqlite", "redis"])
def workers(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workers:
    """Two workers' clients on one store, for each way of sharing the state."""
    if request.param == "redis":
        return _redis(request.getfixturevalue("redis_url"))
    make = {"memory": _memory, "sqlite": _sqlite}[request.param]
    return make(tmp_path, monkeypatch)


def _imagine(client: TestClient, prompt: str) -> int:
    answer = client.post("/mj/submit/imagine", json={"prompt": prompt, "botType": "MID_JOURNEY"})
    assert answer.status_code == 200 and answer.json()["code"] == 1, answer.text
    return int(answer.json()["result"])


def test_midjourney_ids_are_unique_and_ordered_across_workers_at_a_standing_clock(workers: Workers) -> None:
    with workers() as (a, b):
        ids = []
        for i in range(12):
            ids.append(_imagine(a if i % 2 == 0 else b, f"cat number {i}"))
        # one sequence for both: each id is above the one handed out before it, whichever worker did
        assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
        assert all(str(task_id).startswith(str(int(START * 1000))) for task_id in ids)
        # and each worker finds every task, whoever made it
        for task_id in ids:
            assert a.get(f"/mj/task/{task_id}/fetch").json()["id"] == str(task_id)
            assert b.get(f"/mj/task/{task_id}/fetch").json()["id"] == str(task_id)


WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


def test_a_responses_follow_up_on_another_worker_finds_the_conversation(workers: Workers) -> None:
    with workers() as (a, b):
        first = a.post(
            "/v1/responses",
            json={"model": "gpt-4o", "input": "What's the weather in Paris?", "tools": [WEATHER]},
        ).json()
        call = first["output"][0]
        assert call["type"] == "function_call", first
        output = {"type": "function_call_output", "call_id": call["call_id"], "output": '{"temp": 18}'}
        follow_up = {"model": "gpt-4o", "previous_response_id": first["id"], "input": [output], "tools": [WEATHER]}
        second = b.post("/v1/responses", json=follow_up)
        assert second.status_code == 200, second.text
        answer = second.json()
        assert answer["previous_response_id"] == first["id"] and answer["output"][0]["type"] == "message"
        assert "paris" in answer["output"][0]["content"][0]["text"].lower()  # the first turn, stored by a
        # a reset on either worker forgets it for both
        assert b.post("/__mock/reset").status_code == 200
        gone = a.post("/v1/responses", json=follow_up)
        assert gone.status_code == 400 and gone.json()["error"]["code"] == "previous_response_not_found"
