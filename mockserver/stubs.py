"""Content stubs: user-chosen content (reply text, tool calls, whole answers) for matching requests."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mockserver.rules import RequestMatch, RuleBook, RuleError, parse_match

# What a stub may fix; families read the keys they understand.
REPLY_KEYS = ("content", "tool_calls", "reasoning", "finish_reason", "json")


@dataclasses.dataclass
class Stub:
    """Either `reply` (content the family wraps in its own wire format) or `response` (sent as is)."""

    id: str
    match: RequestMatch
    reply: dict[str, Any] = dataclasses.field(default_factory=dict)
    response: dict[str, Any] | None = None
    times: int | None = None
    hits: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "match": self.match.describe(),
            "reply": self.reply,
            "response": self.response,
            "times": self.times,
            "hits": self.hits,
        }


def parse_stub(rule_id: str, data: Mapping[str, Any]) -> Stub:
    """Build a `Stub` from the JSON posted to `/__mock/stubs`, naming the bad field on error."""
    if not isinstance(data, Mapping):
        raise RuleError("body: a stub is a JSON object")
    match = parse_match(data)
    reply = {k: data[k] for k in REPLY_KEYS if k in data}
    if "reply" in data:
        if not isinstance(data["reply"], Mapping):
            raise RuleError("reply: must be an object")
        reply.update(data["reply"])
    if "content" in reply and not isinstance(reply["content"], str):
        raise RuleError("content: must be a string")
    if "tool_calls" in reply:
        calls = reply["tool_calls"]
        if not isinstance(calls, list) or not all(isinstance(c, Mapping) and "name" in c for c in calls):
            raise RuleError("tool_calls: must be a list of {name, arguments} objects")
    response = data.get("response")
    if response is not None:
        if not isinstance(response, Mapping):
            raise RuleError("response: must be an object with status, body and headers")
        status = response.get("status", 200)
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise RuleError("response.status: must be an HTTP status between 100 and 599")
        response = {"status": status, "body": response.get("body"), "headers": dict(response.get("headers") or {})}
    if not reply and response is None:
        raise RuleError("reply: a stub needs reply content (content, tool_calls, ...) or a response")
    times = data.get("times")
    if times is not None and (not isinstance(times, int) or times < 0):
        raise RuleError("times: must be a whole number >= 0")
    return Stub(id=rule_id, match=match, reply=reply, response=response, times=times)


class Stubs(RuleBook[Stub]):
    """The active stubs."""

    def __init__(self) -> None:
        super().__init__("stub")

    def pick(self, **request: Any) -> Stub | None:
        for stub in self.newest_first():
            if stub.times is not None and stub.hits >= stub.times:
                continue
            if stub.match.matches(**request):
                stub.hits += 1
                return stub
        return None

    def load_dir(self, folder: str | Path) -> int:
        """Load every `*.json` file in `folder` (one stub or a list of stubs each); return how many."""
        count = 0
        for file in sorted(Path(folder).glob("*.json")):
            data = json.loads(file.read_text(encoding="utf-8"))
            for item in data if isinstance(data, list) else [data]:
                try:
                    rule_id = item.get("id") or self.new_id()
                    self.add(rule_id, parse_stub(rule_id, item))
                except RuleError as exc:
                    raise RuleError(f"{file}: {exc}") from None
                count += 1
        return count
