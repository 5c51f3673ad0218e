"""What only the sqlite store does: `open_store` URLs, and taking over the
callback claims of a dead predecessor on the same host and port."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mockserver.clock import VirtualClock
from mockserver.stores import MemoryStore, open_store
from mockserver.stores.sqlite import SqliteStore
from mockserver.stores.sqlite_state import SqliteState
from tests.tasks.test_stores import submit


def test_open_store_urls_give_the_store_and_its_clock(tmp_path: Path) -> None:
    memory = open_store("memory")
    assert isinstance(memory.tasks, MemoryStore) and type(memory.clock) is VirtualClock
    opened = open_store(f"sqlite:///{tmp_path}/x/tasks.db", start=1000.0, speed=0.0)
    made = opened.tasks
    assert isinstance(made, SqliteStore) and (tmp_path / "x" / "tasks.db").exists()
    assert isinstance(opened.shared, SqliteState)  # counters, rules, journal and the clock's settings too
    assert opened.clock.real is time.time  # wall time: the one reading every process has in common
    asyncio.run(made.close())
    asyncio.run(opened.shared.close())
    with pytest.raises(ValueError, match="memory, sqlite:///PATH or redis://"):
        open_store("postgres://localhost/db")
    with pytest.raises(ValueError, match="prefix"):
        open_store("redis://localhost/0?prefix=no spaces")
    with pytest.raises(ValueError, match="file path"):
        open_store("sqlite:///")


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


def test_the_lease_follows_the_settings() -> None:
    from mockserver.setting_checks import lease_seconds
    from mockserver.settings import Settings

    assert lease_seconds(Settings()) == 300.0
    assert lease_seconds(Settings(callback_timeout=120.0)) == 2 * (3 * 120.0 + 0.5 + 1.0)  # never shorter than two
    assert lease_seconds(Settings(callback_lease=7.5, callback_retries=1, callback_timeout=1.0)) == 7.5
