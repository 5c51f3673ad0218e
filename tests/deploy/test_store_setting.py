"""`--store redis://...` is read and checked like every setting, and a Redis that does not answer stops
`serve` with one line before anything is built."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from mockserver.serving import ServeError, _interrupt_on_sigterm, check_redis_reachable
from mockserver.settings import SettingsError, load_settings
from tests.redis_server import RedisServer, redis_server, redis_url

__all__ = ["redis_server", "redis_url"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    ["redis://cache:6379/0", "redis://cache/3?prefix=team-a", "rediss://:pw@cache:6380/1?prefix=b&socket_timeout=5"],
)
def test_redis_urls_are_accepted_settings(url: str) -> None:
    assert load_settings({"store": url}, environ={}).store == url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis://:6379/0", "--store is not a usable Redis URL: no host"),
        ("redis://cache:0/0", "--store is not a usable Redis URL: the port must be a number from 1 to 65535"),
        ("redis://cache:6379/zero", "--store is not a usable Redis URL: the database must be a number"),
        ("redis://cache/0?prefix=a%20b", "--store is not a usable Redis URL: prefix must be 1 to 64 letters"),
        ("redis://cache/0?db=1", "--store is not a usable Redis URL: unknown parameter 'db'"),
        ("mysql://db", "--store must be memory, sqlite:///PATH or redis://HOST:PORT/DB[?prefix=NAME]"),
    ],
)
def test_bad_store_urls_are_one_line_naming_the_flag(url: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"store": url}, environ={})
    message = str(caught.value)
    assert message.startswith(says) and message.endswith(f"(got {url!r})") and "\n" not in message


def test_a_reachable_redis_passes_the_check(redis_server: RedisServer, redis_url: str) -> None:
    check_redis_reachable(redis_url)


def test_an_unreachable_redis_is_one_line() -> None:
    port = _closed_port()
    with pytest.raises(ServeError) as caught:
        check_redis_reachable(f"redis://:secret@127.0.0.1:{port}/0?prefix=x", timeout=2)
    message = str(caught.value)
    assert message.startswith(f"--store redis://127.0.0.1:{port}/0?prefix=x: Redis cannot be used (")
    assert "secret" not in message and "\n" not in message and caught.value.exit_code == 1


def test_serve_with_an_unreachable_redis_exits_1_in_one_line() -> None:
    port = _closed_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    run = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--store", f"redis://127.0.0.1:{port}/0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert run.returncode == 1, run.stderr
    assert run.stderr.startswith(f"mockserver serve: --store redis://127.0.0.1:{port}/0: Redis cannot be used (")
    assert run.stderr.count("\n") == 1 and "listening on" not in run.stderr and "Traceback" not in run.stderr


def test_sigterm_before_uvicorn_takes_over_unwinds_like_ctrl_c() -> None:
    before = signal.getsignal(signal.SIGTERM)
    restore = _interrupt_on_sigterm()
    assert restore is not None
    try:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the handler interrupts this at once
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) == before
