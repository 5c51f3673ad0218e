"""Record real traffic into cassettes, replay it offline, and verify it against the contracts.

Public API (stable; the pytest plugin builds on it):

- `RecordMode`: `none` / `once` / `new_episodes` / `all` (a `str` enum with VCR.py's semantics).
- `load_cassette(path) -> Cassette` reads our YAML or a VCR.py cassette; `save_cassette(path, cassette)`
  writes one atomically (temp file + rename).
- `create_proxy_app(settings, *, contracts=None) -> CassetteApp`: the recording reverse proxy. It
  forwards to `settings.upstream`, streams answers through chunk by chunk and writes redacted
  interactions to `settings.cassettes` (a folder, recorded into `<folder>/recorded.yaml`, or one
  `.yaml` file), honouring `settings.record_mode`.
- `create_replay_app(settings, fallback_app=None, *, contracts=None) -> CassetteApp`: answers from the
  cassettes under `settings.cassettes` and never calls an upstream; a miss answers a 404 in the family's
  error envelope explaining the nearest recorded requests, or goes to `fallback_app` when one is given.
- `CassetteApp.stats`: what was played, recorded and missed (each miss with its explanation).
- `verify_paths(paths, *, contracts=None) -> Report`: checks cassettes against the contracts;
  `Report.ok`, `Report.to_text()`, `Report.to_junit_xml()`.
- `MATCHERS`: matcher name → function (`method`, `path`, `query`, `body`, ...); `settings.match_on` picks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names __getattr__ hands out, typed for checkers (re-exported, hence noqa)
    from mockserver.recording.cassettes import (  # noqa: F401
        Cassette,
        CassetteError,
        Chunk,
        Interaction,
        RecordedRequest,
        RecordedResponse,
        load_cassette,
        save_cassette,
    )
    from mockserver.recording.matchers import MATCHERS  # noqa: F401
    from mockserver.recording.modes import RecordMode  # noqa: F401
    from mockserver.recording.plays import Miss, Stats  # noqa: F401
    from mockserver.recording.report import Drift, Report  # noqa: F401
    from mockserver.recording.server import CassetteApp, create_proxy_app, create_replay_app  # noqa: F401
    from mockserver.recording.verify import verify_paths  # noqa: F401

_EXPORTS = {
    "Cassette": "cassettes",
    "CassetteError": "cassettes",
    "Chunk": "cassettes",
    "Interaction": "cassettes",
    "RecordedRequest": "cassettes",
    "RecordedResponse": "cassettes",
    "load_cassette": "cassettes",
    "save_cassette": "cassettes",
    "MATCHERS": "matchers",
    "RecordMode": "modes",
    "CassetteApp": "server",
    "Stats": "plays",
    "Miss": "plays",
    "create_proxy_app": "server",
    "create_replay_app": "server",
    "Drift": "report",
    "Report": "report",
    "verify_paths": "verify",
}

__all__ = sorted(_EXPORTS)  # every public name, each imported from its module when first used


def __getattr__(name: str) -> Any:
    """Import the public names lazily, so `import mockserver.recording` stays cheap."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mockserver.recording' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"mockserver.recording.{module}"), name)
