"""`RedisKeyStore`: the gateway's keys, quota and usage in Redis (`--store redis://...?prefix=NAME`), shared
by every process and host that opens the same server and prefix.

The state (keys, reservations, rate windows, pending refunds, totals) is one JSON blob in the hash
`<prefix>:gateway:state` next to a version (`v`), a random token rewritten with each change. Each
decision is an optimistic transaction, as SQLite's `BEGIN IMMEDIATE` is for `SqliteKeyStore`: WATCH the
hash, read the version (and the blob only when the version is not the one this process last saw), run
`KeyRules` on a fresh copy, then MULTI/EXEC the new blob; when another process wrote in between, EXEC
fails and the decision is made again on the new state. So two replicas never reserve the same quota
twice, and a rate window counts every replica's requests once. Log rows go to a capped list
(`<prefix>:gateway:log`, LTRIM to `LOG_SIZE`) in the same transaction. Everything read from Redis is
JSON (`key_codec`), never pickle: the server may be shared with other hosts.

A settlement that decides nothing (`Reservation.decides_nothing`: an unlimited key without a token
window, or an unknown key) is one RPUSH to `<prefix>:gateway:pending` instead of a transaction, which is
what most calls are: every transaction first applies the pending settlements in order (and trims them
off in its MULTI), so every decision, total and log read sees them, and each is applied exactly once.
Only `find` (each call's key lookup) reads without applying them: it may show an older `used_quota`.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from mockserver.stores.key_codec import (
    decode_row,
    decode_settlement,
    decode_state,
    encode_row,
    encode_settlement,
    encode_state,
)
from mockserver.stores.key_records import LOG_SIZE, GatewayKey, LogEntry, Refused, Reservation, Usage
from mockserver.stores.key_rules import KeyRules
from mockserver.stores.redis_batch import Command, PipelineBatch
from mockserver.stores.redis_link import RedisLink

T = TypeVar("T")
# Conflicting writers retry; past this many conflicts in a row something is wrong (or hopelessly busy).
_MAX_ATTEMPTS = 500
# Settlements waiting in Redis before the process that pushed the last one applies them.
_PENDING_MAX = 256


class KeyStoreBusy(RuntimeError):
    """A decision lost the race to other writers `_MAX_ATTEMPTS` times in a row."""


class RedisKeyStore:
    """`KeyStore` in Redis: `KeyRules` on a versioned state blob, each decision a WATCH/MULTI transaction."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self._state_key = link.key("gateway", "state")
        self._log_key = link.key("gateway", "log")
        self._pending_key = link.key("gateway", "pending")
        # The newest (version, blob) this process has seen, and read-only rules decoded from it.
        self._seen: tuple[bytes, bytes] | None = None
        self._batch = PipelineBatch(link)  # every call's version read and settlement, one pipeline per loop turn
        self._view: tuple[bytes, KeyRules] | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisKeyStore:
        """The store of a `redis://HOST:PORT/DB?prefix=NAME` URL (`RedisUrlError` names a bad part)."""
        return cls(RedisLink(url))

    # -- the transaction -------------------------------------------------------------------------
    def _decode(self, version: bytes | None, blob: bytes | None) -> KeyRules:
        rules = KeyRules()
        if version is not None and blob is not None:
            rules.load(decode_state(blob))
        return rules

    async def _read(self) -> KeyRules:
        """Rules on the current state, for reading only (shared by reads until the version changes)."""
        client = self.link.client()
        version = await self._batch.run(Command(("HGET", self._state_key, "v")))  # shares a round trip
        view = self._view
        if view is not None and view[0] == version:
            return view[1]
        seen = self._seen
        if version is not None and seen is not None and seen[0] == version:
            blob: bytes | None = seen[1]
        else:
            version, blob = await client.hmget(self._state_key, ["v", "s"])
        rules = self._decode(version, blob)
        if version is not None and blob is not None:
            self._seen = (version, blob)
            self._view = (version, rules)
        return rules

    async def _write(
        self, op: Callable[[KeyRules], T], *, only_if_new: bool = False, clear_log: bool = False
    ) -> T | None:
        """Run `op` on the current state and write back what it changed, atomically across processes.
        `only_if_new`: do nothing when the store holds state already. A `Refused` is raised after its
        state is written (a refusal may mark a key expired or exhausted)."""
        client = self.link.client()
        import redis.exceptions

        for attempt in range(_MAX_ATTEMPTS):
            try:
                async with client.pipeline(transaction=True) as pipe:
                    await pipe.watch(self._state_key)
                    version = await pipe.hget(self._state_key, "v")
                    if only_if_new and version is not None:
                        return None
                    seen = self._seen
                    if version is None:
                        blob = None
                    elif seen is not None and seen[0] == version:
                        blob = seen[1]
                    else:
                        blob = await pipe.hget(self._state_key, "s")
                    rules = self._decode(version, blob)
                    # Settlements that waited: applied first, in order (a reset forgets them).
                    pending = await pipe.lrange(self._pending_key, 0, -1)
                    for raw in pending:
                        held, quota, tokens, wall, row = decode_settlement(raw)
                        rules.settle(held, quota=quota, tokens=tokens, wall=wall, row=row)
                    refused: Refused | None = None
                    result: T | None = None
                    try:
                        result = op(rules)
                    except Refused as exc:
                        refused = exc
                    rows = list(rules._log)
                    new_blob = encode_state(rules.dump())
                    if new_blob == blob and not rows and not pending and not clear_log:
                        new_version = version  # nothing changed: no write (the WATCH ends with the pipeline)
                    else:
                        new_version = os.urandom(8).hex().encode()
                        pipe.multi()
                        if clear_log:
                            pipe.delete(self._log_key)
                        pipe.hset(self._state_key, mapping={"v": new_version, "s": new_blob})
                        if pending:
                            # Those applied go; any pushed since stay (a push appends, this trims the head).
                            pipe.ltrim(self._pending_key, len(pending), -1)
                        if rows:
                            pipe.rpush(self._log_key, *(encode_row(row) for row in rows))
                            pipe.ltrim(self._log_key, -LOG_SIZE, -1)
                        await pipe.execute()
            except redis.exceptions.WatchError:
                if attempt >= 3:  # many writers at once: spread the retries out a little
                    await asyncio.sleep(random.uniform(0, 0.0005 * min(attempt, 40)))
                continue
            if new_version is not None:
                self._seen = (new_version, new_blob)
            if refused is not None:
                raise refused
            return result
        raise KeyStoreBusy(f"gateway key store {self._state_key}: {_MAX_ATTEMPTS} conflicting writes in a row")

    # -- the protocol ----------------------------------------------------------------------------
    async def reset(self, keys: Iterable[GatewayKey]) -> None:
        fresh = list(keys)
        await self._write(lambda rules: rules.reset(fresh), clear_log=True)

    async def initialize(self, keys: Iterable[GatewayKey]) -> None:
        fresh = list(keys)
        await self._write(lambda rules: rules.reset(fresh), only_if_new=True, clear_log=True)

    async def add(self, key: GatewayKey) -> GatewayKey:
        added = await self._write(lambda rules: rules.add(key))
        assert added is not None
        return added

    async def get(self, key_id: int) -> GatewayKey | None:
        return await self._write(lambda rules: rules.get(key_id))  # with pending settlements' used_quota

    async def find(self, secret: str) -> GatewayKey | None:
        return (await self._read()).find(secret)

    async def all_keys(self) -> list[GatewayKey]:
        return await self._write(lambda rules: rules.all_keys()) or []

    async def update(self, key_id: int, changes: Mapping[str, Any]) -> GatewayKey | None:
        return await self._write(lambda rules: rules.update(key_id, changes))

    async def remove(self, key_id: int) -> bool:
        return bool(await self._write(lambda rules: rules.remove(key_id)))

    async def admit(self, secret: str, *, now: float, wall: float, estimate: int) -> Reservation:
        if (await self._read()).find(secret) is None:  # an unknown key decides nothing: no transaction
            return Reservation(secret, 0, 0, False)
        held = await self._write(lambda rules: rules.admit(secret, now=now, wall=wall, estimate=estimate))
        assert held is not None
        return held

    async def settle(
        self,
        reservation: Reservation,
        *,
        quota: int | Callable[[], int],
        tokens: int,
        wall: float,
        row: LogEntry | None,
    ) -> int | None:
        if callable(quota):  # priced now: what waits in Redis is data, read by other processes
            quota = quota()
        if reservation.decides_nothing:  # applied by the next transaction (what `KeyRules.settle` charges)
            settlement = encode_settlement(reservation, quota, tokens, wall, row)
            waiting = await self._batch.run(Command(("RPUSH", self._pending_key, settlement)))
            if waiting % _PENDING_MAX == 0:  # nobody decided for a while: apply them, so they stay few (one
                await self._write(lambda rules: None)  # push in each _PENDING_MAX sees this, not every one after)
            return max(0, quota)
        price = quota
        charged = await self._write(
            lambda rules: rules.settle(reservation, quota=price, tokens=tokens, wall=wall, row=row)
        )
        return int(charged or 0)

    async def refund_at(self, secret: str, quota: int, due: float, row: LogEntry) -> None:
        if quota > 0:
            await self._write(lambda rules: rules.refund_at(secret, quota, due, row))

    async def refresh(self, now: float) -> None:
        await self._write(lambda rules: rules.refresh(now))

    async def usage(self, secret: str | None, now: float) -> Usage:
        totals = await self._write(lambda rules: rules.usage(secret, now))
        assert totals is not None
        return totals

    async def logs(self, now: float) -> list[LogEntry]:
        await self.refresh(now)  # refunds that came due are rows too
        raw = await self.link.client().lrange(self._log_key, 0, -1)
        return [decode_row(item) for item in raw]

    async def close(self) -> None:
        await self.link.aclose()
