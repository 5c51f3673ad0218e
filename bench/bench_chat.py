"""Benchmark: the emulator's non-streaming chat completion against a bare Starlette endpoint.

Three servers run under uvicorn (one worker each, all with the options `mockserver serve` uses: no
access log, no `server` header, no proxy-header handling) and are loaded by the same client in the same
run, alternating rounds: a bare Starlette endpoint returning a fixed completion (the baseline), the
emulator generating its answer (request validation on, the default), and the emulator answering from
one static response stub (validation still on: what WireMock's one-stub figure measures). Each is sent
the same 10,000 distinct bodies in turn (prompts of varied length, with and without system prompts and
earlier turns, several models, limits that do or do not cut the answer): more than any cache of bodies
or texts holds, so none can flatter a figure. The figures that matter are the ratios to the baseline
(goal for the generated answer: >= 0.70). With `--pin` (the default where the machine has two or more
CPUs) servers run on one CPU and the load generator on another, which steadies the numbers; each
server's CPU time per request is printed too.

Usage: python bench/bench_chat.py [--seconds 5] [--rounds 3] [--connections 32] [--bodies 10000] [--no-pin]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
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

MODELS = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1-mini",
    "gpt-3.5-turbo",
    "claude-sonnet-4-20250514",
    "claude-3-5-haiku-20241022",
    "gemini-2.0-flash",
    "deepseek-chat",
)
_WORDS = (
    "octopus",
    "tide",
    "harbour",
    "lantern",
    "compiler",
    "garden",
    "violin",
    "glacier",
    "market",
    "recipe",
    "theorem",
    "river",
    "battery",
    "orbit",
    "pottery",
    "ledger",
    "meadow",
    "tunnel",
    "falcon",
    "archive",
    "circuit",
    "canyon",
    "festival",
    "kernel",
    "mosaic",
    "planet",
    "sailing",
    "bakery",
    "volcano",
    "puzzle",
    "lighthouse",
    "migration",
    "rainfall",
    "telescope",
    "alloy",
    "quartz",
    "cathedral",
    "protocol",
    "spreadsheet",
    "orchard",
    "vaccine",
    "bicycle",
    "thunder",
    "carnival",
    "dialect",
)
_GLUE = ("the", "a", "of", "and", "in", "for", "with", "why", "how", "does", "my", "is", "to", "on")
_SYSTEMS = (
    "You are a helpful assistant.",
    "You are terse. Answer in one paragraph.",
    "You are a patient tutor who explains things step by step to a curious student.",
    "",
)


def make_bodies(count: int, seed: int = 0) -> list[bytes]:
    """`count` distinct chat bodies: prompts of 1 to ~200 words, with or without a system prompt and
    earlier turns, no limit or a limit that may cut the answer, and several models."""
    rng = random.Random(seed)
    bodies: list[bytes] = []
    seen: set[bytes] = set()
    while len(bodies) < count:
        words = rng.choice((3, 8, 15, 40, 200))
        prompt = " ".join(rng.choice(_WORDS if rng.random() < 0.5 else _GLUE) for _ in range(rng.randint(1, words)))
        messages: list[dict[str, str]] = []
        system = rng.choice(_SYSTEMS)
        if system:
            messages.append({"role": "system", "content": system})
        for _ in range(rng.choice((0, 0, 0, 1, 2))):
            messages.append({"role": "user", "content": " ".join(rng.sample(_WORDS, rng.randint(2, 12)))})
            messages.append({"role": "assistant", "content": " ".join(rng.sample(_WORDS, rng.randint(5, 30)))})
        messages.append({"role": "user", "content": prompt.capitalize() + "?"})
        body: dict[str, object] = {"model": rng.choice(MODELS), "messages": messages}
        limit = rng.choice((None, None, 5, 16, 64, 200, 1000))
        if limit is not None:
            body[rng.choice(("max_tokens", "max_completion_tokens"))] = limit
        if rng.random() < 0.5:
            body["temperature"] = round(rng.uniform(0, 1.5), 2)
        if rng.random() < 0.2:
            body["user"] = f"user-{rng.randint(1, 50)}"
        raw = orjson.dumps(body)
        if raw not in seen:
            seen.add(raw)
            bodies.append(raw)
    return bodies


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

    def __init__(self, name: str, port: int, requests: list[bytes]) -> None:
        self.name, self.port, self.requests = name, port, requests
        self.results: list[LoadResult] = []
        self.cpu_per_request: list[float] = []
        self.proc: subprocess.Popen[bytes] | None = None

    def measure(self, connections: int, seconds: float) -> LoadResult:
        assert self.proc is not None
        before = cpu_seconds(self.proc)
        result = asyncio.run(run_load("127.0.0.1", self.port, self.requests, connections=connections, seconds=seconds))
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
    parser.add_argument("--bodies", type=int, default=10000, help="distinct request bodies, sent in turn")
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
    bodies = make_bodies(args.bodies)
    targets = [
        Target(
            name, port, [build_request("POST", "127.0.0.1", port, "/v1/chat/completions", b, headers) for b in bodies]
        )
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
            asyncio.run(run_load("127.0.0.1", target.port, target.requests, connections=4, seconds=1))
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
    print(
        f"\nnon-streaming chat completion, request validation on ({env_note}, {args.connections} connections, "
        f"{len(bodies)} distinct bodies sent in turn)"
    )
    print(f"bare Starlette        : {bare.summary()}")
    print(f"emulator, generated   : {generated.summary()}")
    print(f"emulator, static stub : {stub.summary()}")
    print(f"ratio generated / bare = {median_result(generated.results).rps / base:.2f}  (goal >= 0.70)")
    print(f"ratio stub / bare      = {median_result(stub.results).rps / base:.2f}  (WireMock, one static stub: ~0.6)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
