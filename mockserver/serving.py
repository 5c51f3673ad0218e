"""Serving an app with uvicorn: the socket bound first, the app built, the store chosen, then uvicorn.

The socket is bound before uvicorn starts: a port in use is one line and exit 1, port 0 picks a free
port, and "listening on" is printed only once the socket listens, with the real port. The app is built
before serving (in this process), so a setting that only fails when used — a stub file, a cassette, a
store — is one line too, never uvicorn's traceback. With several workers each process rebuilds the app
from the settings serialized into the environment (`settings_from_env`).

Workers must share one emulator's state, so `--workers N` (N > 1) never runs N separate memory stores:
with `memory` (the default, or typed) the server makes a sqlite file in a private temporary folder
(mode 0700), hands it to every worker, and removes the folder at exit (Ctrl-C and SIGTERM included).
The second startup line says which store is in use. A `redis://` store is pinged before anything is
built, so an unreachable Redis is one line too. What one connection may cost: `http_limits`.
"""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Callable
from types import FrameType
from typing import Any

from mockserver.http_limits import server_options as server_options  # where callers found it before
from mockserver.settings import Settings

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
    """Bind, build, say where it listens and which store it uses, then serve until interrupted."""
    import uvicorn

    sock = bind(settings.host, settings.port)
    private_folder: str | None = None
    restore: Callable[[], None] | None = None
    try:
        settings, private_folder, store_line = choose_store(settings)
        restore = _interrupt_on_sigterm() if private_folder else None
        real_port = int(sock.getsockname()[1])
        settings = settings.replace(port=real_port)
        workers = settings.workers if settings.workers > 1 else 1
        if settings.store.startswith(("redis://", "rediss://")):
            check_redis_reachable(settings.store)
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
            **server_options(settings, worker_processes=workers > 1),
        )
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        print(f"mockserver listening on http://{host}:{real_port}", file=sys.stderr, flush=True)
        print(f"mockserver {store_line}", file=sys.stderr, flush=True)
        for warning in startup_warnings(settings):
            print(f"mockserver: warning: {warning}", file=sys.stderr, flush=True)
        server = uvicorn.Server(config)
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[sock]).run()  # returns once every worker has exited
        else:
            server.run(sockets=[sock])
    finally:
        sock.close()
        if restore is not None:
            restore()
        if private_folder:
            shutil.rmtree(private_folder, ignore_errors=True)
    return 0


PRIVATE_STORE_FILE = "store.sqlite"


def choose_store(settings: Settings) -> tuple[Settings, str | None, str]:
    """The settings to serve with, the private folder to remove at exit (or None), and the startup line.

    Several workers on the memory store would be several emulators behind one port (a fault posted to
    one worker, a task on another), so they get a sqlite file of their own instead: in a folder only
    this user can open (`mkdtemp` makes it 0700), since the store holds keys and request bodies.
    """
    if settings.workers > 1 and settings.store in ("", "memory", "memory://"):
        try:
            folder = tempfile.mkdtemp(prefix="mockserver-store-")
        except OSError as exc:
            raise ServeError(
                f"--workers {settings.workers}: cannot make a private store in {tempfile.gettempdir()}"
                f" ({exc.strerror or exc}); set TMPDIR, or pass --store sqlite:///PATH"
            ) from None
        path = os.path.join(folder, PRIVATE_STORE_FILE)
        line = (
            f"store: sqlite file {path}, private to this server and shared by its {settings.workers} workers"
            " (a memory store lives in one process); removed at exit"
        )
        return settings.replace(store=f"sqlite:///{path}"), folder, line
    if settings.store in ("", "memory", "memory://"):
        return settings, None, "store: memory (this process only)"
    return settings, None, f"store: {shown_store(settings.store)}"


def shown_store(url: str) -> str:
    """A store URL fit to print: a Redis password is left out."""
    if not url.startswith(("redis://", "rediss://")):
        return url
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def check_redis_reachable(url: str, timeout: float = 3.0) -> None:
    """Ping the Redis a `--store redis://` URL names; `ServeError` in one line when it cannot be used."""
    import redis

    from mockserver.stores.redis_link import RedisUrlError, parse_redis_url

    try:
        client_url, _ = parse_redis_url(url)
    except RedisUrlError as exc:
        raise ServeError(str(exc), 2) from None
    client = redis.Redis.from_url(client_url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        # redis-py's own text says what failed ("Error 111 connecting to h:p. Connection refused.")
        raise ServeError(f"--store {shown_store(url)}: Redis cannot be used ({exc})") from None
    finally:
        client.close()


def _interrupt_on_sigterm() -> Callable[[], None] | None:
    """Until uvicorn installs its own handlers, SIGTERM ends `serve` like Ctrl-C, so `finally` runs and
    the private store is removed; returns what puts the previous handler back (None off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def is_loopback_host(host: str) -> bool:
    """Whether a listen address only accepts local connections."""
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def startup_warnings(settings: Settings) -> list[str]:
    """One-line warnings for a server reachable from other machines without its protections."""
    if is_loopback_host(settings.host):
        return []
    out = []
    if not settings.control_token:
        out.append(
            f"listening on {settings.host} without a control token: anyone who reaches this port can reset"
            " the emulator and inject faults (set --control-token or MOCKSERVER_CONTROL_TOKEN)"
        )
    if not settings.callback_allow:
        out.append(
            f"listening on {settings.host} with callbacks allowed to any host: task callbacks can reach"
            " this machine's and its network's services (set --callback-allow HOST[:PORT])"
        )
    return out
