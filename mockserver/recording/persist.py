"""Cassette writes: whole files atomically, growing files by appending, and no temp files left behind.

A whole write goes to a temporary file in the same folder, flushed, then renamed over the old one:
`os.replace` is atomic on POSIX and Windows, so a reader only ever sees a complete cassette. Temp
files carry the writer's process id; `clean_temp_files` removes those of processes that are gone (a
recorder killed with `kill -9` mid-write), and is run when a recording starts.

A cassette being recorded only grows at its end (`interactions` is its last key), so `AppendingWriter`
appends the new interactions' text and fsyncs, rather than rewriting and fsyncing the whole file per
request; the cost per request stays flat however long the cassette gets. It falls back to a whole
write when anything before the end changed (the header, an earlier interaction) or the file is not
the one it last wrote. Every write it makes ends with `END_MARK`, a YAML comment line: a
file that has the mark but does not end with it was cut short by a crash mid-append, and
`trim_partial_tail` drops what follows the last mark when the cassette is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"
END_MARK = "# --\n"  # column 0: never inside an interaction, whose block scalars are indented


def _temp_prefix(path: Path, pid: int | None = None) -> str:
    return f".{path.name}.{os.getpid() if pid is None else pid}."


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_temp_files(path: Path) -> list[Path]:
    """Remove the temp files of `path` left by writers that no longer run; returns what was removed."""
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f".{path.name}.*{TEMP_SUFFIX}"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and _alive(int(pid)) and int(pid) != os.getpid():
            continue  # another live recorder is writing it right now
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def _append(path: Path, text: str) -> int:
    """Append `text`, fsync, and return the new size."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
        return fh.tell()


class CoalescingWriter:
    """Writes a file from `render()` off the event loop; calls that arrive during a write share the next one.

    `await persist()` returns once a write that includes everything rendered before the call is on disk.
    """

    def __init__(self, path: Path, render: Callable[[], str]) -> None:
        self.path = path
        self._render = render
        self._lock = asyncio.Lock()
        self._generation = 0
        self._written = 0
        self.writes = 0

    async def persist(self) -> None:
        self._generation += 1
        wanted = self._generation
        async with self._lock:
            if self._written >= wanted:
                return  # a write that started after our call already covered it
            current = self._generation
            await self._write()
            self._written = current
            self.writes += 1

    async def _write(self) -> None:
        await asyncio.to_thread(write_atomic, self.path, self._render())


class AppendingWriter(CoalescingWriter):
    """A `CoalescingWriter` for a file that grows at its end: new items are appended (see the module).

    `head()` is the text before the items, `items()` the item objects (only ever appended to), `render`
    an item's text (cached by the caller, so the same object means the same text) and `empty()` the
    whole file when there are no items. Checking that nothing before the end changed costs O(1): the
    head's text, and the last item written still being the same object with the same text.
    """

    def __init__(
        self,
        path: Path,
        head: Callable[[], str],
        items: Callable[[], Sequence[Any]],
        render: Callable[[Any], str],
        empty: Callable[[], str],
    ) -> None:
        super().__init__(path, empty)
        self._head_of = head
        self._items_of = items
        self._render_item = render
        self._empty = empty
        self._head = ""
        self._count = 0
        self._last: tuple[Any, str] | None = None
        self._size = -1
        self.appends = 0

    def adopt(self) -> bool:
        """Take the file on disk as already written when it is exactly the header and the items loaded
        from it (and no crash left a partial append), so the first new item is appended too, not the
        whole cassette rewritten. Returns whether it did."""
        head, items = self._head_of(), self._items_of()
        try:
            raw = self.path.read_bytes()
        except OSError:
            return False
        text = raw.decode("utf-8", "replace")
        mark = "\n" + END_MARK
        if not items or not text.startswith(head) or not text.endswith("\n"):
            return False
        if mark in text and not text.endswith(mark):  # a cut-short append: rewrite it away
            return False
        self._head, self._count, self._size = head, len(items), len(raw)
        self._last = (items[-1], self._render_item(items[-1]))
        return True

    async def _write(self) -> None:
        head, items = self._head_of(), self._items_of()
        known = self._count
        unchanged = (
            known > 0
            and self._last is not None
            and head == self._head
            and len(items) >= known
            and items[known - 1] is self._last[0]
            and self._render_item(items[known - 1]) is self._last[1]
            and self._on_disk() == self._size
        )
        if unchanged:
            text = "".join(self._render_item(item) for item in items[known:])
            if text:
                self._size = await asyncio.to_thread(_append, self.path, text + END_MARK)
                self.appends += 1
        else:
            whole = (head + "".join(self._render_item(i) for i in items) if items else self._empty()) + END_MARK
            await asyncio.to_thread(write_atomic, self.path, whole)
            self._size = len(whole.encode("utf-8"))
        self._head, self._count = head, len(items)
        self._last = (items[-1], self._render_item(items[-1])) if items else None

    def _on_disk(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return -2


def trim_partial_tail(text: str) -> str:
    """`text` without what a crash mid-append left after the last complete write (see `END_MARK`)."""
    if not text or text.endswith(END_MARK) or ("\n" + END_MARK) not in text:
        return text
    return text[: text.rindex("\n" + END_MARK) + 1 + len(END_MARK)]
