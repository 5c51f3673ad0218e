"""`ContractChecker`: assert that a request or response body conforms to an operation's contract."""

from __future__ import annotations

import difflib
from typing import Any


class ContractChecker:
    """`validate_request(op, body)` / `validate_response(op, status, body)` raise an AssertionError
    naming the JSON path of every problem (e.g. `choices[0].message.role: field required`)."""

    def __init__(self, contracts: Any = None) -> None:
        if contracts is None:
            from mockserver.contracts import load_contracts

            contracts = load_contracts()
        self.contracts = contracts

    def contract(self, op: str) -> Any:
        """The contract of operation `op`; an unknown id names the closest known ones."""
        try:
            return self.contracts.get(op)
        except KeyError:
            ids = [c.id for c in self.contracts]
            close = difflib.get_close_matches(op, ids, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise LookupError(f"no operation {op!r} in the mockserver contracts{hint}") from None

    @property
    def operations(self) -> list[str]:
        return sorted(c.id for c in self.contracts)

    def validate_request(self, op: str, body: Any) -> None:
        """Fail unless `body` is a valid request body for `op`."""
        issues = self.contract(op).validate_body(body)
        if issues:
            raise AssertionError(_message(f"{op} request body", issues))

    def validate_response(self, op: str, status: int, body: Any) -> None:
        """Fail unless `body` is a valid `status` answer of `op` (error statuses check the envelope)."""
        issues = self.contract(op).validate_response(status, body)
        if issues:
            raise AssertionError(_message(f"{op} response {status}", issues))

    def validate_event(self, op: str, event: str | None, data: Any) -> None:
        """Fail unless `data` is a valid stream event (`None`/`"message"` is the unnamed SSE event)."""
        issues = self.contract(op).validate_event(event, data)
        if issues:
            raise AssertionError(_message(f"{op} stream event {event or 'message'}", issues))

    def is_valid_request(self, op: str, body: Any) -> bool:
        return not self.contract(op).validate_body(body)

    def is_valid_response(self, op: str, status: int, body: Any) -> bool:
        return not self.contract(op).validate_response(status, body)


def _message(what: str, issues: list[Any]) -> str:
    lines = [f"{what} does not conform to the contract ({len(issues)} problem{'s' * (len(issues) != 1)}):"]
    lines += [f"  {issue.path or '<root>'}: {issue.message}" for issue in issues[:20]]
    if len(issues) > 20:
        lines.append(f"  ... and {len(issues) - 20} more")
    return "\n".join(lines)
