"""One replay server across apps and processes sharing a store: play positions, plays, misses, rewind.

Two replay apps on one store answer a request recorded three times (A1, A2, A3) called alternately on
each: every answer comes once, in recorded order, and both report the same plays and misses. The
variants: `memory` (one app, the default and today's behaviour), a `MemoryState` two in-process apps
share (the shared path without a server), `sqlite`, `redis` (a real server), and two `mockserver replay`
processes on one sqlite file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mockserver.recording.cassettes import Cassette, Interaction, RecordedRequest, RecordedResponse, save_cassette
from mockserver.recording.server import create_replay_app
from mockserver.settings import Settings
from mockserver.stores.memory_state import MemoryState
from mockserver.testing import serve_in_thread
from tests.redis_server import redis_server, redis_url  # noqa: F401  (fixtures)
from tests.tasks.helpers import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
CHAT = "https://api.yescale.io/v1/chat/completions"
ASKED = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "again?"}]}


def chat(answer: str) -> Interaction:
    request = RecordedRequest("POST", CHAT, {"content-type": ["application/json"]}, orjson.dumps(ASKED))
    body = orjson.dumps({"id": answer, "choices": [{"message": {"role": "assistant", "content": answer}}]})
    return Interaction(request, RecordedResponse(200, {"content-type": ["application/json"]}, body, "OK"))


def models() -> Interaction:
    request = RecordedRequest("GET", "https://api.yescale.io/v1/models", {}, None)
    return Interaction(request, RecordedResponse(200, {"content-type": ["application/json"]}, b'{"data":[]}', "OK"))


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    folder = tmp_path / "cassettes"
    folder.mkdir()
    save_cassette(folder / "chat.yaml", Cassette([chat("A1"), models(), chat("A2"), chat("A3")]))
    return folder


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A `--store` URL of each kind (redis: a real server, a prefix of the test's own)."""
    if request.param == "memory":
        return "memory"
    return f"sqlite:///{tmp_path / 'replay.db'}" if request.param == "sqlite" else request.getfixturevalue("redis_url")


def answer_of(client: httpx.Client) -> str:
    response = client.post("/v1/chat/completions", json=ASKED)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def views(client: httpx.Client) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`/__mock/cassettes` (without the per-process `recorded`) and the interactions' played flags."""
    status = client.get("/__mock/cassettes").json()
    listed = client.get("/__mock/cassettes/interactions").json()["interactions"]
    return status, [{"where": Path(i["where"]).name, "played": i["played"]} for i in listed]


def check_one_server(a: httpx.Client, b: httpx.Client) -> None:
    """A and B replay as one server: alternate calls get A1, A2, A3 once each, then A3 again; plays,
    unplayed interactions and misses read the same on both; a rewind on one restarts both."""
    assert [answer_of(c) for c in (a, b, a)] == ["A1", "A2", "A3"]
    status, listed = views(b)
    assert [i["played"] for i in listed] == [True, False, True, True]  # the models call was not made
    assert answer_of(b) == "A3"  # all played: the last one again
    assert a.get("/v1/models").status_code == 200
    missed = b.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []})
    assert missed.status_code == 404 and "No recorded interaction matches" in missed.text
    status_a, listed_a = views(a)
    status_b, listed_b = views(b)
    assert listed_a == listed_b and all(i["played"] for i in listed_a)
    assert status_a == status_b
    assert (status_a["played"], status_a["missed"], status_a["fallbacks"]) == (5, 1, 0)
    assert [m["path"] for m in status_a["misses"]] == ["/v1/chat/completions"]
    assert "No recorded interaction matches POST /v1/chat/completions" in status_a["misses"][0]["explanation"]
    rewound = a.post("/__mock/cassettes/rewind")
    assert rewound.json() == {"rewound": True, "emulator_reset": False}
    status, listed = views(b)
    assert (status["played"], status["misses"], [i["played"] for i in listed]) == (0, [], [False] * 4)
    assert [answer_of(c) for c in (b, a)] == ["A1", "A2"]


@contextlib.contextmanager
def served(*apps: Any) -> Iterator[list[httpx.Client]]:
    with contextlib.ExitStack() as stack:
        clients = []
        for app in apps:
            server = stack.enter_context(serve_in_thread(app))
            clients.append(stack.enter_context(httpx.Client(base_url=server.url, timeout=30.0, trust_env=False)))
        yield clients


