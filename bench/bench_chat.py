"""Benchmark: the emulator's non-streaming chat completion against a bare Starlette endpoint.

Both run under uvicorn (one worker each, same flags) and are loaded by the same client in the same
run, alternating rounds; the figure that matters is the ratio emulator ÷ bare (goal ≥ 0.70, with
request validation on). Usage: python bench/bench_chat.py [--seconds 5] [--rounds 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from loadgen import LoadResult, build_request, median_result, run_load  # noqa: E402

from mockserver.testing import free_port, wait_healthy  # noqa: E402

BODY = orjson.dumps(
    {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello! Can you tell me a fun fact about octopuses?"},
        ],
        "max_tokens": 200,
        "temperature": 0.7,
    }
)


@contextlib.contextmanager
def server(cmd: list[str], port: int, health: bool) -> Iterator[None]:
    proc = subprocess.Popen(cmd, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        if health:
            wait_healthy(url, proc)
        else:
            _wait_port(port, proc)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("baseline server exited")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError("baseline server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    py = sys.executable
    bare_port, emu_port = free_port(), free_port()
    bare_cmd = [
        py,
        "-m",
        "uvicorn",
        "bare_app:app",
        "--port",
        str(bare_port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    emu_cmd = [py, "-m", "mockserver", "serve", "--port", str(emu_port), "--log-level", "warning"]
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}
    bare_req = build_request("POST", "127.0.0.1", bare_port, "/v1/chat/completions", BODY, headers)
    emu_req = build_request("POST", "127.0.0.1", emu_port, "/v1/chat/completions", BODY, headers)

    bare: list[LoadResult] = []
    emu: list[LoadResult] = []
    env_note = f"python {sys.version.split()[0]}, {os.cpu_count()} cpus"
    with server(bare_cmd, bare_port, health=False), server(emu_cmd, emu_port, health=True):
        # Warm both up (imports, caches) before measuring.
        asyncio.run(run_load("127.0.0.1", bare_port, bare_req, connections=4, seconds=1))
        asyncio.run(run_load("127.0.0.1", emu_port, emu_req, connections=4, seconds=1))
        for i in range(args.rounds):
            b = asyncio.run(
                run_load("127.0.0.1", bare_port, bare_req, connections=args.connections, seconds=args.seconds)
            )
            e = asyncio.run(
                run_load("127.0.0.1", emu_port, emu_req, connections=args.connections, seconds=args.seconds)
            )
            bare.append(b)
            emu.append(e)
            print(f"round {i + 1}: bare {b.summary()}")
            print(f"round {i + 1}: emu  {e.summary()}")
    b, e = median_result(bare), median_result(emu)
    if e.errors:
        print(f"emulator answered {e.errors} requests with an error status", file=sys.stderr)
        return 1
    ratio = e.rps / b.rps
    print(f"\nnon-streaming chat completion, request validation on ({env_note}, {args.connections} connections)")
    print(f"bare Starlette : {b.summary()}")
    print(f"emulator       : {e.summary()}")
    print(f"ratio emulator / bare = {ratio:.2f}  (goal >= 0.70)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
