"""The sqlite stores' plumbing: `connect` (the file's settings), `write_transaction`, and `GroupCommit`: the
writes of concurrent calls, committed together in one transaction.

A commit is most of what a small write costs (the WAL append and the write lock). Calls in flight at
once each need one or two small writes (their repeat counter, their journal entry), so the writes asked
for during one turn of the event loop are queued and run, in order, in one `BEGIN IMMEDIATE` ... `COMMIT`
at the start of the next turn; every caller gets its own result (or its own error) when that commit is
done. A lone call pays one loop turn of latency; a busy server pays one commit per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], Any]


def connect(path: str, schema: str) -> sqlite3.Connection:
    """A connection to the store file `path` (its folder made if missing), WAL mode, commits not fsynced
    (an emulator's state need not survive a power cut), waiting up to 30 s for another process's write
    lock; the `schema` statements run once, in one transaction."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    db.execute("PRAGMA busy_timeout = 30000")
    with contextlib.suppress(sqlite3.OperationalError):  # another process may be switching it too
        db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    with write_transaction(db, threading.RLock()):
        for statement in schema.split(";"):
            if statement.strip():
                db.execute(statement)
    return db


@contextlib.contextmanager
def write_transaction(db: sqlite3.Connection, lock: threading.RLock) -> Iterator[sqlite3.Connection]:
    """One write transaction, holding SQLite's write lock from the start (`BEGIN IMMEDIATE`)."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


class GroupCommit:
    """Runs queued writes on `db` in one transaction per event-loop turn (one queue per loop)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self.db = db
        self.lock = lock
        self._queues: dict[asyncio.AbstractEventLoop, list[tuple[Write, asyncio.Future[Any]]]] = {}

    async def run(self, write: Callable[[sqlite3.Connection], T]) -> T:
        """`write(db)`'s result, once the transaction it ran in is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = []
            loop.call_soon(self._flush, loop)
        queue.append((write, future))
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        queue = self._queues.pop(loop, [])
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            with self.lock:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    for write, future in queue:
                        try:  # a failing statement is undone alone; the others still commit
                            outcomes.append((future, write(self.db), None))
                        except sqlite3.Error as exc:
                            outcomes.append((future, None, exc))
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
                self.db.execute("COMMIT")
        except Exception as exc:  # the transaction itself failed (e.g. locked past busy_timeout)
            outcomes = [(future, None, exc) for _, future in queue]
        for future, value, error in outcomes:
            if future.done():  # its caller was cancelled meanwhile
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)
