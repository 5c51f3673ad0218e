"""The gateway's keys, quota ledger, rate windows and usage log: `KeyStore` and its memory implementation.

Everything that decides something is one atomic store operation, as new-api does it with a
conditional `UPDATE tokens SET remain_quota = remain_quota - ? WHERE remain_quota >= ?`:
`admit` checks a key and reserves its estimated cost (pre-consumption) in one step, `settle` turns the
reservation into the actual cost and writes the log row, and task refunds are ledger entries that
become effective at the virtual time the task fails. A store shared by several processes implements
the same protocol, so the rules hold across workers once state is shared.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

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


class LogEntry:
    """One usage log row, kept compact (this is written on every call) and made a dict when read."""

    __slots__ = (
        "completion_tokens",
        "content",
        "created_at",
        "group",
        "id",
        "is_stream",
        "key_id",
        "key_name",
        "model_name",
        "prompt_tokens",
        "quota",
        "request_id",
        "secret",
        "type",
        "use_time",
    )

    def __init__(
        self,
        type: int,
        created_at: int,
        secret: str,
        key_id: int,
        key_name: str,
        group: str,
        model_name: str,
        prompt_tokens: int,
        completion_tokens: int,
        use_time: int,
        is_stream: bool,
        request_id: str | int,
        content: str | Callable[[], str],
    ) -> None:
        self.type = type
        self.created_at = created_at
        self.secret = secret
        self.key_id = key_id
        self.key_name = key_name
        self.group = group
        self.model_name = model_name
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.use_time = use_time
        self.is_stream = is_stream
        self.request_id = request_id
        self.content = content
        self.quota = 0
        self.id = 0

    def refund(self, quota: int, at: float, content: str) -> LogEntry:
        """The refund row of this (charged) row."""
        row = LogEntry(
            LOG_REFUND, int(at), self.secret, self.key_id, self.key_name, self.group, self.model_name,
            0, 0, 0, self.is_stream, self.request_id, content,
        )  # fmt: skip
        row.quota = quota
        return row

    def as_dict(self, user_id: int, username: str) -> dict[str, Any]:
        """The row as new-api's log API shows it (plus the masked key)."""
        content = self.content if isinstance(self.content, str) else self.content()
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


@dataclasses.dataclass
class Reservation:
    """What `admit` set aside for one call: settled exactly once."""

    secret: str
    key_id: int
    reserved: int
    limited: bool


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


class KeyStore(Protocol):
    """What the gateway needs from a store of keys, quota and usage."""

    def reset(self, keys: Iterable[GatewayKey]) -> None:
        """Forget every key, reservation, window, refund and log row; start over with `keys`."""
        ...

    def add(self, key: GatewayKey) -> GatewayKey:
        """Store a new key (its `id` assigned when 0); ValueError when its secret is taken."""
        ...

    def get(self, key_id: int) -> GatewayKey | None: ...

    def find(self, secret: str) -> GatewayKey | None:
        """The key with this secret (no `sk-`), or None."""
        ...

    def all_keys(self) -> list[GatewayKey]:
        """Every key, oldest first (copies)."""
        ...

    def update(self, key_id: int, changes: Mapping[str, Any]) -> GatewayKey | None: ...

    def remove(self, key_id: int) -> bool: ...

    def admit(self, secret: str, *, now: float, wall: float, estimate: int) -> Reservation:
        """Check the key at virtual time `now` (status, expiry, quota, RPM/TPM at wall time `wall`)
        and reserve `estimate`, atomically; raises `Refused`. An unknown secret is admitted unlimited."""
        ...

    def settle(self, reservation: Reservation, *, quota: int, tokens: int, wall: float, row: LogEntry | None) -> int:
        """Charge the actual `quota` against the reservation (never below zero left) and log `row`
        (its `quota` set to what was charged); returns the quota charged."""
        ...

    def refund_at(self, secret: str, quota: int, due: float, row: LogEntry) -> None:
        """Give `quota` back at virtual time `due` (a task that will fail), logging `row` then."""
        ...

    def logs(self, now: float) -> list[LogEntry]:
        """Every log row whose time has come, oldest first."""
        ...

    def usage(self, secret: str | None, now: float) -> Usage:
        """Totals of one key (None: every key)."""
        ...

    def refresh(self, now: float) -> None:
        """Apply the refunds that are due by virtual time `now`."""
        ...


