"""Replay benchmark: load time and requests/s for cassettes of 10 and 100,000 interactions.

    /work/venv/bin/python bench/bench_replay.py [--large 100000] [--requests 20000] [--check]

The replay app is driven in-process over ASGI (no HTTP server, no client) and timed in CPU seconds of
this process (other load on the machine does not count), so the number measures
what depends on the cassette size — reading it, indexing it, and the per-request match and lookup —
rather than the server or client. Lookup is a dict access, so requests/s should not fall as the
cassette grows: the goal is large ÷ small ≥ 0.9. `--check` exits 1 when that goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from mockserver.contracts import load_contracts
from mockserver.recording import (
    Cassette,
    CassetteApp,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    create_replay_app,
    save_cassette,
)
from mockserver.recording.filters import RedactionRules
from mockserver.settings import Settings


def request_body(i: int) -> bytes:
    return orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Question number {i}?"}]})


def build(n: int, path: Path) -> None:
    """A cassette of `n` distinct chat completions, as the recorder writes them."""
    items = []
    for i in range(n):
        answer = {
            "id": f"chatcmpl-{i:08d}",
            "object": "chat.completion",
            "created": 1750000000 + i,
            "model": "gpt-4o-mini",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": f"Answer {i}."}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
        }
        items.append(
            Interaction(
                RecordedRequest(
                    "POST",
                    "https://api.yescale.io/v1/chat/completions",
                    {"content-type": ["application/json"], "authorization": ["Bearer REDACTED"]},
                    request_body(i),
                ),
                RecordedResponse(200, {"content-type": ["application/json"]}, orjson.dumps(answer), "OK"),
                operation="chat_completions",
                recorded_at="2025-06-15T10:00:00.000Z",
            )
        )
    # Marked as the recorder marks what it wrote: already redacted under the default rules.
    save_cassette(path, Cassette(items, meta={"redacted_with": RedactionRules.build().fingerprint}))


async def drive(app: CassetteApp, bodies: list[bytes]) -> float:
    """Requests per CPU-second over `bodies`, each one a full ASGI request/response.

    CPU time, not wall time: on a shared machine other processes' load would otherwise decide the ratio.
    """
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"authorization", b"Bearer sk-bench")]
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for body in bodies:
        scope = {
            "type": "http",
            "method": "POST",
            "scheme": "https",
            "path": "/v1/chat/completions",
            "raw_path": b"/v1/chat/completions",
            "query_string": b"",
            "headers": headers,
        }
        message = {"type": "http.request", "body": body, "more_body": False}

        async def receive(message: dict[str, Any] = message) -> dict[str, Any]:
            return message

        await app(scope, receive, send)
    elapsed = time.process_time() - started
    if statuses.count(200) != len(bodies):
        raise SystemExit(f"benchmark requests missed the cassette: {len(bodies) - statuses.count(200)} misses")
    return len(bodies) / elapsed


def load(n: int, folder: Path) -> tuple[CassetteApp, dict[str, float]]:
    """Write a cassette of `n` interactions, then load it twice (the second time from the parse cache)."""
    path = folder / f"bench-{n}.yaml"
    t0 = time.perf_counter()
    build(n, path)
    built = time.perf_counter() - t0
    contracts = load_contracts()
    settings = Settings(cassettes=str(path))
    gc.collect()
    t0 = time.perf_counter()
    app = create_replay_app(settings, contracts=contracts)
    loaded = time.perf_counter() - t0
    assert len(app.library) == n
    t0 = time.perf_counter()
    app = create_replay_app(settings, contracts=contracts)
    reloaded = time.perf_counter() - t0
    return app, {"interactions": n, "write_s": built, "load_s": loaded, "reload_s": reloaded}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5_000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--check", action="store_true", help="exit 1 if large/small requests/s < 0.9")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        loaded = [load(n, Path(tmp)) for n in (args.small, args.large)]
    # As `mockserver replay` does once its cassettes are loaded: long-lived objects leave the GC's scans.
    gc.collect()
    gc.freeze()
    results = [info for _, info in loaded]
    bodies = {}
    for _, info in loaded:
        n = int(info["interactions"])
        rng = random.Random(n)
        bodies[n] = [request_body(rng.randrange(n)) for _ in range(args.requests)]
        info["rps"] = 0.0
    # Small and large take turns, so a busy machine slows both alike; the best round of each counts.
    for _ in range(args.rounds):
        for app, info in loaded:
            info["rps"] = max(info["rps"], asyncio.run(drive(app, bodies[int(info["interactions"])])))
    print(f"{'interactions':>12} {'write s':>9} {'load s':>9} {'reload s':>9} {'requests/s':>11}")
    for r in results:
        n, write, load_s, reload_s = int(r["interactions"]), r["write_s"], r["load_s"], r["reload_s"]
        print(f"{n:>12,} {write:>9.2f} {load_s:>9.2f} {reload_s:>9.2f} {r['rps']:>11,.0f}")
    small, large = results
    ratio = large["rps"] / small["rps"]
    print(f"requests/s ratio large/small: {ratio:.3f} (goal >= 0.9)")
    print(f"load time ratio large/small: {large['load_s'] / small['load_s']:.0f}x")
    return 1 if args.check and ratio < 0.9 else 0


if __name__ == "__main__":
    sys.exit(main())
