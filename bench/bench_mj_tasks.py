"""Benchmark: N Midjourney imagine tasks submitted, driven to SUCCESS, every transition called back.

The emulator runs as `mockserver serve` in a subprocess (virtual clock stopped, a worker pool large
enough for every task); a raw-asyncio HTTP receiver in this process takes the callbacks. The run submits
N `POST /mj/submit/imagine` (each with `notifyHook` = the receiver) over keep-alive connections, moves
the virtual clock past the end of every plan with one `POST /__mock/clock/advance`, and waits until the
receiver holds every transition of every task. It checks that each task's callbacks arrived once each,
in lifecycle order, ending in SUCCESS, and reports wall times, callbacks delivered and peak RSS
(`resource.getrusage`: the emulator as this process's child, and this process).

Usage: python bench/bench_mj_tasks.py [--tasks 10000] [--connections 32] [--store memory|sqlite:///PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from loadgen import build_request  # noqa: E402

from mockserver.testing import free_port, wait_healthy  # noqa: E402

ORDER = {"SUBMITTED": 1, "IN_PROGRESS": 2, "SUCCESS": 3, "FAILURE": 3}


class Receiver:
    """A minimal HTTP/1.1 keep-alive server that records (task id, status, progress) of each POST."""

    def __init__(self) -> None:
        self.received: dict[str, list[tuple[str, int]]] = {}
        self.count = 0
        self.changed = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lower = head.lower()
                at = lower.find(b"content-length:")
                length = int(lower[at + 15 : lower.index(b"\r\n", at)]) if at >= 0 else 0
                body = orjson.loads(await reader.readexactly(length)) if length else {}
                progress = int(str(body.get("progress", "0%")).rstrip("%") or 0)
                self.received.setdefault(str(body.get("id")), []).append((str(body.get("status")), progress))
                self.count += 1
                self.changed.set()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the emulator closed its keep-alive connection, or the run is over
        finally:
            writer.close()


@contextlib.contextmanager
def emulator(port: int, tasks: int, store: str) -> Iterator[subprocess.Popen[bytes]]:
    cmd = [
        sys.executable,
        "-m",
        "mockserver",
        "serve",
        "--port",
        str(port),
        "--speed",
        "0",
        "--start-time",
        "1750000000",
        "--store",
        store,
        "--mj-concurrency",
        str(tasks * 2),
        "--mj-queue-size",
        str(tasks * 2),
    ]
    proc = subprocess.Popen(cmd, cwd=HERE.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"content-length:")
    length = int(lower[at + 15 : lower.index(b"\r\n", at)])
    return status, await reader.readexactly(length)


async def submit_all(port: int, tasks: int, connections: int, hook: str) -> list[str]:
    """Submit `tasks` imagines over `connections` keep-alive connections; return the task ids."""
    ids: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(tasks):
        queue.put_nowait(i)
    headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                i = queue.get_nowait()
                body = orjson.dumps({"prompt": f"bench cat {i} --ar 3:2", "botType": "MID_JOURNEY", "notifyHook": hook})
                writer.write(build_request("POST", "127.0.0.1", port, "/mj/submit/imagine", body, headers))
                status, raw = await _read(reader)
                answer = orjson.loads(raw)
                if status != 200 or answer.get("code") != 1:
                    raise RuntimeError(f"submit {i} answered {status} {answer}")
                ids.append(str(answer["result"]))
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return ids


async def control(port: int, method: str, path: str, body: Any = None) -> Any:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        payload = orjson.dumps(body) if body is not None else b""
        writer.write(build_request(method, "127.0.0.1", port, path, payload, {"Content-Type": "application/json"}))
        _, raw = await _read(reader)
        return orjson.loads(raw)
    finally:
        writer.close()


def check(received: dict[str, list[tuple[str, int]]], ids: list[str], expected: dict[str, int]) -> list[str]:
    """Every task: exactly its planned number of callbacks, in lifecycle order, the last one SUCCESS."""
    problems = []
    for task_id in ids:
        got = received.get(task_id, [])
        if len(got) != expected[task_id]:
            problems.append(f"{task_id}: {len(got)} callbacks, expected {expected[task_id]}")
            continue
        keys = [(ORDER[s], p) for s, p in got]
        if keys != sorted(keys) or len(set(got)) != len(got) or got[-1] != ("SUCCESS", 100):
            problems.append(f"{task_id}: out of order or duplicated: {got}")
    return problems


async def main_async(args: argparse.Namespace) -> int:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0, backlog=1024)
    hook = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    port = free_port()
    with emulator(port, args.tasks, args.store) as proc:
        t0 = time.perf_counter()
        ids = await submit_all(port, args.tasks, args.connections, hook)
        t_submit = time.perf_counter() - t0
        listing = await control(port, "GET", "/__mock/tasks")
        expected = {t["id"]: t["steps"] - 1 for t in listing["tasks"]}
        total = sum(expected.values())
        t1 = time.perf_counter()
        await control(port, "POST", "/__mock/clock/advance", {"seconds": 3600})
        deadline = t1 + args.timeout
        while receiver.count < total and time.perf_counter() < deadline:
            receiver.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(receiver.changed.wait(), 1.0)
        t_callbacks = time.perf_counter() - t1
        await asyncio.sleep(0.5)  # anything extra (a duplicate) would arrive now
        totals = await control(port, "GET", "/__mock/callbacks?limit=0")
        succeeded = (await control(port, "GET", "/__mock/tasks?status=SUCCESS&limit=0"))["total"]
        emulator_pid = proc.pid
    server.close()
    await server.wait_closed()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    problems = check(receiver.received, ids, expected)
    print(f"tasks                 {len(ids)} submitted (store {args.store}, emulator pid {emulator_pid})")
    rate = len(ids) / t_submit
    print(f"submit                {t_submit:8.2f} s  ({rate:8.0f} submits/s, {args.connections} connections)")
    print(f"callbacks             {receiver.count} received of {total} transitions ({total / len(ids):.1f} per task)")
    print(f"callback delivery     {t_callbacks:8.2f} s  ({receiver.count / t_callbacks:8.0f} callbacks/s)")
    print(f"wall time             {t_submit + t_callbacks:8.2f} s  (submit + delivery)")
    delivered, failed, attempts = totals["delivered"], totals["failed"], totals["attempts"]
    print(f"server totals         delivered {delivered}, failed {failed}, attempts {attempts}")
    print(f"tasks SUCCESS         {succeeded}")
    print(f"peak RSS              emulator {children:.0f} MiB, benchmark process {own:.0f} MiB")
    ok = not problems and receiver.count == total == totals["delivered"] and succeeded == len(ids) == args.tasks
    print("result                " + ("OK: every transition delivered once, in order" if ok else "FAILED"))
    for problem in problems[:10]:
        print("  " + problem)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--store", default="memory")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the callbacks")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
