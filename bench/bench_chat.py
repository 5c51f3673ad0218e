"""Benchmark: the emulator's non-streaming chat completion against a bare Starlette endpoint.

Three servers run under uvicorn (one worker each, all with the options `mockserver serve` uses: no
access log, no `server` header, no proxy-header handling) and are loaded by the same client in the same run,
alternating rounds: a bare Starlette endpoint returning a fixed completion (the baseline), the
emulator generating its answer (request validation on, the default), and the emulator answering from
one static response stub (validation still on: what WireMock's one-stub figure measures). The figures
that matter are the ratios to the baseline (goal for the generated answer: >= 0.70). With
`--pin` (the default where the machine has two or more CPUs) servers run on one CPU and the load
generator on another, which steadies the numbers; each server's CPU time per request is printed too.
Usage: python bench/bench_chat.py [--seconds 5] [--rounds 3] [--connections 32] [--no-pin]
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

import httpx
import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bare_app import ANSWER  # noqa: E402
from loadgen import LoadResult, build_request, median_result, run_load  # noqa: E402

from mockserver.settings import SERVER_OPTIONS  # noqa: E402
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


# The baseline runs under the same uvicorn options as `mockserver serve` (`SERVER_OPTIONS`), so the
# ratio measures the emulator, not a difference in server settings.
_FLAG_FOR_OPTION = {
    ("access_log", False): "--no-access-log",
    ("server_header", False): "--no-server-header",
    ("proxy_headers", False): "--no-proxy-headers",
}
BARE_FLAGS = [_FLAG_FOR_OPTION[option] for option in SERVER_OPTIONS.items()]


@contextlib.contextmanager
def server(cmd: list[str], port: int, health: bool, cpu: int | None = None) -> Iterator[subprocess.Popen[bytes]]:
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        if health:
            wait_healthy(url, proc)
        else:
            _wait_port(port, proc)
        yield proc
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


def cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    """User + system CPU time the process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Target:
    """One server under test, its request, and what each round measured."""

    def __init__(self, name: str, port: int, request: bytes) -> None:
        self.name, self.port, self.request = name, port, request
        self.results: list[LoadResult] = []
        self.cpu_per_request: list[float] = []
        self.proc: subprocess.Popen[bytes] | None = None

    def measure(self, connections: int, seconds: float) -> LoadResult:
        assert self.proc is not None
        before = cpu_seconds(self.proc)
        result = asyncio.run(run_load("127.0.0.1", self.port, self.request, connections=connections, seconds=seconds))
        used = cpu_seconds(self.proc) - before
        self.results.append(result)
        if result.requests and used:
            self.cpu_per_request.append(used / result.requests * 1e6)
        return result

    def summary(self) -> str:
        cpu = sorted(self.cpu_per_request)
        note = f"  server cpu {cpu[len(cpu) // 2]:6.1f} us/req" if cpu else ""
        return median_result(self.results).summary() + note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="let the OS place servers and client")
    args = parser.parse_args()

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    pin = args.pin and hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2
    server_cpu = client_cpu = None
    if pin:
        client_cpu, server_cpu = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, {client_cpu})

    py = sys.executable
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}
    targets = [
        Target(name, port, build_request("POST", "127.0.0.1", port, "/v1/chat/completions", BODY, headers))
        for name, port in (("bare", free_port()), ("generated", free_port()), ("stub", free_port()))
    ]
    bare, generated, stub = targets
    bare_cmd = [py, "-m", "uvicorn", "bare_app:app", "--port", str(bare.port), "--log-level", "warning", *BARE_FLAGS]

    def emulator_cmd(port: int) -> list[str]:
        return [py, "-m", "mockserver", "serve", "--port", str(port), "--log-level", "warning"]

    env_note = f"python {sys.version.split()[0]}, {os.cpu_count()} cpus" + (
        f", servers on cpu {server_cpu}, client on cpu {client_cpu}" if pin else ""
    )
    with contextlib.ExitStack() as stack:
        bare.proc = stack.enter_context(server(bare_cmd, bare.port, health=False, cpu=server_cpu))
        generated.proc = stack.enter_context(server(emulator_cmd(generated.port), generated.port, True, server_cpu))
        stub.proc = stack.enter_context(server(emulator_cmd(stub.port), stub.port, True, server_cpu))
        stub_rule = {"operation": "chat_completions", "response": {"status": 200, "body": orjson.loads(ANSWER)}}
        with httpx.Client(base_url=f"http://127.0.0.1:{stub.port}") as control:
            control.post("/__mock/stubs", json=stub_rule).raise_for_status()
        for target in targets:  # warm up (imports, caches) before measuring
            asyncio.run(run_load("127.0.0.1", target.port, target.request, connections=4, seconds=1))
        for i in range(args.rounds):
            for target in targets:
                result = target.measure(args.connections, args.seconds)
                print(f"round {i + 1}: {target.name:9} {result.summary()}")
    for target in (generated, stub):
        errors = median_result(target.results).errors
        if errors:
            print(f"emulator ({target.name}) answered {errors} requests with an error status", file=sys.stderr)
            return 1
    base = median_result(bare.results).rps
    print(f"\nnon-streaming chat completion, request validation on ({env_note}, {args.connections} connections)")
    print(f"bare Starlette        : {bare.summary()}")
    print(f"emulator, generated   : {generated.summary()}")
    print(f"emulator, static stub : {stub.summary()}")
    print(f"ratio generated / bare = {median_result(generated.results).rps / base:.2f}  (goal >= 0.70)")
    print(f"ratio stub / bare      = {median_result(stub.results).rps / base:.2f}  (WireMock, one static stub: ~0.6)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
