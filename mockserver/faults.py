"""Fault rules: replace or delay an answer (status, body, latency, 429 with Retry-After) or break it on the
wire (a stream cut, a reset before any byte, a late first byte, stalls between events, malformed data)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

from mockserver.rules import MATCH_FIELDS, KnownOperations, RequestMatch, RuleBook, RuleError, check_fields, parse_match


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
    # Wire faults (see `mockserver.wire`): delay before the first byte, pause between stream events,
    # close the connection before any byte, break one event (its index) or the JSON body.
    ttfb_ms: int = 0
    stall_ms: int = 0
    reset: bool = False
    malformed: int | None = None
    # A message for the family's envelope when no `body` is given.
    message: str = "fault injected by mockserver"
    # Task families: the path a submitted task takes (e.g. "fail", "moderation"); the answer is not replaced.
    scenario: str | None = None

    def describe(self, hits: int = 0) -> dict[str, Any]:
        """The rule as the control API shows it, with the hits counted so far (by the store)."""
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
            "ttfb_ms": self.ttfb_ms,
            "stall_ms": self.stall_ms,
            "reset": self.reset,
            "malformed": self.malformed,
            "message": self.message,
            "scenario": self.scenario,
            "hits": hits,
        }

    @property
    def on_the_wire(self) -> bool:
        """True when the fault changes how the answer is sent (not only which answer)."""
        return bool(
            self.ttfb_ms
            or self.stall_ms
            or self.reset
            or self.malformed is not None
            or self.stream_cut_after is not None
        )


FAULT_FIELDS = (
    "id",
    "match",
    *MATCH_FIELDS,
    "status",
    "body",
    "headers",
    "latency_ms",
    "times",
    "probability",
    "retry_after",
    "stream_cut_after",
    "ttfb_ms",
    "stall_ms",
    "reset",
    "malformed",
    "message",
    "scenario",
)
_WHOLE = ("latency_ms", "times", "stream_cut_after", "ttfb_ms", "stall_ms")


def parse_fault(rule_id: str, data: Mapping[str, Any], known: KnownOperations | None = None) -> Fault:
    """Build a `Fault` from the JSON posted to `/__mock/faults`, naming the bad field on error.

    Unknown fields, unknown operations (with `known`), bad regexes and out-of-range values are refused:
    a rule that silently never fires would let a test of the failure path pass while checking nothing.
    """
    if not isinstance(data, Mapping):
        raise RuleError("body: a fault is a JSON object")
    check_fields(data, FAULT_FIELDS)
    match = parse_match(data, known)
    status = data.get("status")
    retry_after = data.get("retry_after")
    raw_headers = data.get("headers")
    if raw_headers is not None and (
        not isinstance(raw_headers, Mapping) or not all(isinstance(v, (str, int, float)) for v in raw_headers.values())
    ):
        raise RuleError("headers: must be an object of header name to string value")
    headers = dict(raw_headers or {})
    if retry_after is not None:
        if not isinstance(retry_after, (int, float)) or isinstance(retry_after, bool) or retry_after < 0:
            raise RuleError("retry_after: must be a number of seconds >= 0")
        headers.setdefault("Retry-After", str(int(retry_after)))
        status = 429 if status is None else status
    if status is not None and (not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599):
        raise RuleError(f"status: must be an HTTP status between 100 and 599 (got {status!r})")
    for key in _WHOLE:
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise RuleError(f"{key}: must be a whole number >= 0 (got {value!r})")
    if data.get("times") == 0:
        raise RuleError("times: must be at least 1 (a rule that may fire 0 times never fires)")
    probability = data.get("probability", 1.0)
    if not isinstance(probability, (int, float)) or isinstance(probability, bool) or not 0.0 < probability <= 1.0:
        raise RuleError(f"probability: must be a number above 0 and at most 1 (got {probability!r})")
    scenario = _scenario(data.get("scenario"), match.operation, known)
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        raise RuleError("message: must be a string")
    reset = data.get("reset", False)
    if not isinstance(reset, bool):
        raise RuleError("reset: must be true or false")
    malformed = _malformed(data.get("malformed"))
    if reset and (status is not None or data.get("body") is not None or data.get("stream_cut_after") is not None):
        raise RuleError("reset: closes the connection before any byte, so it takes no status, body or stream cut")
    if data.get("body") is not None and status is None:
        raise RuleError("body: a replacement body needs a status")
    wire = reset or malformed is not None or data.get("ttfb_ms") or data.get("stall_ms")
    acts = status is not None or data.get("latency_ms") or data.get("stream_cut_after") is not None or wire
    if not acts and scenario is None:
        raise RuleError(
            "status: a fault needs a status, retry_after, latency_ms, stream_cut_after, ttfb_ms, stall_ms, "
            "reset, malformed or scenario"
        )
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
        ttfb_ms=int(data.get("ttfb_ms") or 0),
        stall_ms=int(data.get("stall_ms") or 0),
        reset=reset,
        malformed=malformed,
        scenario=scenario,
        message=message or "fault injected by mockserver",
    )


# The task paths a fault may choose, by family (the families read them: midjourney's text module, the
# shared media-task helpers for Suno, video and async images).
SCENARIOS: dict[str, tuple[str, ...]] = {
    "midjourney": ("success", "fail", "timeout", "reject", "no-account", "error"),
    "*": ("success", "reject", "moderation", "fail"),
}


def _scenario(value: Any, operation: str | None, known: KnownOperations | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RuleError("scenario: must be a non-empty string (e.g. fail, moderation)")
    name = value.strip().lower()
    if known is not None and operation:
        if operation not in known.tasks:
            raise RuleError(f"scenario: {operation} starts no task; a scenario applies to task submissions")
        allowed = SCENARIOS.get(known.tasks[operation], SCENARIOS["*"])
    else:
        allowed = tuple(dict.fromkeys(n for names in SCENARIOS.values() for n in names))
    if name not in allowed:
        raise RuleError(f"scenario: unknown scenario {name!r} (known: {', '.join(allowed)})")
    return name


def _malformed(value: Any) -> int | None:
    """`malformed`: false/absent, true (the first event or the JSON body), or the index of the event to break."""
    if value is None or value is False:
        return None
    if value is True:
        return 0
    if isinstance(value, int) and value >= 0:
        return value
    raise RuleError(f"malformed: must be true, false or the index (>= 0) of the stream event to break (got {value!r})")


class Faults(RuleBook[Fault]):
    """The active fault rules, as this process last read them from the settings document."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.seed = seed


def fires(seed: int, rule_id: str, n: int, probability: float) -> bool:
    """Whether the n-th matching call fires a rule of `probability` (deterministic in seed, id and n)."""
    digest = hashlib.blake2b(f"{seed}|{rule_id}|{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < probability
