"""Settings: one frozen dataclass built from defaults, pyproject, env vars and CLI flags (in that order)."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "MOCKSERVER_"


# How every emulator is served by uvicorn (the CLI, test fixtures, benchmarks): no access log (the
# journal has the requests), no `server: uvicorn` header (the gateway sends none), and no
# X-Forwarded-* processing (nothing here uses the client's address).
SERVER_OPTIONS: dict[str, Any] = {"access_log": False, "server_header": False, "proxy_headers": False}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that shapes the emulator's behaviour. Immutable: build a new one with `replace`."""

    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 0
    # Task clock: virtual seconds per real second; 0 stops the clock (only `advance` moves it).
    speed: float = 1.0
    # Tasks finish the moment they are submitted.
    instant: bool = False
    # Unix time the virtual clock starts at; None means "now". With speed 0 answers are byte-identical.
    start_time: float | None = None
    # Accepted keys; empty means any non-empty key passes.
    api_key: tuple[str, ...] = ()
    # JSON file of gateway keys (quota, expiry, status, models, IPs, group, rate limits); see docs/gateway.md.
    keys: str | None = None
    store: str = "memory"
    stubs: str | None = None
    strict_responses: bool = False
    strict_models: bool = False
    # Extra model ids served by /v1/models next to the documented ones.
    models: tuple[str, ...] = ()
    notify_hook: str | None = None
    public_url: str | None = None
    workers: int = 1
    max_body_bytes: int = 32 * 1024 * 1024
    journal_size: int = 1000
    # The journal's bound in bytes (oldest entries go first); bodies larger than `journal_body_bytes`
    # are kept as their size and SHA-256 only.
    journal_max_bytes: int = 64 * 1024 * 1024
    journal_body_bytes: int = 1024 * 1024
    # The control API (/__mock/*): a token it requires when set (Bearer or x-mock-token; /__mock/health
    # stays open), and the largest body it accepts.
    control_token: str | None = None
    control_max_bytes: int = 1024 * 1024
    # HTTP limits per connection: request head size and field count (431), seconds to receive a head
    # or the next piece of a body (408), idle keep-alive seconds, seconds a shutdown waits for requests.
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    request_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    shutdown_timeout: float = 3.0
    # Callback targets allowed besides loopback and private addresses (HOST or HOST:PORT).
    callback_allow: tuple[str, ...] = ()
    log_level: str = "warning"
    # Midjourney: simultaneous jobs before code 22 (queued) / 23 (queue full), and the banned-word list.
    mj_concurrency: int = 3
    mj_queue_size: int = 10
    banned_words: tuple[str, ...] = ("nsfw-banned", "gore-banned")
    # Callback delivery: attempts per transition and seconds per attempt.
    callback_retries: int = 3
    callback_timeout: float = 5.0
    # Seconds a replica's claim on a callback is exclusive on a shared store: a replica that dies mid-delivery
    # is taken over by another once it runs out (a restarted one on the same host and port takes over at once).
    # None: 300 s, or twice the longest a delivery can take when that is more (`lease_seconds`).
    callback_lease: float | None = None
    # Recording / replay.
    upstream: str = "https://api.yescale.io"
    cassettes: str = "cassettes"
    record_mode: str = "none"
    fallback: str = "error"
    match_on: tuple[str, ...] = ("method", "path", "query", "body")
    replay_speed: float = 0.0
    redact_headers: tuple[str, ...] = ()
    redact_json_paths: tuple[str, ...] = ()
    redact_patterns: tuple[str, ...] = ()
    ignore_body_fields: tuple[str, ...] = ()
    # Real-time pacing: none, realistic (the packaged profiles) or a profile file; every delay × scale.
    latency: str = "none"
    latency_scale: float = 1.0
    # Replayed streams and answers: none (at once), recorded (the recording's own timing), scale:X.
    replay_timing: str = "none"
    # Recording: fetch and store the media answers link to (bytes per file, bytes per cassette).
    media: bool = True
    media_max_bytes: int = 50 * 1024 * 1024
    media_max_total: int = 1024 * 1024 * 1024

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with `changes` applied."""
        return dataclasses.replace(self, **changes)

    @property
    def base_url(self) -> str:
        """The URL media links and callbacks are built from."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


FIELD_TYPES: dict[str, Any] = get_type_hints(Settings)
FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Settings))


class SettingsError(ValueError):
    """A setting has a value of the wrong kind; the message names it and its source."""


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = FIELD_TYPES[name]
    text = str(kind)
    try:
        if "tuple" in text:
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        if value is None:
            return None
        if "bool" in text:
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(f"not a boolean: {value!r}")
        if "float" in text:
            return float(value)
        if "int" in text:
            return int(value)
        return str(value)
    except (TypeError, ValueError):
        kind_word = "true or false" if "bool" in text else "a number" if "float" in text else "a whole number"
        raise SettingsError(f"{source} must be {kind_word} (got {value!r})") from None


def from_pyproject(path: Path | None = None) -> dict[str, Any]:
    """Read `[tool.mockserver]` from pyproject.toml in the working directory (or `path`)."""
    path = path or Path.cwd() / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    table = data.get("tool", {}).get("mockserver", {})
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in FIELD_TYPES:
            raise SettingsError(f"{path}: unknown setting [tool.mockserver] {key!r}")
        out[name] = _coerce(name, value, f"[tool.mockserver] {key} in {path}")
    return out


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read `MOCKSERVER_<FLAG>` variables (e.g. MOCKSERVER_SEED, MOCKSERVER_API_KEY=a,b)."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name in FIELD_NAMES:
        value = environ.get(ENV_PREFIX + name.upper())
        if value is not None:
            out[name] = _coerce(name, value, ENV_PREFIX + name.upper())
    return out


def load_settings(
    cli: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    pyproject: Path | None = None,
) -> Settings:
    """Merge defaults ← pyproject ← environment ← CLI flags (flags given as None are ignored), then check
    every value (`SettingsError` names the first bad one by where it came from)."""
    from mockserver.setting_checks import problems

    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, value in from_pyproject(pyproject).items():
        merged[name], sources[name] = value, f"[tool.mockserver] {name}"
    for name, value in from_env(environ).items():
        merged[name], sources[name] = value, ENV_PREFIX + name.upper()
    for key, value in (cli or {}).items():
        if value is None or (isinstance(value, (list, tuple)) and not value):
            continue
        flag = f"--{key.replace('_', '-')}"
        merged[key], sources[key] = _coerce(key, value, flag), flag
    settings = Settings(**merged)
    found = problems(settings, sources)
    if found:
        raise SettingsError(found[0])
    return settings
