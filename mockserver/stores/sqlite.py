"""`SqliteStore`: tasks in one SQLite file, shared by every server process that opens it, kept across restarts.

Each decision is one `BEGIN IMMEDIATE` transaction (SQLite's write lock), so two processes admitting
tasks to one pool, or claiming the same callback transition, are serialised: a transition is claimed by
exactly one process (compare-and-set on the task's callback cursor). A claim carries a lease in wall
time; if the claiming process dies, another process may take the transition over once the lease has
run out. Each claim also names its instance (`host:port#pid`): a server restarted on the same host and
port takes over the claims of its own dead predecessors at once (`adopt_instance`), without waiting
for their leases.

The same file holds the rest of the emulator's shared state (`SqliteState`: counters, rules, journal and
the clock's settings) and the gateway's keys, each in tables of their own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from mockserver.stores.base import (
    EPSILON,
    LOG_SIZE,
    BuildRecord,
    Claim,
    ExtendRecord,
    count_attempt,
    due_end,
    first_callback_step,
)
from mockserver.stores.sqlite_db import connect, write_transaction
from mockserver.tasks.model import Admission, DuplicateTaskId, QueueFull, QueuePolicy, TaskRecord

log = logging.getLogger("mockserver.tasks")

# Wall seconds a callback claim is exclusive; then another process may take it over.
LEASE_SECONDS = 300.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    vendor TEXT NOT NULL,
    owner TEXT NOT NULL,
    queue TEXT,
    run_start REAL,  -- when the task holds a worker of its queue (NULL: it holds none)
    run_end REAL,    -- when it lets go of it (NULL likewise)
    record BLOB NOT NULL,
    cb_next INTEGER,
    cb_claimed INTEGER,
    cb_due REAL,
    cb_lease REAL
);
CREATE INDEX IF NOT EXISTS tasks_pool ON tasks (queue, run_end);
CREATE INDEX IF NOT EXISTS tasks_waiting ON tasks (queue, run_start);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (cb_due) WHERE cb_due IS NOT NULL;
CREATE TABLE IF NOT EXISTS claim_owners (task TEXT PRIMARY KEY, owner TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS callbacks (seq INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT NOT NULL, entry BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS callbacks_task ON callbacks (task);
CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_TOTALS = ("attempts", "delivered", "failed")


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (signal 0 checks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _pool_times(record: TaskRecord) -> tuple[float | None, float | None]:
    """(run_start, run_end) for the pool indexes; both NULL for a task that holds no worker."""
    start = record.run_start
    return (None, None) if start is None else (start, record.run_end)


class SqliteStore:
    """Records and callback cursors in a SQLite file (WAL mode; safe for several processes)."""

    def __init__(self, path: str, *, wall: Callable[[], float] = time.time, lease: float = LEASE_SECONDS) -> None:
        self.path = path
        self.lease = lease
        self.url = f"sqlite:///{path}"
        self._wall = wall
        self._lock = threading.RLock()
        self._db = connect(path, _SCHEMA)
        with self._write() as db:
            for name in _TOTALS:
                db.execute("INSERT OR IGNORE INTO totals (name, value) VALUES (?, 0)", (name,))
        self._log_writes = 0
        self.instance = ""

    # -- plumbing --------------------------------------------------------------------------------
    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction, holding SQLite's write lock from the start."""
        return write_transaction(self._db, self._lock)

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    @staticmethod
    def _decode(blob: bytes) -> TaskRecord:
        return TaskRecord.from_dict(orjson.loads(blob))

    @staticmethod
    def _encode(record: TaskRecord) -> bytes:
        return orjson.dumps(record.to_dict())

    # -- records ---------------------------------------------------------------------------------
    def _admission(self, db: sqlite3.Connection, policy: QueuePolicy | None, now: float) -> Admission:
        """The pool's answer from two index counts (and one index seek when the pool is full)."""
        if policy is None:
            return Admission()
        (holding,) = db.execute(
            "SELECT COUNT(*) FROM tasks WHERE queue = ? AND run_end > ?", (policy.key, now)
        ).fetchone()
        (waiting,) = db.execute(
            "SELECT COUNT(*) FROM tasks WHERE queue = ? AND run_start > ?", (policy.key, now)
        ).fetchone()
        holding, waiting = int(holding), int(waiting)
        if waiting >= policy.size:
            raise QueueFull(waiting)
        if holding < policy.concurrency:
            return Admission(ahead=waiting, wait_ms=0)
        (free_at,) = db.execute(
            "SELECT run_end FROM tasks WHERE queue = ? AND run_end > ? ORDER BY run_end LIMIT 1 OFFSET ?",
            (policy.key, now, holding - policy.concurrency),
        ).fetchone()
        return Admission(ahead=waiting, wait_ms=max(0, round((float(free_at) - now) * 1000)))

    def _cursor_fields(self, record: TaskRecord) -> tuple[int | None, float | None]:
        first = first_callback_step(record)
        if first is None:
            return None, None
        return first, record.step_time(first)

    async def submit(self, build: BuildRecord, policy: QueuePolicy | None, now: float) -> tuple[TaskRecord, Admission]:
        with self._write() as db:
            admission = self._admission(db, policy, now)
            record = build(admission)
            cb_next, cb_due = self._cursor_fields(record)
            try:
                db.execute(
                    "INSERT INTO tasks (id, vendor, owner, queue, run_start, run_end, record, cb_next, cb_claimed,"
                    " cb_due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.id,
                        record.vendor,
                        record.owner,
                        record.queue,
                        *_pool_times(record),
                        self._encode(record),
                        cb_next,
                        cb_next,
                        cb_due,
                    ),
                )
            except sqlite3.IntegrityError:
                raise DuplicateTaskId(record.id) from None
            return record, admission

    async def extend(
        self, task_id: str, build: ExtendRecord, policy: QueuePolicy | None, now: float
    ) -> tuple[TaskRecord, Admission]:
        with self._write() as db:
            row = db.execute("SELECT record, cb_next, cb_claimed FROM tasks WHERE id = ?", (task_id,)).fetchone()
            if row is None:
                raise KeyError(task_id)
            admission = self._admission(db, policy, now)
            record = build(self._decode(row[0]), admission)
            if record.id != task_id:
                raise ValueError("extend must keep the task id")
            cb_next, cb_claimed = row[1], row[2]
            if cb_next is None:
                cb_next, _ = self._cursor_fields(record)
                cb_claimed = cb_next
            idle = cb_next is not None and cb_next == cb_claimed and cb_next < len(record.steps)
            due = record.step_time(cb_next) if idle and cb_next is not None else None
            db.execute(
                "UPDATE tasks SET record = ?, queue = ?, run_start = ?, run_end = ?, cb_next = ?, cb_claimed = ?,"
                " cb_due = COALESCE(?, cb_due) WHERE id = ?",
                (
                    self._encode(record),
                    record.queue,
                    *_pool_times(record),
                    cb_next,
                    cb_claimed,
                    due,
                    task_id,
                ),
            )
            return record, admission

    async def get(self, task_id: str) -> TaskRecord | None:
        rows = self._read("SELECT record FROM tasks WHERE id = ?", (task_id,))
        return self._decode(rows[0][0]) if rows else None

    async def get_many(self, ids: Iterable[str]) -> list[TaskRecord]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, TaskRecord] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for (blob,) in self._read(f"SELECT record FROM tasks WHERE id IN ({marks})", chunk):
                record = self._decode(blob)
                found[record.id] = record
        return [found[i] for i in wanted if i in found]

    async def records(
        self, *, vendor: str | None = None, owner: str | None = None, limit: int | None = None
    ) -> list[TaskRecord]:
        where, params = [], []
        if vendor is not None:
            where.append("vendor = ?")
            params.append(vendor)
        if owner is not None:
            where.append("owner = ?")
            params.append(owner)
        sql = "SELECT record FROM tasks" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq DESC"
        if limit is not None and limit >= 0:
            sql += f" LIMIT {int(limit)}"
        rows = self._read(sql, params)
        return [self._decode(blob) for (blob,) in reversed(rows)]

    async def count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM tasks")[0][0])

    # -- callbacks -------------------------------------------------------------------------------
    async def claim_due(self, now: float, limit: int) -> list[Claim]:
        wall = self._wall()
        claims: list[Claim] = []
        due = "cb_due IS NOT NULL AND cb_due <= ? AND (cb_claimed = cb_next OR cb_lease < ?)"
        if not self._read(f"SELECT 1 FROM tasks WHERE {due} LIMIT 1", (now + EPSILON, wall)):
            return claims  # the usual case: nothing due, and no write lock taken to learn it
        with self._write() as db:
            rows = db.execute(
                f"SELECT id, record, cb_next FROM tasks WHERE {due} ORDER BY cb_due LIMIT ?",
                (now + EPSILON, wall, limit),
            ).fetchall()
            for task_id, blob, start in rows:
                record = self._decode(blob)
                end = due_end(record, start, now)
                if end == start:
                    continue
                db.execute(
                    "UPDATE tasks SET cb_claimed = ?, cb_lease = ? WHERE id = ? AND cb_next = ?",
                    (end, wall + self.lease, task_id, start),
                )
                if self.instance:
                    db.execute(
                        "INSERT OR REPLACE INTO claim_owners (task, owner) VALUES (?, ?)", (task_id, self.instance)
                    )
                claims.append(Claim(record, start, end))
        return claims

    async def complete(self, claim: Claim, upto: int | None = None) -> None:
        done = claim.end if upto is None else upto
        with self._write() as db:
            row = db.execute(
                "SELECT record, cb_next FROM tasks WHERE id = ?",
                (claim.record.id,),
            ).fetchone()
            if row is None or row[1] != claim.start:
                return
            record = self._decode(row[0])
            due = record.step_time(done) if done < len(record.steps) else None
            db.execute(
                "UPDATE tasks SET cb_next = ?, cb_claimed = ?, cb_due = ?, cb_lease = NULL"
                " WHERE id = ? AND cb_next = ?",
                (done, done, due, claim.record.id, claim.start),
            )
            db.execute("DELETE FROM claim_owners WHERE task = ?", (claim.record.id,))

    # -- instances -------------------------------------------------------------------------------
    async def adopt_instance(self, port: int) -> int:
        """Name this process's claims `host:port#pid` and release, at once, the claims of earlier
        processes on this host and port that are no longer running (a crash or `kill -9` left them);
        returns how many were released. Claims of live processes keep their lease."""
        prefix = f"{socket.gethostname()}:{port}#"
        self.instance = f"{prefix}{os.getpid()}"
        released = 0
        with self._write() as db:
            rows = db.execute(
                "SELECT task, owner FROM claim_owners WHERE substr(owner, 1, ?) = ?", (len(prefix), prefix)
            ).fetchall()
            for task_id, owner in rows:
                pid = owner[len(prefix) :]
                if owner == self.instance or not pid.isdigit() or _alive(int(pid)):
                    continue
                db.execute(
                    "UPDATE tasks SET cb_claimed = cb_next, cb_lease = NULL WHERE id = ? AND cb_claimed != cb_next",
                    (task_id,),
                )
                db.execute("DELETE FROM claim_owners WHERE task = ?", (task_id,))
                released += 1
        if released:
            log.warning(
                "store %s: took over %d callback claims of a stopped server on port %d", self.path, released, port
            )
        return released

    async def log_attempt(self, entry: dict[str, Any]) -> None:
        totals = dict.fromkeys(_TOTALS, 0)
        count_attempt(totals, entry)
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO callbacks (task, entry) VALUES (?, ?)", (entry["task"], orjson.dumps(entry))
            )
            for name, value in totals.items():
                if value:
                    db.execute("UPDATE totals SET value = value + ? WHERE name = ?", (value, name))
            self._log_writes += 1
            if self._log_writes % 1000 == 0 and cursor.lastrowid is not None:
                db.execute("DELETE FROM callbacks WHERE seq <= ?", (cursor.lastrowid - LOG_SIZE,))

    async def attempts(self, *, task: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT seq, entry FROM callbacks" + (" WHERE task = ?" if task is not None else "") + " ORDER BY seq DESC"
        )
        cap = LOG_SIZE if limit is None or limit < 0 else min(int(limit), LOG_SIZE)
        rows = self._read(sql + f" LIMIT {cap}", [task] if task is not None else [])
        return [{"seq": seq, **orjson.loads(blob)} for seq, blob in reversed(rows)]

    async def attempt_totals(self) -> dict[str, int]:
        return {name: int(value) for name, value in self._read("SELECT name, value FROM totals")}

    async def clear(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM tasks")
            db.execute("DELETE FROM callbacks")
            db.execute("DELETE FROM claim_owners")
            db.execute("UPDATE totals SET value = 0")

    async def close(self) -> None:
        with self._lock:
            self._db.close()
