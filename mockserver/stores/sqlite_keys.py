"""`SqliteKeyStore`: the gateway's keys, quota and usage in the sqlite file of `--store sqlite:///PATH`,
shared by every process that opens it (`--workers N` included).

Each operation is one `BEGIN IMMEDIATE` transaction (SQLite's write lock) running the memory store's own
rules on the state read from the file, which is written back when it changed. Two processes therefore
never reserve the same quota twice: the check and the debit happen under one lock across processes.
The state (keys, reservations, rate windows, pending refunds, totals) is one small row, re-read only
when another process changed it (a version number); log rows are appended to a table of their own.
A settlement that decides nothing (`Reservation.decides_nothing`, most calls) is one INSERT into
`gateway_waiting` instead: every write transaction applies the waiting ones first, in order, so every
decision and read but `find` sees each exactly once.
Both are JSON (`key_codec`), not pickle: a file on disk is read by whoever opens it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mockserver.stores.key_codec import (
    decode_row,
    decode_settlement,
    decode_state,
    encode_row,
    encode_settlement,
    encode_state,
)
from mockserver.stores.key_records import LOG_SIZE, GatewayKey, LogEntry, Refused, Reservation
from mockserver.stores.key_rules import KeyRules
from mockserver.stores.keys import MemoryKeyStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gateway_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS gateway_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS gateway_waiting (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry BLOB NOT NULL);
"""
# Settlements this process leaves waiting in the file before it applies them (a bound without reads).
_WAITING_MAX = 256


class SqliteKeyStore(MemoryKeyStore):
    """`KeyStore` in a sqlite file: `SqliteKeyRules` behind the async protocol."""

    def __init__(self, path: str) -> None:
        super().__init__(SqliteKeyRules(path))
        self.path = path


class SqliteKeyRules(KeyRules):
    """The key rules on state in a sqlite file, each operation a cross-process transaction."""

    shared = True

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        # As the task store: a commit is not fsynced (WAL keeps the file consistent; an emulator's state
        # need not survive a power cut): measured, a chat call's key work went from ~3 ms to under 1 ms.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._thread_lock = threading.RLock()
        self._version = -1
        self._pending: list[LogEntry] = []
        self._depth = 0
        self._waiting = 0

    def _tx(self, write: bool = True) -> contextlib.AbstractContextManager[Any]:
        return self._transaction(write)

    @contextlib.contextmanager
    def _transaction(self, write: bool) -> Iterator[None]:
        with self._thread_lock:
            if self._depth:  # nested (e.g. find inside an operation): already in the transaction
                yield
                return
            self._depth += 1
            try:
                self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    self._sync()
                    if write:
                        self._apply_waiting()
                    try:
                        yield
                    except Refused:
                        # A refusal can change state too (a key found expired or exhausted is marked so).
                        if write:
                            self._save()
                        self._conn.execute("COMMIT")
                        raise
                    if write:
                        self._save()
                    self._conn.execute("COMMIT")
                except Refused:
                    raise
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    self._pending.clear()
                    self._version = -1  # the memory copy may be half-changed: re-read next time
                    raise
            finally:
                self._depth -= 1

    def _sync(self) -> None:
        row = self._conn.execute("SELECT version, state FROM gateway_state WHERE id = 1").fetchone()
        if row is None:
            if self._version != 0:
                super().load(KeyRules().dump())
                self._version = 0
            return
        version, blob = row
        if version != self._version:
            super().load(decode_state(blob))
            self._version = version

    def settle_later(
        self, reservation: Reservation, quota: int | Callable[[], int], tokens: int, wall: float, row: LogEntry | None
    ) -> None:
        """Leave a settlement that decides nothing in the file for the next write transaction (one INSERT)."""
        price = quota() if callable(quota) else quota  # priced now: the file is read by other processes
        entry = encode_settlement(reservation, price, tokens, wall, row)
        with self._thread_lock:
            self._conn.execute("INSERT INTO gateway_waiting (entry) VALUES (?)", (entry,))
            self._waiting += 1
            if self._waiting < _WAITING_MAX:
                return
            self._waiting = 0
        with self._tx():  # applies them
            pass

    def _apply_waiting(self) -> None:
        rows = self._conn.execute("SELECT seq, entry FROM gateway_waiting ORDER BY seq").fetchall()
        if not rows:
            return
        for _, entry in rows:
            held, quota, tokens, wall, row = decode_settlement(entry)
            self._settle(held, quota=quota, tokens=tokens, wall=wall, row=row)
        self._conn.execute("DELETE FROM gateway_waiting WHERE seq <= ?", (rows[-1][0],))

    def _save(self) -> None:
        blob = encode_state(self.dump())
        self._version += 1
        self._conn.execute(
            "INSERT INTO gateway_state (id, version, state) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET version = excluded.version, state = excluded.state",
            (self._version, blob),
        )
        if self._pending:
            rows = [(encode_row(entry),) for entry in self._pending]
            self._conn.executemany("INSERT INTO gateway_log (entry) VALUES (?)", rows)
            self._pending.clear()
            self._conn.execute(
                "DELETE FROM gateway_log WHERE seq <= (SELECT MAX(seq) FROM gateway_log) - ?", (LOG_SIZE,)
            )

    def _emit(self, row: LogEntry) -> None:
        self._pending.append(row)

    def initialize(self, keys: Iterable[GatewayKey]) -> None:
        with self._thread_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                fresh = self._conn.execute("SELECT 1 FROM gateway_state WHERE id = 1").fetchone() is None
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        if fresh:
            self.reset(keys)

    def reset(self, keys: Iterable[GatewayKey]) -> None:
        with self._tx():
            self._conn.execute("DELETE FROM gateway_log")
            self._pending.clear()
            fresh = KeyRules()
            fresh.reset(keys)
            super().load(fresh.dump())

    def logs(self, now: float) -> list[LogEntry]:
        with self._tx():
            self._apply_refunds(now)
            self._save()  # refunds that came due are rows too
            rows = self._conn.execute("SELECT entry FROM gateway_log ORDER BY seq").fetchall()
        return [decode_row(blob) for (blob,) in rows]

    def close(self) -> None:
        with self._thread_lock:
            self._conn.close()
