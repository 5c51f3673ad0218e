"""Live emulators for the `mockserver` fixture: one per distinct settings, kept for the whole session."""

from __future__ import annotations

from typing import Any

from pytest_plugin.control import DEFAULT_API_KEY, Emulator, urllib_sender

# Live emulators kept at once (distinct `mockserver_settings` values in one session); the oldest goes first.
MAX_LIVE = 4


def default_settings() -> Any:
    """What the fixtures use unless `mockserver_settings` is overridden: strict answers, a stopped clock
    (tasks move only with `advance`), seed 0."""
    from mockserver.settings import Settings

    return Settings(strict_responses=True, speed=0.0)


def api_key_for(settings: Any) -> str:
    """A key the emulator accepts: the first configured one, else any non-empty key."""
    keys = tuple(settings.api_key or ())
    return str(keys[0]) if keys else DEFAULT_API_KEY


class ServerPool:
    """Starts a live emulator per distinct settings on a free loopback port and stops them all at the end."""

    def __init__(self) -> None:
        self._live: dict[Any, tuple[Any, Emulator]] = {}

    def emulator(self, settings: Any) -> Emulator:
        found = self._live.get(settings)
        if found is not None:
            return found[1]
        while len(self._live) >= MAX_LIVE:
            oldest = next(iter(self._live))
            self._live.pop(oldest)[0].stop()
        server, handle = start_live(settings)
        self._live[settings] = (server, handle)
        return handle

    def close(self) -> None:
        while self._live:
            self._live.popitem()[1][0].stop()


def start_live(settings: Any, app_factory: Any = None) -> tuple[Any, Emulator]:
    """Serve the emulator (or `app_factory(settings)`) on a free loopback port; media links point at it."""
    from mockserver.testing import ThreadedServer, free_port

    port = free_port("127.0.0.1")
    changes: dict[str, Any] = {"host": "127.0.0.1", "port": port}
    if not settings.public_url:
        changes["public_url"] = f"http://127.0.0.1:{port}"
    live_settings = settings.replace(**changes)
    if app_factory is None:
        from mockserver.app import create_app

        app_factory = create_app
    server = ThreadedServer(app_factory(live_settings), "127.0.0.1", port).start()
    sender = urllib_sender(server.url, token=settings.control_token)
    return server, Emulator(server.url, api_key_for(settings), sender)