def test_two_replay_apps_on_one_store_replay_as_one_server(cassettes: Path, store_url: str) -> None:
    settings = Settings(cassettes=str(cassettes), store=store_url)
    if store_url == "memory":  # one process: a single app, as before
        with served(create_replay_app(settings)) as (one,):
            check_one_server(one, one)
        return
    with served(create_replay_app(settings), create_replay_app(settings)) as (a, b):
        check_one_server(a, b)
        assert a.get("/__mock/cassettes").json()["shared"] is True


def test_apps_sharing_one_state_in_a_process_replay_as_one_server(cassettes: Path) -> None:
    state = MemoryState()  # what a shared store does, without one: both apps keep plays in it
    settings = Settings(cassettes=str(cassettes))
    with served(create_replay_app(settings, shared=state), create_replay_app(settings, shared=state)) as (a, b):
        check_one_server(a, b)


def test_apps_with_their_own_memory_stores_replay_on_their_own(cassettes: Path) -> None:
    settings = Settings(cassettes=str(cassettes))
    with served(create_replay_app(settings), create_replay_app(settings)) as (a, b):
        assert [answer_of(c) for c in (a, b, a, b)] == ["A1", "A1", "A2", "A2"]
        assert a.get("/__mock/cassettes").json()["shared"] is False


def test_rewind_refuses_without_the_control_token_and_from_other_sites(cassettes: Path) -> None:
    app = create_replay_app(Settings(cassettes=str(cassettes), control_token="tok"))
    with served(app) as (client,):
        assert answer_of(client) == "A1"
        refused = client.post("/__mock/cassettes/rewind")
        assert refused.status_code == 401 and "control token" in refused.text
        cross = client.post("/__mock/cassettes/rewind", headers={"x-mock-token": "tok", "origin": "http://evil.test"})
        assert cross.status_code == 403 and "cross-origin" in cross.text
        body = client.post("/__mock/cassettes/rewind", headers={"x-mock-token": "tok"}, json={"all": True})
        assert body.status_code == 400 and "no body" in body.text
        huge = client.post("/__mock/cassettes/rewind", headers={"x-mock-token": "tok"}, content=b" " * 10_000_000)
        assert huge.status_code == 413
        assert answer_of(client) == "A2"  # nothing was rewound
        ok = client.post("/__mock/cassettes/rewind", headers={"Authorization": "Bearer tok"})
        assert ok.status_code == 200 and answer_of(client) == "A1"


def test_rewind_with_the_emulator_behind_resets_it_and_its_reset_rewinds_the_replay(
    cassettes: Path, store_url: str
) -> None:
    settings = Settings(cassettes=str(cassettes), fallback="emulate", store=store_url)
    app = create_replay_app(settings)
    with served(app) as (client,):
        client.headers["Authorization"] = "Bearer sk-test"
        assert answer_of(client) == "A1"
        fault = {"operation": "embeddings_create", "status": 503}
        assert client.post("/__mock/faults", json=fault).status_code in (200, 201)
        assert client.post("/__mock/cassettes/rewind").json() == {"rewound": True, "emulator_reset": True}
        assert client.get("/__mock/faults").json()["faults"] == []  # the emulator was reset too
        assert answer_of(client) == "A1"
        assert client.post("/__mock/reset").status_code == 200  # the emulator's reset rewinds the replay
        assert answer_of(client) == "A1"


# ---------------------------------------------------------------------------------------------
# Processes


@contextlib.contextmanager
def replay_processes(*argv: tuple[str, ...]) -> Iterator[list[httpx.Client]]:
    started = [ServerProcess(*args, command="replay") for args in argv]
    try:
        yield [p.wait_ready().http for p in started]
    finally:
        for p in started:
            p.stop()


def test_two_replay_processes_with_workers_on_one_sqlite_file_replay_as_one(cassettes: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    common = ("--cassettes", str(cassettes), "--store", url)
    with replay_processes((*common, "--workers", "2"), common) as (a, b):
        check_one_server(a, b)
        # Whichever worker of A answers, the plays are the store's: every read agrees.
        reads = {orjson.dumps(a.get("/__mock/cassettes").json()) for _ in range(6)}
        assert len(reads) == 1
