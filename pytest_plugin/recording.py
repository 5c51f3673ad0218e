"""What answers a test: the emulator, or (with `@pytest.mark.cassette`) the recording layer's replay/proxy app.

`in_process` serves an app behind the respx router (no sockets); `live_cassette_server` serves the
cassette app on a loopback port for the `mockserver` fixture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from pytest_plugin.cassettes import CassetteSpec
from pytest_plugin.control import Emulator, Send
from pytest_plugin.inprocess import ROUTE_NAME, AppThread, YEScaleRouter, google_genai_over_httpx2, route_to_app
from pytest_plugin.servers import api_key_for, start_live


class InProcessEmulator(Emulator):
    """The `mockserver_respx` handle: the `mockserver` helpers plus `.app`, `.router` and `.cassette`."""

    def __init__(
        self, url: str, api_key: str, send: Send, *, app: Any, router: YEScaleRouter, cassette: CassetteSpec | None
    ) -> None:
        super().__init__(url, api_key, send)
        self.app = app
        self.router = router
        self.cassette = cassette

    @property
    def calls(self) -> Any:
        """The respx calls answered in-process (`.call_count`, `.last.request`, `.last.response`)."""
        return self.router.routes[ROUTE_NAME].calls


def runner_sender(runner: AppThread, url: str) -> Send:
    """Send control requests straight to the in-process app."""

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        request = (
            httpx.Request(method, url + path, json=body) if body is not None else httpx.Request(method, url + path)
        )
        response = runner.handle(request)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text

    return send


def cassette_settings(spec: CassetteSpec, settings: Any) -> Any:
    """The emulator settings with the test's cassette file, record mode, matchers and upstream."""
    fields = set(settings.__dataclass_fields__)
    extra = {k: (tuple(v) if isinstance(v, list) else v) for k, v in spec.extra.items() if k in fields}
    unknown = sorted(k for k in spec.extra if k not in fields)
    if unknown:
        from pytest_plugin.cassettes import CassetteUsageError

        raise CassetteUsageError(f"mockserver_cassette_config has unknown keys: {', '.join(unknown)}")
    return settings.replace(
        **extra,
        cassettes=str(spec.path),
        record_mode=spec.record_mode,
        match_on=spec.match_on,
        upstream=spec.upstream,
    )


def cassette_app(spec: CassetteSpec, settings: Any, emulator_app: Any = None) -> Any:
    """The replay app (`none`: never the network) or the recording proxy (`once`, `new_episodes`, `all`,
    with VCR.py's semantics: `once` with an existing cassette only replays)."""
    from mockserver import recording

    merged = cassette_settings(spec, settings)
    if spec.record_mode == "none":
        fallback = emulator_app if merged.fallback == "emulate" else None
        return recording.create_replay_app(merged, fallback_app=fallback)
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    return recording.create_proxy_app(merged)


@contextlib.contextmanager
def in_process(
    emulator_app: Any, settings: Any, cassette: CassetteSpec | None, base_url: str
) -> Iterator[InProcessEmulator]:
    """Answer httpx/httpx2 requests to `base_url` from the emulator (or the cassette, which records from
    `cassette.upstream`) until the block ends."""
    url = base_url.rstrip("/")
    app = emulator_app if cassette is None else cassette_app(cassette, settings, emulator_app)
    with AppThread(app) as runner:
        router = YEScaleRouter()
        route_to_app(router, url, runner)
        handle = InProcessEmulator(
            url, api_key_for(settings), runner_sender(runner, url), app=app, router=router, cassette=cassette
        )
        with router, google_genai_over_httpx2():
            yield handle


@contextlib.contextmanager
def live_cassette_server(cassette: CassetteSpec, settings: Any) -> Iterator[Emulator]:
    """The test's cassette served on a free loopback port (replaying, or recording through the proxy)."""
    server, handle = start_live(settings, lambda live: cassette_app(cassette, live))
    try:
        yield handle
    finally:
        server.stop()
