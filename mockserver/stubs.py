"""Content stubs: user-chosen content (reply text, tool calls, whole answers) for matching requests."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mockserver.rules import MATCH_FIELDS, KnownOperations, RequestMatch, RuleBook, RuleError, check_fields, parse_match

# What a stub may fix; families read the keys they understand.
REPLY_KEYS = ("content", "tool_calls", "reasoning", "finish_reason", "json")
STUB_FIELDS = ("id", "match", *MATCH_FIELDS, *REPLY_KEYS, "reply", "response", "times")
RESPONSE_FIELDS = ("status", "body", "headers")


@dataclasses.dataclass
class Stub:
    """Either `reply` (content the family wraps in its own wire format) or `response` (sent as is)."""

    id: str
    match: RequestMatch
    reply: dict[str, Any] = dataclasses.field(default_factory=dict)
    response: dict[str, Any] | None = None
    times: int | None = None

    def describe(self, hits: int = 0) -> dict[str, Any]:
        """The stub as the control API shows it, with the hits counted so far (by the store)."""
        return {
            "id": self.id,
            "match": self.match.describe(),
            "reply": self.reply,
            "response": self.response,
            "times": self.times,
            "hits": hits,
        }


def parse_stub(rule_id: str, data: Mapping[str, Any], known: KnownOperations | None = None) -> Stub:
    """Build a `Stub` from the JSON posted to `/__mock/stubs`, naming the bad field on error (unknown
    fields and, with `known`, unknown operations are refused)."""
    if not isinstance(data, Mapping):
        raise RuleError("body: a stub is a JSON object")
    check_fields(data, STUB_FIELDS)
    match = parse_match(data, known)
    reply = {k: data[k] for k in REPLY_KEYS if k in data}
    if "reply" in data:
        if not isinstance(data["reply"], Mapping):
            raise RuleError("reply: must be an object")
        check_fields(data["reply"], REPLY_KEYS, "reply.")
        reply.update(data["reply"])
    for key in ("reasoning", "finish_reason"):
        if key in reply and not isinstance(reply[key], str):
            raise RuleError(f"{key}: must be a string")
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
        check_fields(response, RESPONSE_FIELDS, "response.")
        status = response.get("status", 200)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise RuleError(f"response.status: must be an HTTP status between 100 and 599 (got {status!r})")
        headers = response.get("headers")
        if headers is not None and not isinstance(headers, Mapping):
            raise RuleError("response.headers: must be an object of header name to value")
        response = {"status": status, "body": response.get("body"), "headers": dict(response.get("headers") or {})}
    if not reply and response is None:
        raise RuleError("reply: a stub needs reply content (content, tool_calls, ...) or a response")
    times = data.get("times")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise RuleError(f"times: must be a whole number >= 1 (got {times!r})")
    return Stub(id=rule_id, match=match, reply=reply, response=response, times=times)


class Stubs(RuleBook[Stub]):
    """The active stubs, as this process last read them from the settings document."""

    @staticmethod
    def read_dir(folder: str | Path, known: KnownOperations | None = None) -> list[dict[str, Any]]:
        """The stubs in every `*.json` file in `folder` (one stub or a list of stubs each), checked.

        A folder that does not exist, a file that is not JSON and a malformed stub raise `RuleError`
        naming the file."""
        found: list[dict[str, Any]] = []
        root = Path(folder)
        if not root.is_dir():
            raise RuleError(f"stubs: {folder} is not a folder")
        for file in sorted(root.glob("*.json")):
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise RuleError(f"{file}: not a readable JSON file ({exc})") from None
            for item in data if isinstance(data, list) else [data]:
                try:
                    parse_stub("stub", item, known)
                except RuleError as exc:
                    raise RuleError(f"{file}: {exc}") from None
                found.append(dict(item))
        return found
