"""Serve an app with uvicorn on a socket bound here first, so the command can say exactly what happened.

The socket is bound before uvicorn starts: a port in use is one line and exit 1, port 0 picks a free
port, and "listening on" is printed only once the socket listens, with the real port. The app is built
before serving (in this process), so a setting that only fails when used — a stub file, a cassette, a
store — is one line too, never uvicorn's traceback. With several workers each process rebuilds the app
from the settings serialized into the environment (`settings_from_env`).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

from mockserver.settings import SERVER_OPTIONS, Settings

SETTINGS_ENV = "MOCKSERVER__SETTINGS_JSON"
_BACKLOG = 2048


@dataclasses.dataclass
class ServeError(Exception):
    """A user-facing failure to start: one line, and the exit code (2 bad input, 1 the environment)."""

    message: str
    exit_code: int = 1

    def __str__(self) -> str:
        return " ".join(self.message.split())  # one line, whatever the underlying error's text


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); `ServeError` says why not in one line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"--host {host!r} cannot be resolved ({exc.strerror})", 2) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"port {port} on {host} is already in use (pick another --port, or 0 for any)") from None
        if exc.errno == errno.EACCES:
            raise ServeError(f"not allowed to listen on {host}:{port} ({exc.strerror})") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ServeError(f"--host {host} is not an address of this machine ({exc.strerror})", 2) from None
        raise ServeError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.set_inheritable(True)
    return sock


def load_factory(path: str) -> Callable[[], Any]:
    module_name, _, attr = path.partition(":")
    import importlib

    factory: Callable[[], Any] = getattr(importlib.import_module(module_name), attr)
    return factory


def settings_from_env() -> Settings:
    """The settings `serve` handed to the app factory (and to every worker process)."""
    raw = json.loads(os.environ[SETTINGS_ENV])
    for key, value in raw.items():
        if isinstance(value, list):
            raw[key] = tuple(value)
    return Settings(**raw)


def build(app_factory: str, settings: Settings) -> Any:
    """The app the factory makes from `settings`; any error is one line (`ServeError`, exit 2)."""
    os.environ[SETTINGS_ENV] = json.dumps(settings.__dict__)
    try:
        return load_factory(app_factory)()
    except ValueError as exc:  # settings, rules, cassettes, contracts: all report bad input as ValueError
        raise ServeError(str(exc), 2) from None
    except OSError as exc:
        raise ServeError(
            f"cannot start: {exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
        ) from None
    except Exception as exc:
        raise ServeError(f"cannot start: {type(exc).__name__}: {exc}") from None


def serve(app_factory: str, settings: Settings) -> int:
    """Bind, build, say where it listens, then serve until interrupted."""
    import uvicorn

    sock = bind(settings.host, settings.port)
    try:
        real_port = int(sock.getsockname()[1])
        settings = settings.replace(port=real_port)
        workers = settings.workers if settings.workers > 1 else 1
        app: Any = app_factory if workers > 1 else build(app_factory, settings)
        if workers > 1:
            build(app_factory, settings)  # check it can be built before the workers try
        config = uvicorn.Config(
            app,
            factory=workers > 1,
            host=settings.host,
            port=real_port,
            workers=workers,
            log_level=settings.log_level,
            **SERVER_OPTIONS,
        )
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        print(f"mockserver listening on http://{host}:{real_port}", file=sys.stderr, flush=True)
        server = uvicorn.Server(config)
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
