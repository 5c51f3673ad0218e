"""The gateway's keys, quota ledger, rate windows and usage log: the async `KeyStore` protocol and its memory store.

Every method that reads or decides is a coroutine, so a store may keep its state elsewhere (a sqlite
file, Redis) and each decision is one atomic operation there. The rules themselves are `KeyRules`
(`stores/key_rules.py`), synchronous and shared by every store: `MemoryKeyStore` runs them on its own
dicts, `SqliteKeyStore` and `RedisKeyStore` on state they load and write back around each operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from mockserver.stores.key_records import (
    LOG_CONSUME,
    LOG_ERROR,
    LOG_REFUND,
    LOG_SIZE,
    STATUS_DISABLED,
    STATUS_ENABLED,
    STATUS_EXHAUSTED,
    STATUS_EXPIRED,
    STATUS_NAMES,
    GatewayKey,
    LogEntry,
    Refused,
    Reservation,
    Usage,
    mask,
)
from mockserver.stores.key_rules import KeyRules

__all__ = [
    "LOG_CONSUME",
    "LOG_ERROR",
    "LOG_REFUND",
    "LOG_SIZE",
    "STATUS_DISABLED",
    "STATUS_ENABLED",
    "STATUS_EXHAUSTED",
    "STATUS_EXPIRED",
    "STATUS_NAMES",
    "GatewayKey",
    "KeyRules",
    "KeyStore",
    "LogEntry",
    "MemoryKeyStore",
    "Refused",
    "Reservation",
    "Usage",
    "mask",
]


class KeyStore(Protocol):
    """What the gateway needs from a store of keys, quota and usage (every decision atomic)."""

    async def reset(self, keys: Iterable[GatewayKey]) -> None:
        """Forget every key, reservation, window, refund and log row; start over with `keys`."""
        ...

    async def initialize(self, keys: Iterable[GatewayKey]) -> None:
        """`reset(keys)`, unless the store already holds state (an earlier `initialize`, or another process's)."""
        ...

    async def add(self, key: GatewayKey) -> GatewayKey:
        """Store a new key (its `id` assigned when 0); ValueError when its secret is taken."""
        ...

    async def get(self, key_id: int) -> GatewayKey | None: ...

    async def find(self, secret: str) -> GatewayKey | None:
        """The key with this secret (no `sk-`), or None. Callers only read it."""
        ...

    async def all_keys(self) -> list[GatewayKey]:
        """Every key, oldest first (copies)."""
        ...

    async def update(self, key_id: int, changes: Mapping[str, Any]) -> GatewayKey | None: ...

    async def remove(self, key_id: int) -> bool: ...

    async def admit(self, secret: str, *, now: float, wall: float, estimate: int) -> Reservation:
        """Check the key at virtual time `now` (status, expiry, quota, RPM/TPM at wall time `wall`)
        and reserve `estimate`, atomically; raises `Refused`. An unknown secret is admitted unlimited."""
        ...

    async def settle(
        self,
        reservation: Reservation,
        *,
        quota: int | Callable[[], int],
        tokens: int,
        wall: float,
        row: LogEntry | None,
    ) -> int | None:
        """Charge the actual `quota` against the reservation (never below zero left) and log `row`
        (its `quota` set to what was charged); returns the quota charged. A settlement that decides
        nothing (`reservation.decides_nothing`) may be applied later, before any other operation but
        `find` reads the state; then `quota` may be a price asked for only then, and None is returned."""
        ...

    async def refund_at(self, secret: str, quota: int, due: float, row: LogEntry) -> None:
        """Give `quota` back at virtual time `due` (a task that will fail), logging `row` then."""
        ...

    async def logs(self, now: float) -> list[LogEntry]:
        """Every log row whose time has come, oldest first."""
        ...

    async def usage(self, secret: str | None, now: float) -> Usage:
        """Totals of one key (None: every key)."""
        ...

    async def refresh(self, now: float) -> None:
        """Apply the refunds that are due by virtual time `now`."""
        ...

    async def close(self) -> None:
        """Let go of what the store holds open (a file, a connection)."""
        ...


class MemoryKeyStore:
    """`KeyStore` in this process: `KeyRules` run at once (each operation under the rules' own lock;
    nothing here awaits, so an operation is never interleaved with another coroutine's). Settlements
    that decide nothing wait in the rules (`settle_later`): most calls then cost an append, and their
    price is worked out when the next operation applies them."""

    # Whether settlements may wait in this process (not when the rules' state is shared with others).
    defers = True

    def __init__(self, rules: KeyRules | None = None) -> None:
        self.rules = rules if rules is not None else KeyRules()

    async def reset(self, keys: Iterable[GatewayKey]) -> None:
        self.rules.reset(keys)

    async def initialize(self, keys: Iterable[GatewayKey]) -> None:
        self.rules.initialize(keys)

    async def add(self, key: GatewayKey) -> GatewayKey:
        return self.rules.add(key)

    async def get(self, key_id: int) -> GatewayKey | None:
        return self.rules.get(key_id)

    async def find(self, secret: str) -> GatewayKey | None:
        return self.rules.find(secret)

    async def all_keys(self) -> list[GatewayKey]:
        return self.rules.all_keys()

    async def update(self, key_id: int, changes: Mapping[str, Any]) -> GatewayKey | None:
        return self.rules.update(key_id, changes)

    async def remove(self, key_id: int) -> bool:
        return self.rules.remove(key_id)

    async def admit(self, secret: str, *, now: float, wall: float, estimate: int) -> Reservation:
        if self.rules.shared and self.rules.find(secret) is None:  # unknown: a read decides (no write lock)
            return Reservation(secret, 0, 0, False)
        return self.rules.admit(secret, now=now, wall=wall, estimate=estimate)

    async def settle(
        self,
        reservation: Reservation,
        *,
        quota: int | Callable[[], int],
        tokens: int,
        wall: float,
        row: LogEntry | None,
    ) -> int | None:
        if self.defers and reservation.decides_nothing:
            self.rules.settle_later(reservation, quota, tokens, wall, row)
            return None if callable(quota) else max(0, quota)
        price = quota() if callable(quota) else quota
        return self.rules.settle(reservation, quota=price, tokens=tokens, wall=wall, row=row)

    async def refund_at(self, secret: str, quota: int, due: float, row: LogEntry) -> None:
        self.rules.refund_at(secret, quota, due, row)

    async def logs(self, now: float) -> list[LogEntry]:
        return self.rules.logs(now)

    async def usage(self, secret: str | None, now: float) -> Usage:
        return self.rules.usage(secret, now)

    async def refresh(self, now: float) -> None:
        self.rules.refresh(now)

    async def close(self) -> None:
        closer = getattr(self.rules, "close", None)
        if closer is not None:
            closer()
