"""Cost of recording one more interaction into a cassette of 100 vs 3,000: flat means appends, not rewrites.

Usage: python bench/bench_cassette_append.py [--requests N]

Each size gets a fresh cassette of that many varied interactions written once; then N interactions
are appended and persisted one at a time (as the recorder does per request), and the median time per
persist is reported for both sizes with their ratio (3,000 ÷ 100). The baseline, measured in the same run,
is the whole-file atomic rewrite per request the recorder used to do (`CoalescingWriter`): its ratio
grows with the cassette (about 4: 3.4 ms at 100, 12.9 ms at 3,000), the appending writer's stays near 1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mockserver.recording.cassettes import (
    Cassette,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    load_cassette,
    render_cassette,
    save_cassette,
)
from mockserver.recording.persist import CoalescingWriter
from mockserver.recording.proxy import RecordingTarget


def _item(i: int) -> Interaction:
    body = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "question %d"}]}' % i
    answer = b'{"id": "chatcmpl-%d", "choices": [{"message": {"content": "' % i + b"word " * (20 + i % 50) + b'"}}]}'
    return Interaction(
        RecordedRequest(
            "POST", f"https://api.example/v1/chat/completions?i={i}", {"content-type": ["application/json"]}, body
        ),
        RecordedResponse(200, {"content-type": ["application/json"]}, answer),
    )


async def _per_persist(folder: Path, size: int, requests: int, rewrite: bool = False) -> tuple[float, int, int]:
    path = folder / f"c{size}{'-rewrite' if rewrite else ''}.yaml"
    save_cassette(path, Cassette([_item(i) for i in range(size)]))
    target = RecordingTarget(load_cassette(path))
    if rewrite:
        target.writer = CoalescingWriter(path, lambda: render_cassette(target.cassette))
    target.append(_item(size))
    await target.persist()  # the first write may be whole (the recorder's first request)
    times = []
    for i in range(requests):
        target.append(_item(size + 1 + i))
        started = time.perf_counter()
        await target.persist()
        times.append(time.perf_counter() - started)
    writer = target.writer
    return statistics.median(times), writer.writes, getattr(writer, "appends", 0)


async def main(requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base_small, _, _ = await _per_persist(Path(tmp), 100, requests, rewrite=True)
        base_large, _, _ = await _per_persist(Path(tmp), 3000, requests, rewrite=True)
        small, writes_s, appends_s = await _per_persist(Path(tmp), 100, requests)
        large, writes_l, appends_l = await _per_persist(Path(tmp), 3000, requests)
    print(f"baseline (rewrite per request): {base_small * 1000:.2f} ms at 100, {base_large * 1000:.2f} ms at 3,000")
    print(f"appending:   {small * 1000:.2f} ms at 100, {large * 1000:.2f} ms at 3,000")
    print(f"             ({appends_s} of {writes_s} and {appends_l} of {writes_l} writes were appends)")
    print(f"ratio 3,000 / 100: baseline {base_large / base_small:.2f}, appending {large / small:.2f}")
    print(f"appending vs baseline at 3,000: {large / base_large:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    asyncio.run(main(parser.parse_args().requests))
