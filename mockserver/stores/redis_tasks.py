"""`RedisTaskStore`: tasks, callback cursors and the delivery log in Redis, shared by replicas on any host.

The same rules as `SqliteStore`, with Redis as the referee: every decision is one Lua script (run with
EVALSHA), so replicas that submit to one worker pool at once never admit past its size or concurrency,
and a callback transition is claimed by exactly one of them. Admission is optimistic: the pool is read,
the record built for that admission, and the insert script re-reads the pool and refuses ("stale") when
it changed meanwhile; the store then starts over (the builders are pure, so building twice is harmless).

Keys, all under `<prefix>:tasks:` (`?prefix=` in the URL, so emulators sharing a Redis never meet):
`rec` (hash id -> record JSON), `times` (hash id -> the plan's times, for the scripts), `order` and
`by:v:`/`by:o:`/`by:vo:` (submission order, per vendor / owner / both), `pool:end:`/`pool:start:` per
queue (when tasks free and take a worker), `next` (hash id -> callback cursor), `due` (sorted set of the
cursor's due time, idle tasks only), `leases` (sorted set of wall time a claim expires), `owners` (hash
id -> claiming instance), `log` (capped list), `logseq`, `totals`, and `keys` (the per-queue and
per-vendor keys made, so `clear` deletes exactly what is ours without scanning or FLUSHDB; it keeps the
two counters, so a seq is never reused). No TTLs: like sqlite, records live until `clear` (a task may be
fetched long after it ended); the log is capped at `LOG_SIZE`, the totals are counted without limit.

Leases are in wall time, by default Redis's own `TIME`, so replicas with skewed clocks agree on when a
lease runs out. `adopt_instance(port)` frees at once the claims of a dead predecessor of this process,
only when that predecessor provably ran on this machine: same hostname, same kernel boot and the same
pid namespace (a pid from another host or container says nothing about its process). Any other dead
replica's claims are taken over when their lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from mockserver.stores import redis_tasks_lua as lua
from mockserver.stores.base import (
    EPSILON,
    LOG_SIZE,
    BuildRecord,
    Claim,
    ExtendRecord,
    count_attempt,
    first_callback_step,
)
from mockserver.stores.redis_link import RedisLink
from mockserver.tasks.model import Admission, DuplicateTaskId, QueueFull, QueuePolicy, TaskRecord

log = logging.getLogger("mockserver.tasks")

# Wall seconds a callback claim is exclusive; then another replica may take it over.
LEASE_SECONDS = 300.0
# Pool entries that ended this long (virtual seconds) before a submission are dropped from the pool sets,
# which so stay as small as the pool (the memory store drops them at once; an hour of slack covers
# replicas whose `now` differ by a request's duration).
POOL_HORIZON = 3600.0
# Optimistic admissions before giving up: each round at least one racing replica wins, so this bounds
# a pool hammered by that many replicas at once.
_ROUNDS = 200
_TOTALS = ("attempts", "delivered", "failed")


class RedisUnavailable(RuntimeError):
    """The Redis of a `--store redis://...` URL does not answer; the message names the URL."""


def _alive(pid: int) -> bool:
    """Whether a process with this id runs in this pid namespace (signal 0 checks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def machine_scope() -> str:
    """This process's kernel boot and pid namespace: two instances with equal scopes can check each
    other's pids. Empty parts where /proc does not tell (then the hostname alone decides)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = ""
    return f"{boot}/{namespace}"


def _times(record: TaskRecord) -> str:
    return " ".join([repr(record.submitted_at), *(str(step.at_ms) for step in record.steps)])


def _pool_args(record: TaskRecord) -> list[str]:
    """(run_start, run_end) as score strings; both empty for a task that holds no worker."""
    start, end = record.run_start, record.run_end
    if record.queue is None or start is None or end is None:
        return ["", ""]
    return [repr(start), repr(end)]


class RedisTaskStore:
    """Records, callback cursors and the delivery log in Redis (see the module doc for the keys)."""

    def __init__(
        self, url: str | RedisLink, *, wall: Callable[[], float] | None = None, lease: float = LEASE_SECONDS
    ) -> None:
        self.link = url if isinstance(url, RedisLink) else RedisLink(url)
        self.lease = lease
        self.url = self.link.url
        # None: leases are measured on the Redis server's clock
        self._wall = wall
        self.instance = ""
        self._scope = machine_scope()
        base = self.link.key("tasks")
        self._base = base
        k = {name: f"{base}:{name}" for name in ("rec", "order", "seq", "next", "due", "times", "keys")}
        k.update({name: f"{base}:{name}" for name in ("leases", "owners", "log", "logseq", "totals")})
        self._k = k
        self._scripts: dict[str, Any] = {}

    # -- plumbing --------------------------------------------------------------------------------
    def _client(self) -> Any:
        return self.link.client()

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        client = self._client()
        script = self._scripts.get(name)
        if script is None:  # the sha is the same for every client: register once, run on any
            script = self._scripts[name] = client.register_script(getattr(lua, name))
        return await script(keys=keys, args=args, client=client)

    def _index_keys(self, record: TaskRecord) -> list[str]:
        v, o = record.vendor, record.owner
        return [f"{self._base}:by:v:{v}", f"{self._base}:by:o:{o}", f"{self._base}:by:vo:{len(v)}:{v}:{o}"]

    def _pool_keys(self, queue: str | None) -> list[str]:
        name = queue or ""
        return [f"{self._base}:pool:end:{name}", f"{self._base}:pool:start:{name}"]

    @staticmethod
    def _decode(blob: bytes) -> TaskRecord:
        return TaskRecord.from_dict(orjson.loads(blob))

    @staticmethod
    def _encode(record: TaskRecord) -> bytes:
        return orjson.dumps(record.to_dict())

    # -- records ---------------------------------------------------------------------------------
    async def _admission(self, policy: QueuePolicy | None, now: float) -> tuple[Admission, list[str]]:
        """The pool's answer at `now` and what it was read from (for the write to check it still holds)."""
        if policy is None:
            return Admission(), ["0", "0", "0", "0", ""]
        holding, waiting, free_at = await self._run(
            "POOL", self._pool_keys(policy.key), [repr(now), policy.concurrency]
        )
        holding, waiting = int(holding), int(waiting)
        free = free_at.decode() if isinstance(free_at, bytes) else str(free_at)
        seen = ["1", str(policy.concurrency), str(holding), str(waiting), free]
        if waiting >= policy.size:
            raise QueueFull(waiting)
        if holding < policy.concurrency or not free:
            return Admission(ahead=waiting, wait_ms=0), seen
        return Admission(ahead=waiting, wait_ms=max(0, round((float(free) - now) * 1000))), seen

    async def _backoff(self, round_: int) -> None:
        if round_ >= 3:  # a crowd on one pool: spread the retries out a little
            await asyncio.sleep(random.uniform(0, 0.002 * min(round_, 20)))

    async def submit(self, build: BuildRecord, policy: QueuePolicy | None, now: float) -> tuple[TaskRecord, Admission]:
        k = self._k
        for round_ in range(_ROUNDS):
            admission, seen = await self._admission(policy, now)
            record = build(admission)
            first = first_callback_step(record)
            keys = [k["rec"], k["order"], k["seq"], k["next"], k["due"], k["times"], k["keys"]]
            keys += [*self._index_keys(record), *self._pool_keys(record.queue)]
            keys += self._pool_keys(policy.key if policy else None)
            args = [record.id, self._encode(record), _times(record), repr(now), *seen, *_pool_args(record)]
            args += ["", ""] if first is None else [str(first), repr(record.step_time(first))]
            args.append(repr(now - POOL_HORIZON))
            outcome = await self._run("SUBMIT", keys, args)
            if outcome == b"ok":
                return record, admission
            if outcome == b"dup":
                raise DuplicateTaskId(record.id)
            await self._backoff(round_)
        raise RuntimeError(f"task {record.id}: the worker pool kept changing for {_ROUNDS} admissions")

    async def extend(
        self, task_id: str, build: ExtendRecord, policy: QueuePolicy | None, now: float
    ) -> tuple[TaskRecord, Admission]:
        k = self._k
        for round_ in range(_ROUNDS):
            blob = await self._client().hget(k["rec"], task_id)
            if blob is None:
                raise KeyError(task_id)
            old = self._decode(blob)
            admission, seen = await self._admission(policy, now)
            record = build(old, admission)
            if record.id != task_id:
                raise ValueError("extend must keep the task id")
            first = first_callback_step(record)
            keys = [k["rec"], k["next"], k["due"], k["times"], k["keys"], k["leases"], k["order"]]
            keys += [*self._index_keys(old), *self._index_keys(record)]
            keys += [*self._pool_keys(old.queue), *self._pool_keys(record.queue)]
            keys += self._pool_keys(policy.key if policy else None)
            args = [task_id, blob, self._encode(record), _times(record), repr(now), *seen, *_pool_args(record)]
            args += ["" if first is None else str(first), repr(now - POOL_HORIZON)]
            outcome = await self._run("EXTEND", keys, args)
            if outcome == b"ok":
                return record, admission
            if outcome == b"gone":
                raise KeyError(task_id)
            await self._backoff(round_)
        raise RuntimeError(f"task {task_id}: it or its pool kept changing for {_ROUNDS} attempts to extend it")

    async def get(self, task_id: str) -> TaskRecord | None:
        blob = await self._client().hget(self._k["rec"], task_id)
        return None if blob is None else self._decode(blob)

    async def get_many(self, ids: Iterable[str]) -> list[TaskRecord]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        blobs = await self._client().hmget(self._k["rec"], wanted)
        return [self._decode(blob) for blob in blobs if blob is not None]

    async def records(
        self, *, vendor: str | None = None, owner: str | None = None, limit: int | None = None
    ) -> list[TaskRecord]:
        base = self._base
        if vendor is not None and owner is not None:
            index = f"{base}:by:vo:{len(vendor)}:{vendor}:{owner}"
        elif vendor is not None:
            index = f"{base}:by:v:{vendor}"
        elif owner is not None:
            index = f"{base}:by:o:{owner}"
        else:
            index = self._k["order"]
        cap = -1 if limit is None or limit < 0 else int(limit)
        blobs = await self._run("RECORDS", [index, self._k["rec"]], [cap])
        return [self._decode(blob) for blob in blobs if blob]

    async def count(self) -> int:
        return int(await self._client().zcard(self._k["order"]))

    # -- callbacks -------------------------------------------------------------------------------
    async def claim_due(self, now: float, limit: int) -> list[Claim]:
        if limit <= 0:
            return []
        k = self._k
        owner = f"{self.instance}|{self._scope}" if self.instance else ""
        wall = "" if self._wall is None else repr(self._wall())
        keys = [k["due"], k["leases"], k["next"], k["times"], k["rec"], k["owners"]]
        args = [repr(now + EPSILON), repr(now), wall, repr(self.lease), limit, owner]
        rows = await self._run("CLAIM", keys, args)
        return [Claim(self._decode(blob), int(start), int(end)) for _, start, end, blob in rows]

    async def complete(self, claim: Claim, upto: int | None = None) -> None:
        done = claim.end if upto is None else upto
        k = self._k
        keys = [k["next"], k["due"], k["leases"], k["owners"], k["times"]]
        await self._run("COMPLETE", keys, [claim.record.id, claim.start, done])

    # -- instances -------------------------------------------------------------------------------
    async def adopt_instance(self, port: int) -> int:
        """Name this process's claims `host:port#pid` and release, at once, the claims of earlier
        processes of this host and port, on this machine and pid namespace, that no longer run (a crash
        or `kill -9` left them); returns how many were released. Claims of live processes, and of
        processes elsewhere, keep their lease."""
        prefix = f"{socket.gethostname()}:{port}#"
        self.instance = f"{prefix}{os.getpid()}"
        k = self._k
        owners: dict[bytes, bytes] = await self._client().hgetall(k["owners"])
        released = 0
        for task_id, raw in owners.items():
            owner = raw.decode(errors="replace")
            instance, _, scope = owner.rpartition("|")
            pid = instance[len(prefix) :]
            if not instance.startswith(prefix) or scope != self._scope or instance == self.instance:
                continue
            if not pid.isdigit() or _alive(int(pid)):
                continue
            keys = [k["owners"], k["leases"], k["due"], k["next"], k["times"]]
            released += int(await self._run("RELEASE", keys, [task_id, raw]))
        if released:
            log.warning(
                "store %s: took over %d callback claims of a stopped server on port %d", self.url, released, port
            )
        return released

    # -- the delivery log ----------------------------------------------------------------------------
    async def log_attempt(self, entry: dict[str, Any]) -> None:
        totals = dict.fromkeys(_TOTALS, 0)
        count_attempt(totals, entry)
        k = self._k
        task = orjson.dumps(str(entry["task"]))
        args = [task, orjson.dumps(entry), LOG_SIZE, *(totals[name] for name in _TOTALS)]
        await self._run("LOG", [k["log"], k["logseq"], k["totals"]], args)

    async def attempts(self, *, task: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        cap = LOG_SIZE if limit is None or limit < 0 else min(int(limit), LOG_SIZE)
        if cap == 0:
            return []
        if task is None:
            rows = await self._client().lrange(self._k["log"], -cap, -1)
        else:
            rows = await self._run("TASK_ATTEMPTS", [self._k["log"]], [orjson.dumps(task), cap])
        entries = []
        for row in rows:
            _, seq, blob = bytes(row).split(b"\t", 2)
            entries.append({"seq": int(seq), **orjson.loads(blob)})
        return entries

    async def attempt_totals(self) -> dict[str, int]:
        values = await self._client().hmget(self._k["totals"], list(_TOTALS))
        return {name: int(value or 0) for name, value in zip(_TOTALS, values, strict=True)}

    async def clear(self) -> None:
        k = self._k
        # the two counters stay, as sqlite's AUTOINCREMENT does: a seq is never handed out twice
        kept = ("keys", "seq", "logseq")
        await self._run("CLEAR", [k["keys"], *(key for name, key in k.items() if name not in kept)], [])

    async def check(self) -> None:
        """Raise `RedisUnavailable` naming the URL unless a Redis answers there (call it at start-up, so an
        unreachable `--store` fails the start and not the first request)."""
        from redis.exceptions import RedisError

        try:
            await self._client().ping()
        except (RedisError, OSError) as exc:
            raise RedisUnavailable(f"--store {self.url}: no Redis answers there ({exc})") from exc

    async def close(self) -> None:
        """Close this event loop's client (clients of other loops close with their loops)."""
        await self.link.aclose()
