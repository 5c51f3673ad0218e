"""Atomic cassette writes: a temporary file in the same folder, flushed, then renamed over the old one.

`os.replace` is atomic on POSIX and Windows, so a reader (or a recorder killed at any moment) only
ever sees the previous complete cassette or the next one, never half of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
            text = self._render()
            await asyncio.to_thread(write_atomic, self.path, text)
            self._written = current
            self.writes += 1
