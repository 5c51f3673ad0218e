"""`SharedState` conformance: the same behaviour from memory, sqlite and a real Redis, and, for the shared
stores, the same state seen from two independent connections (as two workers or replicas see it)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mockserver.stores.memory_state import MemoryState
from mockserver.stores.redis_link import RedisLink
from mockserver.stores.redis_state import RedisState
from mockserver.stores.shared_base import SharedState
from mockserver.stores.sqlite_state import SqliteState
from tests.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]

T = TypeVar("T")
Factory = Callable[..., SharedState]


_LINKS: list[RedisLink] = []


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` in a loop of its own, closing the Redis clients it opened with the loop."""

    async def main() -> T:
        try:
            return await coro
        finally:
            for link in list(_LINKS):
                await link.aclose()

    return asyncio.run(main())


@pytest.fixture(params=["memory", "sqlite", "redis"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Opens a store of one kind; every call is another connection to the same state (memory: the same one)."""
    made: list[SharedState] = []
    if request.param == "memory":
        single = MemoryState(journal_size=5)

        def open_memory(**_: Any) -> SharedState:
            return single

        yield open_memory
        return
    if request.param == "sqlite":
        path = str(tmp_path / "state.db")

        def open_sqlite(**limits: Any) -> SharedState:
            made.append(SqliteState(path, **{"journal_size": 5, **limits}))
            return made[-1]

        yield open_sqlite
    else:
        url = request.getfixturevalue("redis_url")

        def open_redis(**limits: Any) -> SharedState:
            link = RedisLink(url)
            _LINKS.append(link)
            made.append(RedisState(link, **{"journal_size": 5, **limits}))
            return made[-1]

        yield open_redis
        _LINKS.clear()


def test_calls_are_counted_per_key(opener: Factory) -> None:
    a, b = opener(), opener()

    async def go() -> list[int]:
        return [(await s.begin(k))[0] for s, k in ((a, b"x"), (b, b"x"), (a, b"y"), (b, b"x"))]

    assert run(go()) == [0, 1, 0, 2]


def test_the_document_changes_atomically_and_bumps_the_generation(opener: Factory) -> None:
    a, b = opener(), opener()

    async def go() -> None:
        gen0, doc = await a.document()
        assert doc == {}
        gen1, doc = await a.change(lambda d: {**d, "faults": [{"id": "f1"}]})
        assert gen1 == gen0 + 1 and doc == {"faults": [{"id": "f1"}]}
        assert (await b.document()) == (gen1, doc)
        assert (await b.begin(b"k"))[1] == gen1  # the generation rides along with each call's count
        same, _ = await b.change(lambda d: None)  # no change: no new generation
        assert same == gen1
        kept, doc = await b.change(lambda d: {"x": 1}, initial=True)  # already written: left alone
        assert (kept, doc) == (gen1, {"faults": [{"id": "f1"}]})

    run(go())


def test_a_rule_fires_times_times_in_total(opener: Factory) -> None:
    a, b = opener(), opener()

    async def go() -> list[bool]:
        return [await (a if i % 2 else b).fire("faults", "r1", 3, 1.0, 0) for i in range(6)]

    assert run(go()) == [True, True, True, False, False, False]
    assert run(a.hits("faults")) == {"r1": 3}
    assert run(b.hits("stubs")) == {}


def test_probability_draws_are_deterministic(opener: Factory) -> None:
    a = opener()

    async def go() -> list[bool]:
        return [await a.fire("faults", "p", None, 0.5, 7) for _ in range(40)]

    first = run(go())
    assert 5 < sum(first) < 35
    run(a.reset())
    assert run(go()) == first
    assert run(a.hits("faults")) == {"p": sum(first)}


def test_the_journal_keeps_the_newest_within_its_bounds(opener: Factory) -> None:
    a, b = opener(), opener()

    async def go() -> None:
        ids = [await (a if i % 2 else b).journal_add(f"e{i}".encode(), 10) for i in range(8)]
        assert ids == sorted(ids) and len(set(ids)) == 8
        kept = await b.journal_read()
        assert [e for _, e in kept] == [b"e3", b"e4", b"e5", b"e6", b"e7"]
        assert [e for _, e in await a.journal_read(after=ids[5])] == [b"e6", b"e7"]
        await a.journal_clear()
        assert await b.journal_read() == []
        later = await b.journal_add(b"x", 1)
        assert later > ids[-1]  # ids keep growing after a clear

    run(go())


@pytest.mark.parametrize("opener", ["sqlite", "redis"], indirect=True)  # memory: the Journal bounds itself
def test_the_journal_is_bounded_in_bytes(opener: Factory) -> None:
    a = opener(journal_max_bytes=25)

    async def go() -> list[bytes]:
        for i in range(4):
            await a.journal_add(f"e{i}".encode(), 10)
        return [e for _, e in await a.journal_read()]

    assert run(go()) == [b"e2", b"e3"]


def test_ids_stay_unique_when_the_candidate_stands_still(opener: Factory) -> None:
    a, b = opener(), opener()
    big = 1_764_859_200_000_123  # Midjourney-sized: past a double's exact integers

    async def go() -> list[int]:
        return [await (a if i % 2 else b).next_id("mj", big) for i in range(4)] + [await a.next_id("mj", big + 10)]

    assert run(go()) == [big, big + 1, big + 2, big + 3, big + 10]


def test_family_values_are_shared(opener: Factory) -> None:
    a, b = opener(), opener()

    async def go() -> None:
        await a.put("responses", "resp_1", b'{"x":1}')
        assert await b.get("responses", "resp_1") == b'{"x":1}'
        assert await b.get("responses", "nope") is None
        await b.put("responses", "resp_1", b"2")
        assert await a.get("responses", "resp_1") == b"2"

    run(go())


def test_reset_forgets_everything_but_the_document(opener: Factory) -> None:
    a, b = opener(), opener()

    async def go() -> None:
        await a.begin(b"k")
        await a.fire("faults", "r", None, 1.0, 0)
        await a.journal_add(b"e", 1)
        await a.next_id("mj", 5)
        await a.put("s", "k", b"v")
        gen, _ = await a.change(lambda d: {"kept": True})
        await b.reset()
        assert (await a.begin(b"k"))[0] == 0
        assert await a.hits("faults") == {}
        assert await a.journal_read() == []
        assert await a.next_id("mj", 1) == 1
        assert await a.get("s", "k") is None
        assert await a.document() == (gen, {"kept": True})

    run(go())


@pytest.mark.parametrize("opener", ["sqlite", "redis"], indirect=True)  # memory: one process, nothing races
def test_racing_processes_never_pass_times(opener: Factory) -> None:
    """Four threads, each with its own connection and event loop, race one rule with times=25."""
    fired: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        state = opener()

        async def go() -> list[bool]:
            return [await state.fire("faults", "race", 25, 1.0, 0) for _ in range(20)]

        got = run(go())
        with lock:
            fired.extend(got)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(fired) == 25 and len(fired) == 80


def test_redis_runs_its_scripts_again_after_a_script_flush(redis_url: str) -> None:
    link = RedisLink(redis_url)
    _LINKS.append(link)
    state = RedisState(link)

    async def go() -> list[int]:
        first = (await state.begin(b"k"))[0]
        await link.client().script_flush()
        return [first, (await state.begin(b"k"))[0], await state.journal_add(b"e", 1)]

    assert run(go())[:2] == [0, 1]


def test_concurrent_calls_share_a_round_trip_and_keep_their_own_answers(redis_url: str, tmp_path: Path) -> None:
    """Calls in flight at once are batched (one pipeline, one commit): each still gets its own count."""
    link = RedisLink(redis_url)
    _LINKS.append(link)
    for state in (RedisState(link), SqliteState(str(tmp_path / "batch.db"))):

        async def go(state: SharedState = state) -> list[int]:
            counts = await asyncio.gather(*[state.begin(b"same") for _ in range(40)])
            ids = await asyncio.gather(*[state.journal_add(b"e", 1) for _ in range(40)])
            assert sorted(ids) == list(ids) and len(set(ids)) == 40
            return sorted(n for n, _ in counts)

        assert run(go()) == list(range(40))
