"""What only the sqlite store does: `open_store` URLs, the shared clock in the file, and taking over the
callback claims of a dead predecessor on the same host and port."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.clock import VirtualClock
from mockserver.stores import MemoryStore, open_store
from mockserver.stores.shared_clock import SharedClock
from mockserver.stores.sqlite import SqliteStore
from tests.tasks.test_stores import submit


def test_open_store_urls_give_the_store_and_its_clock(tmp_path: Path) -> None:
    memory = open_store("memory")
    assert isinstance(memory.tasks, MemoryStore) and type(memory.clock) is VirtualClock
    opened = open_store(f"sqlite:///{tmp_path}/x/tasks.db", start=1000.0, speed=0.0)
    made, shared = opened.tasks, opened.clock
    assert isinstance(made, SqliteStore) and (tmp_path / "x" / "tasks.db").exists()
    assert isinstance(shared, SharedClock) and shared.now() == 1000.0  # processes on the file share its time
    asyncio.run(made.close())
    with pytest.raises(ValueError, match="memory or sqlite"):
        open_store("redis://localhost")
    with pytest.raises(ValueError, match="file path"):
        open_store("sqlite:///")


def test_shared_clock_is_one_clock_for_every_connection(tmp_path: Path) -> None:
    wall = [1000.0]
    path = str(tmp_path / "clock.db")
    a_store, b_store = SqliteStore(path), SqliteStore(path)
    a = SharedClock(a_store, speed=0.0, start=5000.0, wall=lambda: wall[0])
    b = SharedClock(b_store, speed=0.0, start=9999.0, wall=lambda: wall[0])  # the file's clock wins
    assert a.now() == b.now() == 5000.0
    a.advance(30)
    assert b.now() == 5030.0 and b.describe()["shared"] is True and b.offset == 30.0
    with pytest.raises(ValueError):
        b.advance(-1)
    # a process with another speed re-anchors at the current time: time never jumps back
    wall[0] = 1010.0
    c = SharedClock(SqliteStore(path), speed=2.0, start=None, wall=lambda: wall[0])
    assert c.now() == 5030.0
    wall[0] = 1015.0
    assert a.now() == b.now() == c.now() == 5040.0
    a.reset()
    assert b.now() == 5000.0
    for clock in (a, b, c):
        asyncio.run(clock._store.close())


def _dead_pid() -> int:
    """The id of a process that has exited (its claims are orphans)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_restarted_server_takes_over_its_dead_predecessors_claims(tmp_path: Path) -> None:
    path = str(tmp_path / "tasks.db")

    async def scenario() -> None:
        crashed, restarted, other_port = SqliteStore(path), SqliteStore(path), SqliteStore(path)
        try:
            await submit(crashed, "a", 0.0)
            await submit(crashed, "b", 0.0)
            assert await other_port.adopt_instance(9001) == 0
            (held,) = await other_port.claim_due(2.0, 1)  # a live server on another port holds one task
            await crashed.adopt_instance(9000)
            crashed.instance = crashed.instance.rsplit("#", 1)[0] + f"#{_dead_pid()}"
            (orphan,) = await crashed.claim_due(2.0, 10)  # the other; then its process dies mid-delivery
            assert {orphan.record.id, held.record.id} == {"a", "b"}
            assert await restarted.claim_due(2.0, 10) == []  # both leases still hold
            assert await restarted.adopt_instance(9000) == 1  # same port: the dead one's claim is free at once
            (again,) = await restarted.claim_due(2.0, 10)
            assert (again.record.id, again.start, again.end) == (orphan.record.id, 1, 2)
        finally:
            for store in (crashed, restarted, other_port):
                await store.close()

    asyncio.run(scenario())
