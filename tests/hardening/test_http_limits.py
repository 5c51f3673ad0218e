"""HTTP limits: 431 for oversized or too many headers, 408 for a stalled head, closed stalled bodies,
idle keep-alive closed; clean shutdown while a latency fault holds a request; the public-bind warnings."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, free_port, serve_in_thread, wait_healthy


@pytest.fixture(scope="module")
def limited() -> Iterator[ThreadedServer]:
    settings = Settings(max_header_bytes=8192, max_headers=50, request_timeout=1.0, keep_alive_timeout=1.0)
    with serve_in_thread(create_app(settings)) as server:
        yield server


def _exchange(server: ThreadedServer, data: bytes, wait: float = 5.0) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection((server.host, server.port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_an_oversized_header_is_answered_431(limited: ThreadedServer) -> None:
    head = b"GET /__mock/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
    assert _exchange(limited, head).startswith(b"HTTP/1.1 431 ")


def test_too_many_headers_are_answered_431(limited: ThreadedServer) -> None:
    fields = b"".join(b"X-H%d: v\r\n" % i for i in range(60))
    answer = _exchange(limited, b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ") and b"header fields" in answer


def test_requests_within_the_limits_are_served(limited: ThreadedServer) -> None:
    headers = {f"x-h{i}": "v" * 50 for i in range(30)}
    assert httpx.get(limited.url + "/__mock/health", headers=headers).status_code == 200


def test_a_large_body_is_not_counted_as_head(limited: ThreadedServer) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 1_000_000}]}
    answer = httpx.post(limited.url + "/v1/chat/completions", json=body, headers={"Authorization": "Bearer k"})
    assert answer.status_code == 200, answer.text[:200]
    with socket.create_connection((limited.host, limited.port), timeout=10) as sock:  # head and body in one packet
        payload = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "' + b"y" * 200_000 + b'"}]}'
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
        head += b"Content-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(payload)
        sock.sendall(head + payload)
        assert sock.recv(100).startswith(b"HTTP/1.1 200 ")


def test_a_half_sent_head_is_answered_408_and_closed(limited: ThreadedServer) -> None:
    started = time.monotonic()
    answer = _exchange(limited, b"GET /__mock/health HTTP/1.1\r\nHost: x\r\nX-Slow: ", wait=15)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 10  # closed by the server, not by our own socket timeout


def test_a_silent_connection_is_closed(limited: ThreadedServer) -> None:
    answer = _exchange(limited, b"", wait=15)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_stalled_body_closes_the_connection(limited: ThreadedServer) -> None:
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b'Authorization: Bearer k\r\nContent-Length: 1000\r\n\r\n{"model": '
    started = time.monotonic()
    _exchange(limited, head, wait=15)
    assert time.monotonic() - started < 10


def test_an_idle_keep_alive_connection_is_closed(limited: ThreadedServer) -> None:
    request = b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n"
    started = time.monotonic()
    answer = _exchange(limited, request, wait=15)
    assert answer.startswith(b"HTTP/1.1 200 ") and time.monotonic() - started < 10


def _serve(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", str(port), *args],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "MOCKSERVER_CONTROL_TOKEN"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc, f"http://127.0.0.1:{port}"


def test_shutdown_is_prompt_while_a_latency_fault_holds_a_request(tmp_path: Path) -> None:
    proc, url = _serve(tmp_path, "--shutdown-timeout", "2")
    held: list[socket.socket] = []
    try:
        fault = {"operation": "chat_completions", "latency_ms": 3_600_000}
        assert httpx.post(url + "/__mock/faults", json=fault).status_code == 201
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        held += [socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) for _ in range(3)]
        raw = httpx.Request("POST", url + "/v1/chat/completions", json=body, headers={"Authorization": "Bearer k"})
        data = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
        data += b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(raw.read()) + raw.read()
        for sock in held[:2]:
            sock.sendall(data)
        held[0].close()  # one client goes away; another stays and waits
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        assert time.monotonic() - started < 10
    finally:
        for sock in held:
            sock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()


def test_a_public_bind_without_token_warns_once_per_protection(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "MOCKSERVER_CONTROL_TOKEN"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    text = err.decode()
    assert text.count("without a control token") == 1 and "--control-token" in text
    assert text.count("--callback-allow") == 1


def test_a_token_from_the_environment_protects_the_control_api(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "MOCKSERVER_CONTROL_TOKEN": "from-env"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        assert httpx.post(url + "/__mock/reset").status_code == 401
        assert httpx.post(url + "/__mock/reset", headers={"x-mock-token": "from-env"}).status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert b"without a control token" not in err
