"""Benchmark: paced streams keep their pace under load, and unpaced streaming keeps up with bare Starlette.

1. Paced: one emulator worker (`mockserver serve --latency PROFILE`, a profile of 500 ms to the first
   token and 50 tokens/s, no jitter) serves N concurrent streaming chat completions of ~200 tokens,
   their starts spread over the first second. Each stream's time to first event is compared with the
   profile (error = measured - profile), and the mean gap between events with 20 ms. Goals: p99 TTFT
   error within 15 ms, mean gap within 5%.
2. Unpaced throughput: the emulator streaming chat completions (varied prompts) against a bare Starlette
   SSE endpoint that sends the same events as fixed bytes, in the same run, under the same uvicorn
   options; events per second through C connections. Goal: ratio >= 0.6.

Usage: python bench/bench_stream.py [--streams 500] [--tokens 200] [--seconds 5] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mockserver.settings import SERVER_OPTIONS  # noqa: E402
from mockserver.testing import free_port, wait_healthy  # noqa: E402

TTFT_MS = 500.0
RATE = 50.0  # tokens per second: one event per token, 20 ms apart
PROFILE = {"default": {"ttft_ms": TTFT_MS, "tokens_per_second": RATE, "jitter": 0, "chunk_tokens": 1}}
PROMPTS = [
    f"Question {i}: tell me something about {topic}."
    for i, topic in enumerate(
        ["tides", "octopuses", "volcanoes", "jazz", "the moon", "bread", "glaciers", "owls", "rivers", "chess"] * 10
    )
]
_FLAG_FOR_OPTION = {
    ("access_log", False): "--no-access-log",
    ("server_header", False): "--no-server-header",
    ("proxy_headers", False): "--no-proxy-headers",
}
BARE_FLAGS = [_FLAG_FOR_OPTION[option] for option in SERVER_OPTIONS.items()]

BARE_APP = """
import os
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

EVENTS = open(os.environ["BENCH_EVENTS"], "rb").read().split(b"\\n\\n")[:-1]

async def chat(request):
    await request.body()
    async def body():
        for event in EVENTS:
            yield event + b"\\n\\n"
    return StreamingResponse(body(), media_type="text/event-stream")

app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
"""


def request_bytes(port: int, body: dict[str, object], extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer sk-bench\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n{extra}\r\n"
    )
    return head.encode() + data


async def read_stream(port: int, payload: bytes) -> tuple[float, list[float]]:
    """Send one request on a fresh connection; (send time, arrival time of each `data:` event)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = time.perf_counter()
    writer.write(payload)
    arrivals: list[float] = []
    tail = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            now = time.perf_counter()
            data = tail + chunk
            arrivals.extend([now] * data.count(b"data: "))
            tail = data[-8:]
            if b"data: [DONE]" in data or data.endswith(b"0\r\n\r\n"):
                break
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return sent, arrivals


@contextlib.contextmanager
def process(cmd: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=HERE.parent)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


async def paced(port: int, streams: int, tokens: int) -> dict[str, float]:
    rng = random.Random(1)

    async def one(i: int) -> tuple[float, list[float]]:
        await asyncio.sleep(rng.uniform(0, 1.0))
        body = {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
            "max_tokens": tokens,
            "stream": True,
        }
        return await read_stream(port, request_bytes(port, body))

    results = await asyncio.gather(*(one(i) for i in range(streams)))
    errors_ms = sorted((arrivals[0] - sent) * 1000 - TTFT_MS for sent, arrivals in results if arrivals)
    gaps = [(a[-1] - a[1]) / (len(a) - 2) for _, a in results if len(a) > 3]  # content events (not role, DONE)
    return {
        "streams": len(errors_ms),
        "ttft_error_p50_ms": errors_ms[len(errors_ms) // 2],
        "ttft_error_p99_ms": errors_ms[min(len(errors_ms) - 1, int(len(errors_ms) * 0.99))],
        "mean_gap_ms": statistics.mean(gaps) * 1000,
        "events_per_stream": statistics.mean(len(a) for _, a in results),
    }


async def throughput(port: int, connections: int, seconds: float, tokens: int, vary: bool) -> float:
    """Events per second through `connections` clients, each streaming one answer after another."""
    deadline = time.perf_counter() + seconds
    counts = [0] * connections

    async def client(c: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            prompt = PROMPTS[(c * 7 + n) % len(PROMPTS)] if vary else PROMPTS[0]
            body = {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": tokens,
                "stream": True,
            }
            _, arrivals = await read_stream(port, request_bytes(port, body))
            counts[c] += len(arrivals)
            n += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(connections)))
    return sum(counts) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    work = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    profile = work / "profile.json"
    profile.write_text(json.dumps(PROFILE))
    mock = [sys.executable, "-m", "mockserver", "serve", "--seed", "1"]

    port = free_port()
    with process([*mock, "--port", str(port), "--latency", str(profile)]) as proc:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        result = asyncio.run(paced(port, args.streams, args.tokens))
    gap_error = abs(result["mean_gap_ms"] - 1000 / RATE) / (1000 / RATE) * 100
    print(f"paced: {result['streams']} concurrent streams, {result['events_per_stream']:.0f} events each")
    print(
        f"  TTFT error p50 {result['ttft_error_p50_ms']:.1f} ms, p99 {result['ttft_error_p99_ms']:.1f} ms (goal <= 15)"
    )
    print(
        f"  mean gap {result['mean_gap_ms']:.2f} ms vs {1000 / RATE:.0f} ms profile: {gap_error:.1f}% off (goal <= 5%)"
    )

    port = free_port()
    with process([*mock, "--port", str(port)]) as proc:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        body = {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": PROMPTS[0]}],
            "max_tokens": args.tokens,
            "stream": True,
        }
        import httpx

        sample = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions", json=body, headers={"Authorization": "Bearer sk-bench"}
        ).content
        (work / "events.txt").write_bytes(sample)
        (work / "bare_stream.py").write_text(BARE_APP)
        bare_port = free_port()
        env = {**os.environ, "BENCH_EVENTS": str(work / "events.txt"), "PYTHONPATH": str(work)}
        bare_cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_stream:app",
            "--port",
            str(bare_port),
            *BARE_FLAGS,
            "--log-level",
            "warning",
        ]
        with process(bare_cmd, env=env):
            wait_port(bare_port)
            rates: dict[str, list[float]] = {"bare": [], "emulator": []}
            for _ in range(2):
                rates["bare"].append(
                    asyncio.run(throughput(bare_port, args.connections, args.seconds, args.tokens, False))
                )
                rates["emulator"].append(
                    asyncio.run(throughput(port, args.connections, args.seconds, args.tokens, True))
                )
    bare, emulated = max(rates["bare"]), max(rates["emulator"])
    print(
        f"unpaced: bare Starlette SSE {bare:,.0f} events/s, emulator {emulated:,.0f} events/s "
        f"(varied prompts): ratio {emulated / bare:.2f} (goal >= 0.6)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
