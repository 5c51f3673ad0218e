"""Two emulators on one shared store behave as one: what the control API writes on one is what the other
reads and does (in-process apps here; tests/topology runs real processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.stores import parse_store_url
from tests.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]

AUTH = {"Authorization": "Bearer sk-test"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say something."}]}


@pytest.fixture(params=["sqlite", "redis"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/state.db"
    else:
        url = request.getfixturevalue("redis_url")
        try:
            parse_store_url(url)
        except ValueError:
            pytest.skip("redis:// is not a --store yet")
    settings = Settings(store=url, speed=0.0, start_time=1_750_000_000.0, seed=7)
    with (
        TestClient(create_app(settings), headers=AUTH) as a,
        TestClient(create_app(settings), headers=AUTH) as b,
    ):
        a.post("/__mock/reset").raise_for_status()
        yield a, b


def test_a_fault_fires_times_times_across_both(pair: tuple[TestClient, TestClient]) -> None:
    a, b = pair
    made = a.post("/__mock/faults", json={"operation": "chat_completions", "status": 500, "times": 5})
    assert made.status_code == 201
    statuses = [(a if i % 2 else b).post("/v1/chat/completions", json=CHAT).status_code for i in range(20)]
    assert statuses.count(500) == 5 and statuses.count(200) == 15
    (fault,) = b.get("/__mock/faults").json()["faults"]
    assert fault["id"] == made.json()["id"] and fault["hits"] == 5


def test_rule_ids_never_collide(pair: tuple[TestClient, TestClient]) -> None:
    a, b = pair
    ids = [
        (a if i % 2 else b)
        .post("/__mock/stubs", json={"operation": "chat_completions", "content": f"x{i}"})
        .json()["id"]
        for i in range(6)
    ]
    assert len(set(ids)) == 6
    assert [s["id"] for s in a.get("/__mock/stubs").json()["stubs"]] == ids


def test_a_stub_posted_on_one_answers_on_the_other_until_deleted(pair: tuple[TestClient, TestClient]) -> None:
    a, b = pair
    stub = b.post("/__mock/stubs", json={"operation": "chat_completions", "content": "from b"}).json()
    assert a.post("/v1/chat/completions", json=CHAT).json()["choices"][0]["message"]["content"] == "from b"
    a.delete(f"/__mock/stubs/{stub['id']}").raise_for_status()
    assert b.post("/v1/chat/completions", json=CHAT).json()["choices"][0]["message"]["content"] != "from b"


def test_the_journal_holds_every_request_once_in_order(pair: tuple[TestClient, TestClient]) -> None:
    a, b = pair
    for i in range(6):
        (a if i % 2 else b).post("/v1/chat/completions", json={**CHAT, "user": f"u{i}"})
    for client in (a, b):
        seen = [e["body"]["user"] for e in client.get("/__mock/requests").json()["requests"]]
        assert seen == [f"u{i}" for i in range(6)]
    b.delete("/__mock/requests").raise_for_status()
    assert a.get("/__mock/requests").json()["count"] == 0


def test_the_clock_is_one_clock(pair: tuple[TestClient, TestClient]) -> None:
    a, b = pair
    before = b.get("/__mock/clock").json()
    assert before["shared"] is True
    a.post("/__mock/clock/advance", json={"seconds": 3600}).raise_for_status()
    after = b.get("/__mock/clock").json()
    assert after["now"] == pytest.approx(before["now"] + 3600) and after["offset"] == pytest.approx(3600)


def test_repeated_calls_are_counted_across_both(pair: tuple[TestClient, TestClient]) -> None:
    a, b = pair
    one = [a.post("/v1/chat/completions", json=CHAT).content for _ in range(2)]
    a.post("/__mock/reset").raise_for_status()
    other = [a.post("/v1/chat/completions", json=CHAT).content, b.post("/v1/chat/completions", json=CHAT).content]
    assert one == other and one[0] != one[1]


def test_latency_set_on_one_paces_the_other(pair: tuple[TestClient, TestClient]) -> None:
    a, b = pair
    a.post("/__mock/latency", json={"mode": "realistic", "scale": 0.5}).raise_for_status()
    assert b.get("/__mock/latency").json() == {"latency": "realistic", "scale": 0.5, "overridden": True}


def test_reset_on_one_clears_the_other(pair: tuple[TestClient, TestClient]) -> None:
    a, b = pair
    a.post("/__mock/faults", json={"operation": "models_list", "status": 503})
    a.post("/__mock/stubs", json={"operation": "chat_completions", "content": "x"})
    a.post("/__mock/clock/advance", json={"seconds": 60})
    a.post("/v1/chat/completions", json=CHAT)
    b.post("/__mock/reset").raise_for_status()
    assert a.get("/__mock/faults").json()["faults"] == []
    assert a.get("/__mock/stubs").json()["stubs"] == []
    assert a.get("/__mock/clock").json()["offset"] == 0
    assert a.get("/__mock/requests").json()["count"] == 0
    assert a.get("/v1/models").status_code == 200