class MemoryKeyStore:
    """`KeyStore` in one process: dicts under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[int, GatewayKey] = {}
        self._by_secret: dict[str, GatewayKey] = {}
        self._ids = itertools.count(1)
        self._windows: dict[str, collections.deque[tuple[float, int]]] = {}
        self._refunds: list[tuple[float, str, int, LogEntry]] = []
        self._log: collections.deque[LogEntry] = collections.deque(maxlen=LOG_SIZE)
        self._usage: dict[str, Usage] = {}
        self._log_ids = itertools.count(1)

    # -- keys ------------------------------------------------------------------------------------
    def reset(self, keys: Iterable[GatewayKey]) -> None:
        with self._lock:
            self._by_id.clear()
            self._by_secret.clear()
            self._windows.clear()
            self._refunds.clear()
            self._log.clear()
            self._usage.clear()
            self._ids = itertools.count(1)
            self._log_ids = itertools.count(1)
            for key in keys:
                self._add(dataclasses.replace(key))

    def add(self, key: GatewayKey) -> GatewayKey:
        with self._lock:
            return dataclasses.replace(self._add(dataclasses.replace(key)))

    def _add(self, key: GatewayKey) -> GatewayKey:
        if key.secret in self._by_secret:
            raise ValueError(f"key {key.masked()} exists already (id {self._by_secret[key.secret].id})")
        if not key.id:
            key.id = next(self._ids)
            while key.id in self._by_id:
                key.id = next(self._ids)
        elif key.id in self._by_id:
            raise ValueError(f"key id {key.id} exists already")
        self._by_id[key.id] = key
        self._by_secret[key.secret] = key
        return key

    def get(self, key_id: int) -> GatewayKey | None:
        with self._lock:
            key = self._by_id.get(key_id)
            return dataclasses.replace(key) if key else None

    def find(self, secret: str) -> GatewayKey | None:
        # The stored key itself (no copy: this runs on every call); callers only read it.
        return self._by_secret.get(secret)

    def all_keys(self) -> list[GatewayKey]:
        with self._lock:
            return [dataclasses.replace(k) for k in sorted(self._by_id.values(), key=lambda k: k.id)]

    def update(self, key_id: int, changes: Mapping[str, Any]) -> GatewayKey | None:
        with self._lock:
            key = self._by_id.get(key_id)
            if key is None:
                return None
            for name, value in changes.items():
                setattr(key, name, value)
            return dataclasses.replace(key)

    def remove(self, key_id: int) -> bool:
        with self._lock:
            key = self._by_id.pop(key_id, None)
            if key is None:
                return False
            del self._by_secret[key.secret]
            return True

    # -- admission and charging ------------------------------------------------------------------
    def admit(self, secret: str, *, now: float, wall: float, estimate: int) -> Reservation:
        with self._lock:
            self._apply_refunds(now)
            key = self._by_secret.get(secret)
            if key is None:
                return Reservation(secret, 0, 0, False)
            snapshot = dataclasses.replace(key)
            if key.status == STATUS_EXHAUSTED:
                raise Refused("exhausted_status", snapshot)
            if key.status == STATUS_EXPIRED:
                raise Refused("expired", snapshot)
            if key.status != STATUS_ENABLED:
                raise Refused("disabled", snapshot)
            if key.expired_time != -1 and key.expired_time < now:
                key.status = STATUS_EXPIRED  # as new-api writes it back (without Redis)
                raise Refused("expired", snapshot)
            if not key.unlimited_quota and key.remain_quota <= 0:
                key.status = STATUS_EXHAUSTED
                raise Refused("exhausted", snapshot)
            self._check_rate(key, snapshot, wall)
            limited = not key.unlimited_quota
            if limited and key.remain_quota < estimate:
                raise Refused("quota", snapshot, remain=key.remain_quota, need=estimate)
            reserved = estimate if limited else 0
            key.remain_quota -= reserved
            key.accessed_time = int(now)
            return Reservation(secret, key.id, reserved, limited)

    def _check_rate(self, key: GatewayKey, snapshot: GatewayKey, wall: float) -> None:
        if not key.rpm and not key.tpm:
            return
        window = self._windows.setdefault(key.secret, collections.deque())
        horizon = wall - key.rate_window
        while window and window[0][0] <= horizon:
            window.popleft()
        if key.rpm and sum(1 for _, n in window if n < 0) >= key.rpm:
            oldest = next(t for t, n in window if n < 0)
            raise Refused("rpm", snapshot, retry_after=_retry_after(oldest + key.rate_window - wall))
        if key.tpm:
            used = sum(n for _, n in window if n > 0)
            if used >= key.tpm:
                oldest = next(t for t, n in window if n > 0)
                raise Refused("tpm", snapshot, retry_after=_retry_after(oldest + key.rate_window - wall), used=used)
        if key.rpm:
            window.append((wall, -1))  # a request (tokens are appended as they are used)

    def settle(self, reservation: Reservation, *, quota: int, tokens: int, wall: float, row: LogEntry | None) -> int:
        with self._lock:
            key = self._by_id.get(reservation.key_id) if reservation.key_id else None
            charged = max(0, quota)
            if key is not None and key.secret == reservation.secret:
                if reservation.limited:
                    available = key.remain_quota + reservation.reserved
                    # Never below zero: the gateway's post-consumption may overshoot by one call; the
                    # emulator promises a key is never overspent, so the last call is charged what is left.
                    charged = min(charged, max(0, available))
                    key.remain_quota = available - charged
                key.used_quota += charged
                if key.tpm and tokens > 0:
                    self._windows.setdefault(key.secret, collections.deque()).append((wall, tokens))
            if row is not None:
                row.id = next(self._log_ids)
                row.quota = charged
                self._log.append(row)
                usage = self._usage.get(reservation.secret)
                if usage is None:
                    usage = self._usage[reservation.secret] = Usage()
                if row.type == LOG_ERROR:
                    usage.errors += 1
                else:
                    usage.calls += 1
                    usage.prompt_tokens += row.prompt_tokens
                    usage.completion_tokens += row.completion_tokens
                    usage.quota += charged
            return charged

    def refund_at(self, secret: str, quota: int, due: float, row: LogEntry) -> None:
        if quota <= 0:
            return
        with self._lock:
            self._refunds.append((due, secret, quota, row))

    def _apply_refunds(self, now: float) -> None:
        """Refunds whose time has come go back to their keys (called under the lock)."""
        if not self._refunds:
            return
        due = [r for r in self._refunds if r[0] <= now]
        if not due:
            return
        self._refunds = [r for r in self._refunds if r[0] > now]
        for at, secret, quota, row in sorted(due, key=lambda r: r[0]):
            key = self._by_secret.get(secret)
            if key is not None:
                if not key.unlimited_quota:
                    key.remain_quota += quota
                    if key.status == STATUS_EXHAUSTED and key.remain_quota > 0:
                        key.status = STATUS_ENABLED
                key.used_quota -= quota
            usage = self._usage.setdefault(secret, Usage())
            usage.quota -= quota
            usage.refunded += quota
            row.id = next(self._log_ids)
            row.quota = quota
            row.created_at = int(at)
            self._log.append(row)

    # -- reading ---------------------------------------------------------------------------------
    def logs(self, now: float) -> list[LogEntry]:
        with self._lock:
            self._apply_refunds(now)
            return list(self._log)

    def usage(self, secret: str | None, now: float) -> Usage:
        with self._lock:
            self._apply_refunds(now)
            if secret is not None:
                return dataclasses.replace(self._usage.get(secret, Usage()))
            total = Usage()
            for one in self._usage.values():
                for field in dataclasses.fields(Usage):
                    setattr(total, field.name, getattr(total, field.name) + getattr(one, field.name))
            return total

    def refresh(self, now: float) -> None:
        """Apply refunds that are due (reads of keys call this first)."""
        with self._lock:
            self._apply_refunds(now)


def _retry_after(seconds: float) -> int:
    """Whole seconds, at least 1 (what `Retry-After` carries)."""
    return max(1, math.ceil(seconds))
