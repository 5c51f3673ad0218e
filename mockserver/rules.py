"""What faults and stubs share: matching a request by operation, method, path and body, and a rule book."""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
from collections.abc import Iterator, Mapping
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
        try:
            self._path_re = re.compile(self.path) if self.path else None
            self._body_re = re.compile(self.body_regex, re.IGNORECASE | re.DOTALL) if self.body_regex else None
        except re.error as exc:
            raise RuleError(f"bad regex: {exc}") from None
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


def parse_match(data: Mapping[str, Any]) -> RequestMatch:
    """Read the matching criteria of a posted rule (top level or under `match`); a bare string under
    `match` is a body regex."""
    source = data.get("match", data)
    if isinstance(source, str):
        source = {"body_regex": source}
    if not isinstance(source, Mapping):
        raise RuleError("match: must be an object or a regex string")
    out: dict[str, Any] = {}
    for key in ("operation", "method", "path", "body_regex"):
        value = source.get(key)
        if value is not None and not isinstance(value, str):
            raise RuleError(f"{key}: must be a string")
        out[key] = value
    if source.get("body_json") is not None and not isinstance(source["body_json"], Mapping):
        raise RuleError("body_json: must be an object")
    out["body_json"] = source.get("body_json")
    if not any(out.values()):
        raise RuleError("match: a rule needs operation, method, path, body_regex or body_json to match")
    return RequestMatch(**out)


R = TypeVar("R")


class RuleBook(Generic[R]):
    """An ordered, thread-safe set of rules with ids; the newest matching rule wins."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._rules: dict[str, R] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def new_id(self) -> str:
        return f"{self._prefix}_{next(self._ids)}"

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

    def newest_first(self) -> Iterator[R]:
        with self._lock:
            rules = list(self._rules.values())
        return reversed(rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __bool__(self) -> bool:
        return bool(self._rules)
