"""The key store's state and log rows as JSON bytes, for the stores that keep them outside the process.

A shared store's bytes may come from another process or another host (Redis), so they are plain JSON
(orjson), never pickle: decoding them can build only keys, numbers and strings. A blob that is not the
state this module wrote raises `ValueError` naming what is wrong.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

import orjson

from mockserver.stores.key_records import GatewayKey, LogEntry, Reservation, Usage

_KEY_FIELDS = frozenset(f.name for f in dataclasses.fields(GatewayKey))
_USAGE_FIELDS = frozenset(f.name for f in dataclasses.fields(Usage))


def encode_row(row: LogEntry) -> bytes:
    """One log row as a JSON array (its fields in order)."""
    return orjson.dumps(list(row))


def decode_row(raw: bytes) -> LogEntry:
    """A log row `encode_row` wrote."""
    try:
        return _row(orjson.loads(raw))
    except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"gateway log row: not a row this emulator wrote ({exc})") from None


def _row(items: Any) -> LogEntry:
    if not isinstance(items, list) or len(items) != len(LogEntry._fields):
        raise ValueError(f"expected a list of {len(LogEntry._fields)} fields")
    return LogEntry(*items)


def encode_state(state: dict[str, Any]) -> bytes:
    """`KeyRules.dump()` as JSON."""
    return orjson.dumps(
        {
            "keys": [dataclasses.asdict(k) for k in state["keys"]],
            "windows": {secret: list(window) for secret, window in state["windows"].items()},
            "refunds": [[due, secret, quota, list(row)] for due, secret, quota, row in state["refunds"]],
            "usage": {secret: dataclasses.asdict(u) for secret, u in state["usage"].items()},
            "next_id": state["next_id"],
            "next_log": state["next_log"],
        }
    )


def decode_state(raw: bytes) -> dict[str, Any]:
    """The state `encode_state` wrote, ready for `KeyRules.load`."""
    try:
        data = orjson.loads(raw)
        return {
            "keys": [_key(item) for item in data["keys"]],
            "windows": {
                str(secret): collections.deque((float(t), int(n)) for t, n in window)
                for secret, window in data["windows"].items()
            },
            "refunds": [(float(due), str(who), int(quota), _row(row)) for due, who, quota, row in data["refunds"]],
            "usage": {str(secret): _usage(item) for secret, item in data["usage"].items()},
            "next_id": int(data["next_id"]),
            "next_log": int(data["next_log"]),
        }
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"gateway key store state: not the state this emulator wrote ({exc!r})") from None


def _key(item: dict[str, Any]) -> GatewayKey:
    unknown = set(item) - _KEY_FIELDS
    if unknown:
        raise ValueError(f"unknown key field {sorted(unknown)[0]!r}")
    key = GatewayKey(**item)
    key.model_limits = tuple(key.model_limits)
    key.allow_ips = tuple(key.allow_ips)
    return key


def _usage(item: dict[str, Any]) -> Usage:
    unknown = set(item) - _USAGE_FIELDS
    if unknown:
        raise ValueError(f"unknown usage field {sorted(unknown)[0]!r}")
    return Usage(**item)


def encode_settlement(reservation: Reservation, quota: int, tokens: int, wall: float, row: LogEntry | None) -> bytes:
    """A settlement that waits to be applied (see `Reservation.decides_nothing`), as JSON."""
    return orjson.dumps([list(reservation), quota, tokens, wall, list(row) if row is not None else None])


def decode_settlement(raw: bytes) -> tuple[Reservation, int, int, float, LogEntry | None]:
    """A settlement `encode_settlement` wrote."""
    try:
        held, quota, tokens, wall, row = orjson.loads(raw)
        if not isinstance(held, list) or len(held) != len(Reservation._fields):
            raise ValueError(f"expected a reservation of {len(Reservation._fields)} fields")
        reservation = Reservation(str(held[0]), int(held[1]), int(held[2]), bool(held[3]), bool(held[4]))
        return reservation, int(quota), int(tokens), float(wall), _row(row) if row is not None else None
    except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"gateway settlement: not one this emulator wrote ({exc})") from None
