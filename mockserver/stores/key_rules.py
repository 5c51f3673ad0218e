"""`KeyRules`: the gateway key store's rules on state in this process, synchronous (every store runs them).

Everything that decides something is one atomic operation, as new-api does it with a conditional
`UPDATE tokens SET remain_quota = remain_quota - ? WHERE remain_quota >= ?`: `admit` checks a key and
reserves its estimated cost (pre-consumption) in one step, `settle` turns the reservation into the actual
cost and writes the log row, and task refunds are ledger entries that become effective at the virtual
time the task fails. The async stores (`stores/keys.py`) wrap these rules: in memory under a lock, in a
sqlite file under `BEGIN IMMEDIATE`, in Redis in an optimistic transaction on a versioned state.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mockserver.stores.key_records import (
    LOG_ERROR,
    LOG_SIZE,
    STATUS_ENABLED,
    STATUS_EXHAUSTED,
    STATUS_EXPIRED,
    GatewayKey,
    LogEntry,
    Refused,
    Reservation,
    Usage,
)

__all__ = ["KeyRules"]


# Settlements kept for later before they are applied anyway (a bound on what waits in memory).
_LATER_MAX = 256


class KeyRules:
    """The key store's rules on dicts under one lock (the memory store itself; shared stores load and
    dump its state around each operation)."""

    # Whether the state lives outside this process (then a read is cheaper than a write transaction).
    shared = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[int, GatewayKey] = {}
        self._by_secret: dict[str, GatewayKey] = {}
        self._next_id = 1
        self._windows: dict[str, collections.deque[tuple[float, int]]] = {}
        self._refunds: list[tuple[float, str, int, LogEntry]] = []
        self._log: collections.deque[LogEntry] = collections.deque(maxlen=LOG_SIZE)
        self._usage: dict[str, Usage] = {}
        self._next_log = 1
        self._started = False
        # Settlements that decide nothing, applied before the next operation but `find` (`settle_later`).
        self._later: list[tuple[Reservation, int | Callable[[], int], int, float, LogEntry | None]] = []

    # -- the hooks a shared store overrides ------------------------------------------------------
    def _tx(self, write: bool = True) -> contextlib.AbstractContextManager[Any]:
        """One atomic operation on the state (here: the lock itself, the cheapest context manager)."""
        return self._lock

    def _emit(self, row: LogEntry) -> None:
        self._log.append(row)

    def _new_log_id(self) -> int:
        self._next_log += 1
        return self._next_log - 1

    def settle_later(
        self, reservation: Reservation, quota: int | Callable[[], int], tokens: int, wall: float, row: LogEntry | None
    ) -> None:
        """Keep a settlement that decides nothing (`Reservation.decides_nothing`) for the next operation:
        a call then only appends a tuple, and `quota` may be a price asked for only then."""
        with self._lock:
            self._later.append((reservation, quota, tokens, wall, row))
            if len(self._later) >= _LATER_MAX:  # nobody read for a while: apply them, so they stay few
                self._apply_later()

    def _apply_later(self) -> None:
        """Apply the kept settlements, in order (called inside an operation)."""
        if self._later:
            later, self._later = self._later, []
            for reservation, quota, tokens, wall, row in later:
                price = quota() if callable(quota) else quota
                self._settle(reservation, quota=price, tokens=tokens, wall=wall, row=row)

    def initialize(self, keys: Iterable[GatewayKey]) -> None:
        """Start with `keys` unless the store already holds state (a shared file another process began,
        or an earlier `initialize`: a gateway prepares its store once, whichever request comes first)."""
        if not self._started:
            self.reset(keys)

    # -- keys ------------------------------------------------------------------------------------
    def reset(self, keys: Iterable[GatewayKey]) -> None:
        with self._tx():
            self._by_id.clear()
            self._by_secret.clear()
            self._windows.clear()
            self._refunds.clear()
            self._log.clear()
            self._usage.clear()
            self._next_id = 1
            self._next_log = 1
            self._started = True
            self._later.clear()
            for key in keys:
                self._add(dataclasses.replace(key))

    def add(self, key: GatewayKey) -> GatewayKey:
        with self._tx():
            return dataclasses.replace(self._add(dataclasses.replace(key)))

    def dump(self) -> dict[str, Any]:
        """The state a shared store keeps between operations (everything but the log rows)."""
        return {
            "keys": list(self._by_id.values()),
            "windows": self._windows,
            "refunds": self._refunds,
            "usage": self._usage,
            "next_id": self._next_id,
            "next_log": self._next_log,
        }

    def load(self, state: dict[str, Any]) -> None:
        """Take over `dump()`'s state (a shared store calls this when another process changed it)."""
        self._by_id = {k.id: k for k in state["keys"]}
        self._by_secret = {k.secret: k for k in state["keys"]}
        self._windows = state["windows"]
        self._refunds = state["refunds"]
        self._usage = state["usage"]
        self._next_id = state["next_id"]
        self._next_log = state["next_log"]

    def _add(self, key: GatewayKey) -> GatewayKey:
        if key.secret in self._by_secret:
            raise ValueError(f"key {key.masked()} exists already (id {self._by_secret[key.secret].id})")
        if not key.id:
            while self._next_id in self._by_id:
                self._next_id += 1
            key.id = self._next_id
        elif key.id in self._by_id:
            raise ValueError(f"key id {key.id} exists already")
        self._by_id[key.id] = key
        self._by_secret[key.secret] = key
        return key

    def get(self, key_id: int) -> GatewayKey | None:
        with self._tx():  # a write: a shared store applies the settlements waiting in it
            self._apply_later()
            key = self._by_id.get(key_id)
            return dataclasses.replace(key) if key else None

    def find(self, secret: str) -> GatewayKey | None:
        # The stored key itself (no copy: this runs on every call); callers only read it.
        with self._tx(write=False):
            return self._by_secret.get(secret)

    def all_keys(self) -> list[GatewayKey]:
        with self._tx():  # a write: a shared store applies the settlements waiting in it
            self._apply_later()
            return [dataclasses.replace(k) for k in sorted(self._by_id.values(), key=lambda k: k.id)]

    def update(self, key_id: int, changes: Mapping[str, Any]) -> GatewayKey | None:
        with self._tx():
            self._apply_later()
            key = self._by_id.get(key_id)
            if key is None:
                return None
            for name, value in changes.items():
                setattr(key, name, value)
            return dataclasses.replace(key)

    def remove(self, key_id: int) -> bool:
        with self._tx():
            self._apply_later()
            key = self._by_id.pop(key_id, None)
            if key is None:
                return False
            del self._by_secret[key.secret]
            return True

    # -- admission and charging ------------------------------------------------------------------
    def admit(self, secret: str, *, now: float, wall: float, estimate: int) -> Reservation:
        with self._tx():
            self._apply_refunds(now)  # and the settlements kept for later
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
            return Reservation(secret, key.id, reserved, limited, bool(key.tpm))

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
        with self._tx():
            self._apply_later()  # first: log rows stay in the order calls were settled
            return self._settle(reservation, quota=quota, tokens=tokens, wall=wall, row=row)

    def _settle(self, reservation: Reservation, *, quota: int, tokens: int, wall: float, row: LogEntry | None) -> int:
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
            row = LogEntry(*row[:-2], charged, self._new_log_id())  # quota and id: the last two fields
            self._emit(row)
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
        with self._tx():
            self._refunds.append((due, secret, quota, row))

    def _apply_refunds(self, now: float) -> None:
        """Settlements kept for later, then refunds whose time has come (called under the lock)."""
        self._apply_later()
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
            self._emit(row._replace(quota=quota, created_at=int(at), id=self._new_log_id()))

    # -- reading ---------------------------------------------------------------------------------
    def logs(self, now: float) -> list[LogEntry]:
        with self._tx():
            self._apply_refunds(now)
            return list(self._log)

    def usage(self, secret: str | None, now: float) -> Usage:
        with self._tx():
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
        with self._tx():
            self._apply_refunds(now)


def _retry_after(seconds: float) -> int:
    """Whole seconds, at least 1 (what `Retry-After` carries)."""
    return max(1, math.ceil(seconds))
