"""The records of the gateway's key store: keys, usage log rows, reservations, refusals and totals."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, NamedTuple

# new-api's token statuses (common/constants.go).
STATUS_ENABLED = 1
STATUS_DISABLED = 2
STATUS_EXPIRED = 3
STATUS_EXHAUSTED = 4
STATUS_NAMES = {
    STATUS_ENABLED: "enabled",
    STATUS_DISABLED: "disabled",
    STATUS_EXPIRED: "expired",
    STATUS_EXHAUSTED: "exhausted",
}

# new-api's log types (model/log.go).
LOG_CONSUME = 2
LOG_ERROR = 5
LOG_REFUND = 6

# Usage log rows kept (totals per key are counted without limit).
LOG_SIZE = 100_000


@dataclasses.dataclass
class GatewayKey:
    """One API key as new-api's `Token` holds it, plus the emulator's per-key rate limits.

    `secret` is the key without its optional `sk-` prefix (the gateway stores it that way);
    `remain_quota` counts down (quota units, 500,000 = 1 USD) unless `unlimited_quota`.
    """

    id: int
    secret: str
    name: str = ""
    status: int = STATUS_ENABLED
    remain_quota: int = 0
    used_quota: int = 0
    unlimited_quota: bool = True
    expired_time: int = -1
    model_limits: tuple[str, ...] = ()
    allow_ips: tuple[str, ...] = ()
    group: str = "default"
    rpm: int = 0
    tpm: int = 0
    rate_window: float = 60.0
    created_time: int = 0
    accessed_time: int = 0
    origin: str = "control"  # "seed", "file", "api-key" or "control": what a reset keeps

    @property
    def key(self) -> str:
        """The key as a client sends it."""
        return "sk-" + self.secret

    def masked(self) -> str:
        """As new-api's `MaskTokenKey` shows it in key lists."""
        return mask(self.key)

    def view(self, *, full: bool = False) -> dict[str, Any]:
        """The key as the control API shows it (`full`: with the whole key)."""
        return {
            "id": self.id,
            "key": self.key if full else self.masked(),
            "name": self.name,
            "status": STATUS_NAMES.get(self.status, str(self.status)),
            "remain_quota": self.remain_quota,
            "used_quota": self.used_quota,
            "unlimited_quota": self.unlimited_quota,
            "expired_time": self.expired_time,
            "model_limits": list(self.model_limits),
            "allow_ips": list(self.allow_ips),
            "group": self.group,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "rate_window": self.rate_window,
            "created_time": self.created_time,
            "accessed_time": self.accessed_time,
        }


def mask(key: str) -> str:
    """A key as new-api's `MaskTokenKey` shows it (`sk-a**********wxyz`)."""
    if len(key) <= 4:
        return "*" * len(key)
    if len(key) <= 8:
        return key[:2] + "****" + key[-2:]
    return key[:4] + "**********" + key[-4:]


class LogEntry(NamedTuple):
    """One usage log row. A tuple of plain values on purpose: one is kept per call, and tuples of atomic
    values leave the garbage collector's lists, so a long log costs later requests nothing. `content`
    None means "describe it when read" (see `as_dict`); the store fills in `id` and `quota`."""

    type: int
    created_at: int
    secret: str
    key_id: int
    key_name: str
    group: str
    model_name: str
    prompt_tokens: int
    completion_tokens: int
    use_time: int
    is_stream: bool
    request_id: str | int
    content: str | None
    quota: int = 0
    id: int = 0

    def refund(self, quota: int, at: float, content: str) -> LogEntry:
        """The refund row of this (charged) row."""
        return self._replace(
            type=LOG_REFUND, created_at=int(at), prompt_tokens=0, completion_tokens=0, use_time=0,
            content=content, quota=quota,
        )  # fmt: skip

    def as_dict(self, user_id: int, username: str, describe: Callable[[LogEntry], str] | None = None) -> dict[str, Any]:
        """The row as new-api's log API shows it (plus the masked key); `describe` writes a deferred content."""
        content = self.content if self.content is not None else (describe(self) if describe else "")
        request_id = self.request_id
        if isinstance(request_id, int):
            # No id was sent with a successful answer: one from the virtual time and the journal entry
            # (deterministic, and it matches `/__mock/requests`).
            request_id = time.strftime("%Y%m%d%H%M%S", time.gmtime(self.created_at)) + f"{request_id:09d}mock"
        return {
            "id": self.id,
            "user_id": user_id,
            "created_at": self.created_at,
            "type": self.type,
            "content": content,
            "username": username,
            "token_name": self.key_name,
            "token_id": self.key_id,
            "key": mask("sk-" + self.secret),
            "model_name": self.model_name,
            "quota": self.quota,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "use_time": self.use_time,
            "is_stream": self.is_stream,
            "channel": 1,
            "group": self.group,
            "request_id": request_id,
            "other": "",
        }


class Refused(Exception):
    """`admit` said no: `reason` is one of `disabled`, `expired`, `exhausted`, `exhausted_status`,
    `rpm`, `tpm`, `quota` (not enough left for the estimate); `detail` carries the numbers."""

    def __init__(self, reason: str, key: GatewayKey, **detail: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key = key
        self.detail = detail


class Reservation(NamedTuple):
    """What `admit` set aside for one call: settled exactly once. (A tuple: one is made per call.)"""

    secret: str
    key_id: int
    reserved: int
    limited: bool
    # The key counts tokens per window (TPM): its settlement feeds the next admission's check.
    windowed: bool = False

    @property
    def decides_nothing(self) -> bool:
        """Whether settling it can wait: no quota to take from and no window to fill, so no admission
        depends on it (only totals, `used_quota` and the log do; a store may apply it before its next read)."""
        return not self.limited and not self.windowed


@dataclasses.dataclass
class Usage:
    """Totals of one key: calls, tokens and quota (refunds already taken off)."""

    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    quota: int = 0
    refunded: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "usd": round(self.quota / 500_000, 6)}
