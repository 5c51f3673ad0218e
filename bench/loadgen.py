"""A small HTTP/1.1 keep-alive load generator on raw asyncio sockets (no client library in the way).

Each connection sends a request, reads the whole answer (Content-Length or chunked), and repeats until
the time is up; given several requests, the connections take them in turn from one shared cycle, so
every request is sent about equally often. Latencies are per request. Used by the benchmarks to load a
bare endpoint and the emulator with exactly the same client in the same run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import statistics
import time
from collections.abc import Iterator, Sequence


@dataclasses.dataclass
class LoadResult:
    """What one load run measured."""

    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> str:
        return (
            f"{self.rps:9.0f} req/s  p50 {self.percentile(50) * 1000:6.2f} ms  "
            f"p99 {self.percentile(99) * 1000:6.2f} ms  errors {self.errors}"
        )


def build_request(method: str, host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    idx = lower.find(b"content-length:")
    if idx >= 0:
        end = lower.index(b"\r\n", idx)
        await reader.readexactly(int(lower[idx + 15 : end]))
    elif b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _worker(host: str, port: int, requests: Iterator[bytes], deadline: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            writer.write(next(requests))
            status = await _read_response(reader)
            result.latencies.append(time.perf_counter() - start)
            result.requests += 1
            if status >= 400:
                result.errors += 1
    finally:
        writer.close()


async def run_load(
    host: str, port: int, request: bytes | Sequence[bytes], *, connections: int = 32, seconds: float = 5.0
) -> LoadResult:
    """Drive `request` (or each of several requests in turn) at host:port over `connections` keep-alive
    connections for `seconds`."""
    result = LoadResult(0, 0, 0.0, [])
    # One cycle shared by every connection (they all run on this event loop), so a run sends each
    # request in turn instead of each connection repeating the first few.
    requests = itertools.cycle([request] if isinstance(request, bytes) else list(request))
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(_worker(host, port, requests, deadline, result) for _ in range(connections)))
    result.seconds = time.perf_counter() - start
    return result


def median_result(results: list[LoadResult]) -> LoadResult:
    """The run with the median throughput."""
    ordered = sorted(results, key=lambda r: r.rps)
    return ordered[len(ordered) // 2]


def median(values: list[float]) -> float:
    return statistics.median(values)
