"""`RedisTaskStore` as replicas share it: leases and their take-over, a restarted server adopting its dead
predecessor's claims, and replicas with clients of their own racing on one pool, one transition, one task."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable

import mockserver
from mockserver.stores.redis_tasks import LEASE_SECONDS, RedisTaskStore
from mockserver.tasks import Admission, QueueFull, QueuePolicy, TaskRecord
from tests.redis_server import redis_server, redis_url
from tests.stores.redis_task_helpers import make, race, replica, run, submit

__all__ = ["redis_server", "redis_url"]


def test_a_lease_that_ran_out_is_taken_over(redis_url: str) -> None:
    wall = [1000.0]

    async def body(store: RedisTaskStore) -> None:
        other = replica(redis_url, wall=lambda: wall[0])
        await submit(store, "a", 0.0)
        (claim,) = await store.claim_due(4.0, 10)  # its holder then dies
        wall[0] += LEASE_SECONDS - 1
        assert await other.claim_due(100.0, 10) == []
        wall[0] += 2
        (taken,) = await other.claim_due(100.0, 10)
        assert (taken.start, taken.end) == (1, 4)  # everything due by now, from where the dead one stood
        assert await store.claim_due(100.0, 10) == []  # the new lease holds
        await other.complete(taken)
        await store.complete(claim)  # the dead holder's late release finds the cursor moved: ignored
        assert await other.claim_due(1e9, 10) == []

    run(redis_url, body, wall=lambda: wall[0])


def test_leases_default_to_the_redis_servers_clock(redis_url: str) -> None:
    async def body(store: RedisTaskStore) -> None:
        (now,) = [float(s) + float(us) / 1e6 for s, us in [await store.link.client().time()]]
        await submit(store, "a", 0.0)
        assert len(await store.claim_due(100.0, 10)) == 1
        assert await replica(redis_url, wall=lambda: now + 60).claim_due(100.0, 10) == []
        later = replica(redis_url, wall=lambda: now + LEASE_SECONDS + 60)
        assert len(await later.claim_due(100.0, 10)) == 1

    run(redis_url, body)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_restarted_server_adopts_its_dead_predecessors_claims(redis_url: str) -> None:
    async def body(store: RedisTaskStore) -> None:
        host = socket.gethostname()
        holders = {
            "dead": (f"{host}:8123#{_dead_pid()}", store._scope),
            "live": (f"{host}:8123#{os.getppid()}", store._scope),
            "elsewhere": (f"{host}:8123#{_dead_pid()}", "another-boot/1"),  # same name, another machine
            "other-port": (f"{host}:9999#{_dead_pid()}", store._scope),
        }
        for name, (instance, scope) in holders.items():
            await submit(store, name, 0.0)
            holder = replica(redis_url)
            holder.instance, holder._scope = instance, scope
            assert [c.record.id for c in await holder.claim_due(4.0, 10)] == [name]
        assert await store.claim_due(4.0, 10) == []
        restarted = replica(redis_url)
        assert await restarted.adopt_instance(8123) == 1
        assert restarted.instance == f"{host}:8123#{os.getpid()}"
        (claim,) = await restarted.claim_due(4.0, 10)
        assert claim.record.id == "dead"
        assert await restarted.adopt_instance(8123) == 0  # its own claim is not released

    run(redis_url, body)


def test_replicas_racing_claim_each_transition_once(redis_url: str) -> None:
    async def hold(store: RedisTaskStore, n: int) -> list[tuple[str, int, int]]:
        held: list[tuple[str, int, int]] = []
        while claims := await store.claim_due(100.0, 3):
            held += [(c.record.id, c.start, c.end) for c in claims]
        return held

    async def deliver(store: RedisTaskStore, n: int) -> list[tuple[str, int, int]]:
        done: list[tuple[str, int, int]] = []
        while claims := await store.claim_due(6.0 if n % 2 else 100.0, 2):
            for c in claims:
                done.append((c.record.id, c.start, c.end))
                await store.complete(c)
        return done

    async def body(store: RedisTaskStore) -> None:
        for i in range(60):
            await submit(store, f"t{i}", 0.0)
        held = [claim for claims in race(redis_url, 4, hold) for claim in claims]
        assert sorted(held) == sorted((f"t{i}", 1, 4) for i in range(60))  # each once, none lost
        await store.clear()
        for i in range(60):
            await submit(store, f"t{i}", 0.0)
        delivered = [claim for claims in race(redis_url, 4, deliver) for claim in claims]
        # replicas at different times cut the steps differently, but every step goes out exactly once
        steps = sorted((task, step) for task, start, end in delivered for step in range(start, end))
        assert steps == sorted((f"t{i}", step) for i in range(60) for step in (1, 2, 3))
        assert await store.claim_due(1e9, 100) == []

    run(redis_url, body)


def test_replicas_racing_submits_never_overfill_the_pool(redis_url: str) -> None:
    policy = QueuePolicy("pool", concurrency=2, size=3)

    gate = threading.Barrier(4)

    def build(task_id: str, first: bool) -> Callable[[Admission], TaskRecord]:
        def made(admission: Admission) -> TaskRecord:
            if first:
                # every replica has read the empty pool before any of them writes: the window in
                # which a non-atomic store would admit all four to two workers
                gate.wait(30)
            return make(task_id, 0.0, admission)

        return made

    async def flood(store: RedisTaskStore, n: int) -> list[Admission | None]:
        answers: list[Admission | None] = []
        for i in range(10):
            calls = [0]

            def once(admission: Admission, i: int = i, calls: list[int] = calls) -> TaskRecord:
                calls[0] += 1
                return build(f"r{n}-{i}", i == 0 and calls[0] == 1)(admission)

            try:
                answers.append((await store.submit(once, policy, 0.0))[1])
            except QueueFull:
                answers.append(None)
        return answers

    async def body(store: RedisTaskStore) -> None:
        answers = [a for batch in race(redis_url, 4, flood) for a in batch]
        admitted = [a for a in answers if a is not None]
        assert len(answers) == 40 and len(admitted) == 5  # 2 running, 3 waiting
        assert sorted((a.wait_ms, a.ahead) for a in admitted) == [
            (0, 0),
            (0, 0),
            (10_000, 0),
            (10_000, 1),
            (20_000, 2),
        ]
        assert await store.count() == 5

    run(redis_url, body)


def test_replicas_extending_one_task_at_once_both_count(redis_url: str) -> None:
    gate = threading.Barrier(2)
    seen: list[int] = []

    async def confirm(store: RedisTaskStore, n: int) -> int:
        def build(old: TaskRecord, admission: Admission) -> TaskRecord:
            seen.append(old.version)
            if old.version == 1:
                gate.wait(30)  # both read version 1 before either writes
            return old.replanned(len(old.steps), [], data={**old.data, f"by{n}": True})

        return (await store.extend("m", build, None, 1.0))[0].version

    async def body(store: RedisTaskStore) -> None:
        await submit(store, "m", 0.0)
        assert sorted(race(redis_url, 2, confirm)) == [2, 3]
        final = await store.get("m")
        assert final is not None and final.version == 3 and dict(final.data) == {"by0": True, "by1": True}
        assert sorted(seen) == [1, 1, 2]  # the loser built again on the winner's record

    run(redis_url, body)


_HOLDER = """
import asyncio, sys
from mockserver.stores.redis_tasks import RedisTaskStore

async def main():
    store = RedisTaskStore(sys.argv[1])
    await store.adopt_instance(int(sys.argv[2]))
    claims = await store.claim_due(100.0, 10)
    print(" ".join(c.record.id for c in claims), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def test_a_replica_killed_mid_delivery_is_adopted_by_its_successor(redis_url: str) -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(mockserver.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}

    async def body(store: RedisTaskStore) -> None:
        await submit(store, "a", 0.0)
        await store.link.client().script_flush()  # as after a Redis restart: the scripts load again
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, redis_url, "8124"], stdout=subprocess.PIPE, env=env, text=True
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().split() == ["a"]
        finally:
            holder.kill()  # SIGKILL: no chance to release anything
            holder.wait(30)
            if holder.stdout is not None:
                holder.stdout.close()
        assert await store.claim_due(100.0, 10) == []  # its lease still holds
        assert await store.adopt_instance(8125) == 0  # another port's server is not its successor
        successor = replica(redis_url)
        assert await successor.adopt_instance(8124) == 1
        (claim,) = await successor.claim_due(100.0, 10)
        assert (claim.record.id, claim.start, claim.end) == ("a", 1, 4)

    run(redis_url, body)
