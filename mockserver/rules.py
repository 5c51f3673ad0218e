"""What faults and stubs share: matching a request by operation, method, path and body, and a rule book."""

from __future__ import annotations

import dataclasses
import difflib
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar


class RuleError(ValueError):
    """A rule posted to the control API is malformed; the message names the field."""


MAX_REGEX_LENGTH = 1000
# A quantified group that itself ends in a quantifier, e.g. `(a+)+`, `(x*)*`, `(ab|a?)+`: the shape that
# makes a backtracking engine take exponential time on a near-miss.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}?]\)(?:[+*]|\{\d*,\d*\})")


def check_regex(field: str, pattern: str | None) -> None:
    """Refuse a rule regex that could stall the event loop: too long, or with nested quantifiers.

    Python's `re` backtracks, and a rule's regex runs on every request body: length and the classic
    catastrophic shape are bounded here, before it is compiled.
    """
    if pattern is None:
        return
    if len(pattern) > MAX_REGEX_LENGTH:
        raise RuleError(f"{field}: regex of {len(pattern)} characters is longer than {MAX_REGEX_LENGTH}")
    if _NESTED_QUANTIFIER.search(pattern):
        raise RuleError(f"{field}: nested quantifiers such as (a+)+ can take exponential time; rewrite the regex")


# What a rule may match on, at its top level or under `match`.
MATCH_FIELDS = ("operation", "method", "path", "body_regex", "body_json")
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclasses.dataclass(frozen=True)
class KnownOperations:
    """The operation ids a rule may name, each with the methods it is served under (to refuse a rule
    that could never match)."""

    methods: Mapping[str, frozenset[str]]
    # Operations that start an async task, by family (a fault's `scenario` only means something there).
    tasks: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, contracts: Iterable[Any]) -> KnownOperations:
        """From contracts (anything with `id`, `method`, `aliases`, `family` and `raw`)."""
        items = list(contracts)
        methods = {c.id: frozenset({c.method.upper(), *(m.upper() for m, _ in c.aliases)}) for c in items}
        tasks = {c.id: str(c.family) for c in items if isinstance(getattr(c, "raw", None), dict) and c.raw.get("task")}
        return cls(methods, tasks)

    def check(self, operation: str, method: str | None) -> None:
        if operation not in self.methods:
            close = difflib.get_close_matches(operation, list(self.methods), n=3, cutoff=0.6)
            hint = f" (closest: {', '.join(close)})" if close else " (see `mockserver contracts list`)"
            raise RuleError(f"operation: unknown operation {operation!r}{hint}")
        allowed = self.methods[operation]
        if method and method.upper() not in allowed:
            raise RuleError(
                f"method: {operation} is served under {', '.join(sorted(allowed))}, "
                f"so a rule for {method.upper()} would never match"
            )


def check_fields(data: Mapping[str, Any], allowed: Iterable[str], where: str = "") -> None:
    """Refuse keys outside `allowed`, naming them (and the nearest allowed name)."""
    known = list(allowed)
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(sorted(known))})"
            raise RuleError(f"{where}{key}: unknown field{hint}")


@dataclasses.dataclass
class RequestMatch:
    """Which requests a rule applies to. Every given criterion must hold."""

    operation: str | None = None
    method: str | None = None
    # A path regex (full match), e.g. "/v1/chat/completions" or "/mj/.*".
    path: str | None = None
    # A regex searched in the request body text (JSON bodies canonicalised, so key order is irrelevant).
    body_regex: str | None = None
    # Key/value pairs the JSON body must contain at the top level (e.g. {"model": "gpt-4o"}).
    body_json: Mapping[str, Any] | None = None
    _path_re: re.Pattern[str] | None = dataclasses.field(default=None, repr=False)
    _body_re: re.Pattern[str] | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_regex("path", self.path)
        check_regex("body_regex", self.body_regex)
        self._path_re = _compile("path", self.path, 0)
        self._body_re = _compile("body_regex", self.body_regex, re.IGNORECASE | re.DOTALL)
        if self.method:
            self.method = self.method.upper()

    def matches(self, *, operation: str | None, method: str, path: str, body_text: str, body: Any) -> bool:
        if self.operation and self.operation != operation:
            return False
        if self.method and self.method != method:
            return False
        if self._path_re and not self._path_re.fullmatch(path):
            return False
        if self._body_re and not self._body_re.search(body_text):
            return False
        if self.body_json:
            if not isinstance(body, dict):
                return False
            return all(body.get(k) == v for k, v in self.body_json.items())
        return True

    def describe(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (
                ("operation", self.operation),
                ("method", self.method),
                ("path", self.path),
                ("body_regex", self.body_regex),
                ("body_json", self.body_json),
            )
            if v is not None
        }


def _compile(field: str, pattern: str | None, flags: int) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise RuleError(f"{field}: not a valid regular expression ({exc})") from None


def parse_match(data: Mapping[str, Any], known: KnownOperations | None = None) -> RequestMatch:
    """Read the matching criteria of a posted rule (top level, or under `match`, where a bare string is a
    body regex). With `known`, an operation id must exist and a method must be one it is served under."""
    source = data.get("match", data)
    if isinstance(source, str):
        source = {"body_regex": source}
    if not isinstance(source, Mapping):
        raise RuleError("match: must be an object or a regex string")
    if "match" in data:
        check_fields(source, MATCH_FIELDS, "match.")
        both = sorted(k for k in MATCH_FIELDS if k in data)
        if both:
            raise RuleError(f"{both[0]}: give the matching criteria either under match or at the top level, not both")
    out: dict[str, Any] = {}
    for key in ("operation", "method", "path", "body_regex"):
        value = source.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise RuleError(f"{key}: must be a non-empty string")
        out[key] = value
    if out["method"] and out["method"].upper() not in HTTP_METHODS:
        raise RuleError(f"method: {out['method']!r} is not an HTTP method ({', '.join(sorted(HTTP_METHODS))})")
    if source.get("body_json") is not None and not isinstance(source["body_json"], Mapping):
        raise RuleError("body_json: must be an object")
    out["body_json"] = source.get("body_json")
    if not any(out.values()):
        raise RuleError("match: a rule needs operation, method, path, body_regex or body_json to match")
    if known is not None and out["operation"]:
        known.check(out["operation"], out["method"])
    return RequestMatch(**out)


R = TypeVar("R")


class RuleBook(Generic[R]):
    """An ordered, thread-safe set of rules with ids; the newest matching rule wins."""

    def __init__(self) -> None:
        self._rules: dict[str, R] = {}
        self._lock = threading.Lock()

    def add(self, rule_id: str, rule: R) -> None:
        with self._lock:
            self._rules[rule_id] = rule

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            return self._rules.pop(rule_id, None) is not None

    def get(self, rule_id: str) -> R | None:
        return self._rules.get(rule_id)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def replace(self, rules: Iterable[tuple[str, R]]) -> None:
        """Hold exactly `rules` (id, rule), oldest first: the settings document's list."""
        fresh = dict(rules)
        with self._lock:
            self._rules = fresh

    def newest_first(self) -> Iterator[R]:
        with self._lock:
            rules = list(self._rules.values())
        return reversed(rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __bool__(self) -> bool:
        return bool(self._rules)
