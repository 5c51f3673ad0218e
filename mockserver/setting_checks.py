"""Range and shape checks of every setting, so a bad value is one clear line before anything binds.

Each check is a small function `value -> problem | None`, in a table by field name. A problem reads
after the setting's label: `--port must be 0..65535 (got 99999)`, where the label says where the value
came from (`--port`, `MOCKSERVER_PORT` or `[tool.mockserver] port`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Check = Callable[[Any], str | None]
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _whole(low: int, high: int | None = None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be a whole number"
        if value < low or (high is not None and value > high):
            return f"must be {low}..{high}" if high is not None else f"must be >= {low}"
        return None

    return check


def _number(*, positive: bool) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            return "must be a finite number"
        if positive and value <= 0:
            return "must be > 0"
        if value < 0:
            return "must be >= 0"
        return None

    return check


def _optional_time(value: Any) -> str | None:
    if value is None:
        return None
    return None if isinstance(value, (int, float)) and math.isfinite(value) else "must be a unix time in seconds"


def _http_url(value: Any) -> str | None:
    if value is None:
        return None
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host, e.g. http://127.0.0.1:8080"
    try:
        parts.port  # noqa: B018  (raises on a port outside 0..65535 or not a number)
    except ValueError:
        return "has a bad port"
    return None


def _host(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() and " " not in value else "must be a host name or address"


def _folder(value: Any) -> str | None:
    if value is None:
        return None
    path = Path(str(value))
    if not path.exists():
        return "names a folder that does not exist"
    return None if path.is_dir() else "must be a folder"


def _choice(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


STORE_KINDS = "memory, sqlite:///PATH or redis://HOST:PORT/DB[?prefix=NAME]"


def _store(value: Any) -> str | None:
    text = str(value)
    if text.startswith(("redis://", "rediss://")):
        from mockserver.stores.redis_link import RedisUrlError, parse_redis_url

        try:
            parse_redis_url(text)
        except RedisUrlError as exc:  # its message names the bad part after "--store '<url>': "
            return "is not a usable Redis URL: " + str(exc).split("': ", 1)[-1]
        return None
    from mockserver.stores import parse_store_url  # the store layer reads memory and sqlite URLs

    try:
        parse_store_url(text)
    except ValueError as exc:
        why = str(exc)
        return f"must be {STORE_KINDS}" if ": use " in why else why.removeprefix("--store ")
    if text.startswith("sqlite:///"):
        path = Path(text[len("sqlite:///") :])
        if not text[len("sqlite:///") :]:
            return "sqlite:///PATH needs a file path"
        if path.is_dir():
            return "sqlite:///PATH must name a file, not a folder"
        if not path.parent.is_dir():
            return f"sqlite:///PATH: the folder {path.parent} does not exist"
        if not os.access(path if path.exists() else path.parent, os.W_OK):
            return f"sqlite:///PATH: {path if path.exists() else path.parent} is not writable"
    return None


def _non_empty_items(value: Any) -> str | None:
    return None if all(str(v).strip() for v in value) else "must not contain an empty value"


def _latency(value: Any) -> str | None:
    text = str(value)
    if text in ("none", "realistic") or Path(text).is_file():
        return None
    return "must be none, realistic or a latency profile file"


def replay_delay_factor(value: Any) -> float | None:
    """What `--replay-timing` multiplies recorded delays by: none 0, recorded 1, scale:X X; None if bad."""
    text = str(value).strip().lower()
    if text in ("", "none", "recorded"):
        return 1.0 if text == "recorded" else 0.0
    if text.startswith("scale:"):
        try:
            factor = float(text[len("scale:") :])
        except ValueError:
            return None
        return factor if math.isfinite(factor) and factor >= 0 else None
    return None


def _replay_timing(value: Any) -> str | None:
    return None if replay_delay_factor(value) is not None else "must be none, recorded or scale:X with X >= 0"


CHECKS: dict[str, Check] = {
    "host": _host,
    "port": _whole(0, 65535),
    "speed": _number(positive=False),
    "start_time": _optional_time,
    "api_key": _non_empty_items,
    "store": _store,
    "stubs": _folder,
    "models": _non_empty_items,
    "notify_hook": _http_url,
    "public_url": _http_url,
    "workers": _whole(1),
    "max_body_bytes": _whole(1),
    "journal_size": _whole(1),
    "log_level": _choice(*LOG_LEVELS),
    "mj_concurrency": _whole(1),
    "mj_queue_size": _whole(0),
    "callback_retries": _whole(1),
    "callback_timeout": _number(positive=True),
    "callback_lease": lambda value: None if value is None else _number(positive=True)(value),
    "upstream": _http_url,
    "record_mode": _choice("none", "once", "new_episodes", "all"),
    "fallback": _choice("error", "emulate"),
    "replay_speed": _number(positive=False),
    "media_max_bytes": _whole(1),
    "media_max_total": _whole(1),
    "latency": _latency,
    "latency_scale": _number(positive=False),
    "replay_timing": _replay_timing,
}


def label_for(name: str, sources: Mapping[str, str]) -> str:
    """How the message names a setting: where its value came from, else its flag."""
    return sources.get(name) or f"--{name.replace('_', '-')}"


def problems(settings: Any, sources: Mapping[str, str] | None = None) -> list[str]:
    """Every bad setting as one line each (`--port must be 0..65535 (got 99999)`), in field order."""
    found = []
    for name, check in CHECKS.items():
        if not hasattr(settings, name):
            continue
        value = getattr(settings, name)
        problem = check(value)
        if problem:
            shown = list(value) if isinstance(value, tuple) else value
            found.append(f"{label_for(name, sources or {})} {problem} (got {shown!r})")
    lease = getattr(settings, "callback_lease", None)
    if not found and lease is not None and hasattr(settings, "callback_retries"):
        longest = delivery_seconds(settings.callback_retries, settings.callback_timeout)
        if lease <= longest:
            label = label_for("callback_lease", sources or {})
            found.append(
                f"{label} must be longer than a delivery can take ({longest:g} s with "
                f"--callback-retries {settings.callback_retries} and --callback-timeout {settings.callback_timeout:g}),"
                f" or a slow delivery would be taken over and sent twice (got {lease!r})"
            )
    return found


def lease_seconds(settings: Any) -> float:
    """The callback lease in force: `--callback-lease`, else 300 s or twice the longest delivery."""
    if settings.callback_lease is not None:
        return float(settings.callback_lease)
    return max(300.0, 2 * delivery_seconds(settings.callback_retries, settings.callback_timeout))


def delivery_seconds(attempts: int, timeout: float, backoff: float = 0.5, max_backoff: float = 8.0) -> float:
    """The longest one callback transition's delivery can take: every attempt timing out, with the
    dispatcher's back-off between attempts."""
    waits = sum(min(max_backoff, backoff * 2.0**i) for i in range(max(0, attempts - 1)))
    return attempts * timeout + waits
