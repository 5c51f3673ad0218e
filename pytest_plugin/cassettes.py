"""The `cassette` marker: its arguments, the settings merge, and where a test's cassette lives.

Settings merge in one direction, as in pytest-recording: the `mockserver_cassette_config` fixture,
then the marker's arguments, then the command line (`--record-mode`, `--mockserver-base-url`,
`--mockserver-upstream`, `--cassette-dir`, only when given). The upstream defaults to the base URL.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RECORD_MODES = ("none", "once", "new_episodes", "all")
DEFAULT_UPSTREAM = "https://api.yescale.io"
DEFAULT_MATCH_ON = ("method", "path", "query", "body")
MARKER_HELP = (
    "cassette(name=None, *, record_mode=None, match_on=None, replay_timing=None): replay this test's YEScale "
    "traffic from "
    "cassettes/<test module>/<test name>.yaml (record_mode 'none', the default, never touches the network); "
    "'once' records a missing cassette through the recording proxy, 'new_episodes' adds what is missing, "
    "'all' records everything again. match_on: names of the request matchers (default method, path, query, body). "
    "replay_timing: none (default), recorded (the recording's own timing) or scale:X."
)


class CassetteUsageError(ValueError):
    """The marker or the config fixture was given arguments it cannot take."""


@dataclasses.dataclass(frozen=True)
class CassetteSpec:
    """Everything one test's cassette needs: the file, the record mode, the matchers, the upstream."""

    path: Path
    record_mode: str = "none"
    match_on: tuple[str, ...] = DEFAULT_MATCH_ON
    # Where recordings come from (default: the base URL), and what the test's code calls (intercepted).
    upstream: str = DEFAULT_UPSTREAM
    base_url: str = DEFAULT_UPSTREAM
    # Further recording settings from the config fixture (e.g. redact_headers), passed through as is.
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def cassette_dir(self) -> Path:
        return self.path.parent

    @property
    def exists(self) -> bool:
        return self.path.is_file()


def marker_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Check `cassette(name=None, *, record_mode=None, match_on=None, replay_timing=None)`; return the
    arguments given."""
    if len(args) > 1:
        raise CassetteUsageError(f"takes at most one positional argument (the cassette name), got {len(args)}")
    unknown = sorted(set(kwargs) - {"name", "record_mode", "match_on", "replay_timing"})
    if unknown:
        raise CassetteUsageError(
            f"unknown argument{'s' * (len(unknown) > 1)} {', '.join(unknown)}"
            " (takes name, record_mode, match_on, replay_timing)"
        )
    if args and "name" in kwargs:
        raise CassetteUsageError("the cassette name was given twice (positionally and as name=)")
    out: dict[str, Any] = {}
    name = args[0] if args else kwargs.get("name")
    if name is not None:
        if not isinstance(name, str) or not name.strip() or name.startswith("/") or ".." in Path(name).parts:
            raise CassetteUsageError(f"name must be a relative file name such as 'chat_hello', got {name!r}")
        out["name"] = name
    if kwargs.get("record_mode") is not None:
        out["record_mode"] = check_record_mode(kwargs["record_mode"])
    if kwargs.get("match_on") is not None:
        out["match_on"] = check_match_on(kwargs["match_on"])
    if kwargs.get("replay_timing") is not None:
        out["replay_timing"] = check_replay_timing(kwargs["replay_timing"])
    return out


def check_replay_timing(value: Any) -> str:
    """`none`, `recorded` or `scale:X`: how a replayed stream keeps its recorded timing."""
    from mockserver.recording.replay import replay_speed
    from mockserver.settings import Settings

    try:
        replay_speed(Settings(replay_timing=str(value)))
    except ValueError as exc:
        raise CassetteUsageError(str(exc).replace("--replay-timing", "replay_timing")) from None
    return str(value)


def check_record_mode(value: Any) -> str:
    if not isinstance(value, str) or value not in RECORD_MODES:
        raise CassetteUsageError(f"record_mode must be one of {', '.join(RECORD_MODES)}, got {value!r}")
    return value


def check_match_on(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise CassetteUsageError(f"match_on must be a non-empty list of matcher names, got {value!r}")
    known = known_matchers()
    for item in value:
        if not isinstance(item, str) or (known and item not in known):
            choices = f" (known: {', '.join(sorted(known))})" if known else ""
            raise CassetteUsageError(f"match_on has an unknown matcher {item!r}{choices}")
    return tuple(value)


def known_matchers() -> set[str]:
    """The recording layer's matcher names (empty when it cannot say: then any name is passed on)."""
    try:
        from mockserver.recording import matchers
    except ImportError:
        return set(DEFAULT_MATCH_ON) | {"scheme", "host", "port", "operation", "headers", "uri"}
    for attr in ("MATCHERS", "REGISTRY", "matchers"):
        table = getattr(matchers, attr, None)
        if isinstance(table, Mapping):
            return {str(k) for k in table}
    return set()


def safe_file_name(test_name: str) -> str:
    """A test's name as a file name (parametrize ids kept, path separators and odd characters replaced)."""
    return re.sub(r"[^\w.\-\[\]=,+]", "-", test_name)


def resolve(
    *,
    test_path: Path,
    test_name: str,
    config: Mapping[str, Any],
    marker: Mapping[str, Any],
    cli: Mapping[str, Any],
) -> CassetteSpec:
    """Merge config fixture → marker → command line into one `CassetteSpec`."""
    if not isinstance(config, Mapping):
        raise CassetteUsageError(f"mockserver_cassette_config must return a dict, got {type(config).__name__}")
    merged: dict[str, Any] = dict(config)
    merged.update({k: v for k, v in marker.items() if v is not None})
    merged.update({k: v for k, v in cli.items() if v is not None})
    record_mode = check_record_mode(merged.pop("record_mode", "none"))
    match_on = check_match_on(list(merged.pop("match_on", DEFAULT_MATCH_ON)))
    base_url = check_url("base_url", str(merged.pop("base_url", None) or DEFAULT_UPSTREAM))
    upstream = check_url("upstream", str(merged.pop("upstream", None) or base_url))
    cassette_dir = merged.pop("cassette_dir", None)
    root = Path(cassette_dir) if cassette_dir else test_path.parent / "cassettes"
    name = merged.pop("name", None) or safe_file_name(test_name)
    file = root / test_path.stem / name
    if file.suffix not in (".yaml", ".yml", ".json"):
        file = file.with_name(file.name + ".yaml")
    return CassetteSpec(
        path=file, record_mode=record_mode, match_on=match_on, upstream=upstream, base_url=base_url, extra=merged
    )


def check_url(name: str, value: str) -> str:
    """`value` without a trailing slash, if it is an http(s) URL with a host; else `CassetteUsageError`."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CassetteUsageError(f"{name} must be an http(s) URL such as https://api.yescale.io, got {value!r}")
    return value.rstrip("/")
