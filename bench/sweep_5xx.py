"""The Schemathesis sweep of the hardening issue: every operation, positive and negative cases, with a
valid key, a wrong key and none, against live emulators; reports the count of 5xx answers (must be 0).

Usage: python bench/sweep_5xx.py [--max-examples N] [--operation ID ...] [--seed S]

Two servers run on loopback ports: one accepting any key (`--api-key` unset) and one with
`--api-key sk-sweep-GOOD` plus a control token. Each operation gets Hypothesis-generated cases
(through `mockserver.fuzzing`) in both modes, sent with the right key, a wrong one (`sk-sweep-BAD`)
and none (the open server: any key and none). Generating cases dominates the run time (a few
seconds per operation, mode and key at 5 examples on a busy 2-core machine). The summary line is
`requests N, 5xx M` with the statuses seen; the exit status is 1 when M > 0, and every 5xx is listed
with a curl command that reproduces it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from mockserver.app import create_app
from mockserver.contracts import Contract, load_contracts
from mockserver.fuzzing import Exchange, fuzz_operation
from mockserver.settings import Settings
from mockserver.testing import serve_in_thread

GOOD = "sk-sweep-GOOD"
NO_KEY = "sk-sweep-NONE"  # sent as no Authorization header at all (see `_drop_no_key`)
KEYS = {"open": ("sk-anything", NO_KEY), "keyed": (GOOD, "sk-sweep-BAD", NO_KEY)}


def _drop_no_key(request: httpx.Request) -> None:
    if request.headers.get("authorization") == f"Bearer {NO_KEY}":
        del request.headers["authorization"]


def sweep(max_examples: int, operations: list[str] | None, seed: int) -> int:
    contracts = load_contracts()
    wanted = operations or [c.id for c in sorted(contracts, key=lambda c: (c.path, c.method))]
    base = {"speed": 0.0, "start_time": 1_750_000_000.0, "seed": seed}
    servers = {
        "open": create_app(Settings(**base)),
        "keyed": create_app(Settings(**base, api_key=(GOOD,), control_token="sweep-control")),
    }
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    started = time.monotonic()

    def check(contract: Contract, ex: Exchange) -> str | None:
        statuses[ex.status] += 1
        if ex.status >= 500:
            errors.append(f"{contract.id} {'negative' if ex.negative else 'positive'} {ex.status}: {ex.curl}")
        return None  # count everything; never stop a run early

    with serve_in_thread(servers["open"]) as open_server, serve_in_thread(servers["keyed"]) as keyed_server:
        urls = {"open": open_server.url, "keyed": keyed_server.url}
        with httpx.Client(timeout=120, event_hooks={"request": [_drop_no_key]}) as client:
            for op in wanted:
                contract = contracts.get(op)
                for name, keys in KEYS.items():
                    for key in keys:
                        for negative in (False, True):
                            outcome = fuzz_operation(
                                contract,
                                client,
                                base_url=urls[name],
                                api_key=key,
                                negative=negative,
                                max_examples=max_examples,
                                seed=seed,
                                contracts=contracts,
                                checks={"count": check},
                            )
                            if outcome.failure is not None and outcome.failure.check == "transport":
                                errors.append(f"{op}: transport error {outcome.failure.message}")
                print(f"{op}: {sum(statuses.values())} requests so far", file=sys.stderr, flush=True)
    total = sum(statuses.values())
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    seen = ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items()))
    print(f"operations {len(wanted)}, requests {total}, 5xx {server_errors} ({seen})")
    print(f"elapsed {time.monotonic() - started:.1f}s")
    for line in errors[:50]:
        print("  " + line)
    return 1 if server_errors or errors else 0


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=20, help="cases per operation, mode and key")
    parser.add_argument("--operation", action="append", help="operation id (repeatable; default every one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return sweep(args.max_examples, args.operation, args.seed)


if __name__ == "__main__":
    sys.exit(main())
