"""A parse cache for large cassettes: the parsed YAML kept next to nothing but the file's identity.

Parsing YAML is the slow part of loading a big cassette (PyYAML builds every node in Python). The
parsed data of a cassette above `MIN_BYTES` is stored with `marshal` under the user's cache folder
(`$MOCKSERVER_CACHE_DIR`, else `$XDG_CACHE_HOME/mockserver`, else `~/.cache/mockserver`), keyed by the
file's absolute path, size and modification time; any change to the file misses the cache. Set
`MOCKSERVER_CACHE_DIR=off` to disable it. Failures to read or write the cache are never errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
from pathlib import Path
from typing import Any

MIN_BYTES = 4 * 1024 * 1024
_FORMAT = b"mockserver-cassette-cache-1"


def cache_dir() -> Path | None:
    configured = os.environ.get("MOCKSERVER_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "false") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mockserver" / "cassettes"


def _names(path: Path, stat: os.stat_result) -> tuple[str, str]:
    where = hashlib.blake2b(str(path.resolve()).encode(), digest_size=10).hexdigest()
    version = hashlib.blake2b(_FORMAT + f"|{stat.st_size}|{stat.st_mtime_ns}".encode(), digest_size=10).hexdigest()
    return where, version


def load(path: Path, stat: os.stat_result) -> Any | None:
    """The cached parsed data of `path`, or None."""
    folder = cache_dir()
    if folder is None or stat.st_size < MIN_BYTES:
        return None
    where, version = _names(path, stat)
    try:
        return marshal.loads((folder / f"{where}-{version}.marshal").read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None


def store(path: Path, stat: os.stat_result, data: Any) -> None:
    """Keep `data` for `path` (replacing what was kept for older versions of the file)."""
    folder = cache_dir()
    if folder is None or stat.st_size < MIN_BYTES:
        return
    where, version = _names(path, stat)
    try:
        blob = marshal.dumps(data)
    except ValueError:  # e.g. a YAML timestamp became a datetime: not worth caching
        return
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"{where}-*.marshal"):
            old.unlink(missing_ok=True)
        tmp = folder / f".{where}-{version}.{os.getpid()}.tmp"
        tmp.write_bytes(blob)
        os.replace(tmp, folder / f"{where}-{version}.marshal")
