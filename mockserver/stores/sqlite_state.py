"""`SqliteState`: `SharedState` in the `--store sqlite:///PATH` file, shared by every process that opens it.

Each operation is one statement or one `BEGIN IMMEDIATE` transaction, so processes never count a call,
a rule hit or an id twice. The hot path costs one upsert (`begin`: the call's counter, returning the
settings document's generation in the same round) and one insert (`journal_add`), and the calls in flight
at once share one commit (`GroupCommit`). Old counters, journal
entries and family values are pruned every so often rather than on every write; reads apply the
journal's bounds exactly.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading

import orjson

from mockserver.stores.shared_base import Change, Document, draws_true
from mockserver.stores.sqlite_db import GroupCommit, connect, write_transaction

MAX_COUNTERS = 100_000
MAX_VALUES = 10_000
_PRUNE_EVERY = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state_document (
    id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL, body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS call_counts (key BLOB NOT NULL UNIQUE, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rule_hits (
    kind TEXT NOT NULL, id TEXT NOT NULL, seen INTEGER NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, size INTEGER NOT NULL, entry BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS id_sequences (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS family_values (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, space TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
    UNIQUE (space, key)
);
"""


class SqliteState:
    """Counters, the settings document, hits, journal, ids and family values in one sqlite file."""

    shared = True

    def __init__(self, path: str, *, journal_size: int = 1000, journal_max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.journal_size = max(1, journal_size)
        self.journal_max_bytes = max(1, journal_max_bytes)
        self._lock = threading.RLock()
        self._db = connect(path, _SCHEMA)
        self._writes = 0
        self._batch = GroupCommit(self._db, self._lock)  # the hot path's writes, one commit per loop turn

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return write_transaction(self._db, self._lock)

    def _due_for_pruning(self) -> bool:
        self._writes += 1
        return self._writes % _PRUNE_EVERY == 0

    async def begin(self, key: bytes) -> tuple[int, int]:
        return await self._batch.run(lambda db: self._begin(db, key))

    def _begin(self, db: sqlite3.Connection, key: bytes) -> tuple[int, int]:
        (n,) = db.execute(
            "INSERT INTO call_counts (key, n) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET n = n + 1 RETURNING n",
            (key,),
        ).fetchone()
        row = db.execute("SELECT generation FROM state_document WHERE id = 1").fetchone()
        if self._due_for_pruning():
            db.execute(
                "DELETE FROM call_counts WHERE rowid <= (SELECT max(rowid) FROM call_counts) - ?", (MAX_COUNTERS,)
            )
        return int(n) - 1, int(row[0]) if row else 0

    async def document(self) -> tuple[int, Document]:
        with self._lock:
            row = self._db.execute("SELECT generation, body FROM state_document WHERE id = 1").fetchone()
        return (int(row[0]), orjson.loads(row[1])) if row else (0, {})

    async def change(self, change: Change, *, initial: bool = False) -> tuple[int, Document]:
        with self._write() as db:
            row = db.execute("SELECT generation, body FROM state_document WHERE id = 1").fetchone()
            generation, document = (int(row[0]), orjson.loads(row[1])) if row else (0, {})
            if initial and row is not None:
                return generation, document
            updated = change(document)
            if updated is None:
                return generation, document
            generation += 1
            db.execute(
                "INSERT INTO state_document (id, generation, body) VALUES (1, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, body = excluded.body",
                (generation, orjson.dumps(updated)),
            )
            return generation, updated

    async def fire(self, kind: str, rule_id: str, times: int | None, probability: float, seed: int) -> bool:
        with self._write() as db:
            row = db.execute("SELECT seen, hits FROM rule_hits WHERE kind = ? AND id = ?", (kind, rule_id)).fetchone()
            seen, hits = (int(row[0]), int(row[1])) if row else (0, 0)
            if times is not None and hits >= times:
                return False
            seen += 1
            fires = probability >= 1.0 or draws_true(seed, rule_id, seen, probability)
            hits += 1 if fires else 0
            db.execute(
                "INSERT INTO rule_hits (kind, id, seen, hits) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (kind, id) DO UPDATE SET seen = excluded.seen, hits = excluded.hits",
                (kind, rule_id, seen, hits),
            )
            return fires

    async def forget_hits(self, kind: str, rule_ids: list[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM rule_hits WHERE kind = ? AND id = ?", [(kind, r) for r in rule_ids])

    async def hits(self, kind: str) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT id, hits FROM rule_hits WHERE kind = ?", (kind,)).fetchall()
        return {str(rule): int(n) for rule, n in rows}

    async def journal_add(self, entry: bytes, size: int) -> int:
        return await self._batch.run(lambda db: self._journal_add(db, entry, size))

    def _journal_add(self, db: sqlite3.Connection, entry: bytes, size: int) -> int:
        (entry_id,) = db.execute(
            "INSERT INTO journal (size, entry) VALUES (?, ?) RETURNING id", (size, entry)
        ).fetchone()
        if self._due_for_pruning():
            self._prune_journal(db)
        return int(entry_id)

    def _prune_journal(self, db: sqlite3.Connection) -> None:
        """Delete what the bounds no longer keep (reads apply them exactly in between)."""
        db.execute("DELETE FROM journal WHERE id <= (SELECT max(id) FROM journal) - ?", (self.journal_size,))
        kept = 0
        for entry_id, size in db.execute("SELECT id, size FROM journal ORDER BY id DESC").fetchall():
            kept += int(size)
            if kept > self.journal_max_bytes:
                db.execute("DELETE FROM journal WHERE id <= ?", (entry_id,))
                break

    async def journal_read(self, after: int = 0) -> list[tuple[int, bytes]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, size, entry FROM journal WHERE id > ? ORDER BY id DESC LIMIT ?", (after, self.journal_size)
            ).fetchall()
        kept: list[tuple[int, bytes]] = []
        total = 0
        for entry_id, size, entry in rows:
            total += int(size)
            if total > self.journal_max_bytes and kept:
                break
            kept.append((int(entry_id), bytes(entry)))
        kept.reverse()
        return kept

    async def journal_clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM journal")

    async def next_id(self, name: str, candidate: int) -> int:
        with self._lock:
            (chosen,) = self._db.execute(
                "INSERT INTO id_sequences (name, last) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET last = max(excluded.last, last + 1) RETURNING last",
                (name, candidate),
            ).fetchone()
        return int(chosen)

    async def put(self, space: str, key: str, value: bytes) -> None:
        with self._write() as db:
            db.execute("DELETE FROM family_values WHERE space = ? AND key = ?", (space, key))
            db.execute("INSERT INTO family_values (space, key, value) VALUES (?, ?, ?)", (space, key, value))
            if self._due_for_pruning():
                db.execute(
                    "DELETE FROM family_values WHERE space = ? AND seq NOT IN"
                    " (SELECT seq FROM family_values WHERE space = ? ORDER BY seq DESC LIMIT ?)",
                    (space, space, MAX_VALUES),
                )

    async def get(self, space: str, key: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM family_values WHERE space = ? AND key = ?", (space, key)
            ).fetchone()
        return bytes(row[0]) if row else None

    async def reset(self) -> None:
        with self._write() as db:
            for table in ("call_counts", "rule_hits", "journal", "id_sequences", "family_values"):
                db.execute(f"DELETE FROM {table}")

    async def close(self) -> None:
        with self._lock:
            self._db.close()
