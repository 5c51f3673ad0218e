"""Fault rules: replace or delay an answer (status, body, latency, stream cut-offs, 429 with Retry-After)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

from mockserver.rules import RequestMatch, RuleBook, RuleError, parse_match


@dataclasses.dataclass
class Fault:
    """One rule. Without `status` (and without a stream cut) a fault only adds latency."""

    id: str
    match: RequestMatch
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    latency_ms: int = 0
    times: int | None = None
    probability: float = 1.0
    # Streams: send this many events, then drop the connection without the terminator.
    stream_cut_after: int | None = None
    # A message for the family's envelope when no `body` is given.
    message: str = "fault injected by mockserver"
    # Task families: the path a submitted task takes (e.g. "fail", "moderation"); the answer is not replaced.
    scenario: str | None = None
    hits: int = 0
    seen: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "match": self.match.describe(),
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "latency_ms": self.latency_ms,
            "times": self.times,
            "probability": self.probability,
            "stream_cut_after": self.stream_cut_after,
            "message": self.message,
            "scenario": self.scenario,
            "hits": self.hits,
        }

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


def parse_fault(rule_id: str, data: Mapping[str, Any]) -> Fault:
    """Build a `Fault` from the JSON posted to `/__mock/faults`, naming the bad field on error."""
    if not isinstance(data, Mapping):
        raise RuleError("body: a fault is a JSON object")
    match = parse_match(data)
    status = data.get("status")
    retry_after = data.get("retry_after")
    headers = dict(data.get("headers") or {})
    if retry_after is not None:
        if not isinstance(retry_after, (int, float)) or retry_after < 0:
            raise RuleError("retry_after: must be a number of seconds >= 0")
        headers.setdefault("Retry-After", str(int(retry_after)))
        status = 429 if status is None else status
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise RuleError("status: must be an HTTP status between 100 and 599")
    for key, kind in (("latency_ms", int), ("times", int), ("stream_cut_after", int)):
        value = data.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool) or value < 0):
            raise RuleError(f"{key}: must be a whole number >= 0")
    probability = data.get("probability", 1.0)
    if not isinstance(probability, (int, float)) or not 0.0 <= probability <= 1.0:
        raise RuleError("probability: must be a number between 0 and 1")
    scenario = data.get("scenario")
    if scenario is not None and (not isinstance(scenario, str) or not scenario.strip()):
        raise RuleError("scenario: must be a non-empty string (e.g. fail, moderation)")
    if status is None and not data.get("latency_ms") and data.get("stream_cut_after") is None and scenario is None:
        raise RuleError("status: a fault needs a status, latency_ms, retry_after, stream_cut_after or scenario")
    return Fault(
        id=rule_id,
        match=match,
        status=status,
        body=data.get("body"),
        headers={str(k): str(v) for k, v in headers.items()},
        latency_ms=int(data.get("latency_ms") or 0),
        times=data.get("times"),
        probability=float(probability),
        stream_cut_after=data.get("stream_cut_after"),
        scenario=scenario.strip().lower() if scenario else None,
        message=str(data.get("message") or "fault injected by mockserver"),
    )


class Faults(RuleBook[Fault]):
    """The active fault rules."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__("fault")
        self.seed = seed

    def pick(self, **request: Any) -> Fault | None:
        """The newest rule that matches and fires this time (times and probability honoured)."""
        for fault in self.newest_first():
            if fault.exhausted or not fault.match.matches(**request):
                continue
            fault.seen += 1
            if fault.probability < 1.0 and not _fires(self.seed, fault.id, fault.seen, fault.probability):
                continue
            fault.hits += 1
            return fault
        return None


def _fires(seed: int, rule_id: str, n: int, probability: float) -> bool:
    digest = hashlib.blake2b(f"{seed}|{rule_id}|{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < probability
