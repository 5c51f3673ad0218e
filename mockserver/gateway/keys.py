"""Keys as users declare them (`--keys PATH`, `POST /__mock/keys`, `--api-key`) and how a sent key is matched.

A declaration uses new-api's token field names (`name`, `key`, `remain_quota`, `unlimited_quota`,
`expired_time`, `status`, `model_limits`, `allow_ips`, `group`) plus the emulator's per-key limits
(`rpm`, `tpm`, `rate_window`). Anything else, or a value of the wrong kind, is refused with a message
naming the field: a limit a user typed is never silently dropped.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mockserver.settings import SettingsError
from mockserver.stores.keys import STATUS_ENABLED, STATUS_NAMES, GatewayKey

FIELDS = (
    "id",
    "name",
    "key",
    "remain_quota",
    "quota",
    "unlimited_quota",
    "expired_time",
    "status",
    "model_limits",
    "allow_ips",
    "group",
    "rpm",
    "tpm",
    "rate_window",
)
# What a PATCH may change: every field but the id, the secret and the quota given at creation.
EDITABLE = tuple(f for f in FIELDS if f not in ("id", "key", "quota"))
_STATUS_BY_NAME = {name: code for code, name in STATUS_NAMES.items()}
_ALNUM = string.ascii_letters + string.digits
# The gateway's maximum `Retry-After`-worthy window: a day is plenty for tests and bounds the numbers.
_MAX_WINDOW = 86_400.0
_MAX_QUOTA = 2**53


class KeySpecError(SettingsError):
    """A key declaration is invalid; the message names the field (`keys[2].rpm: ...`)."""


def secret_of(sent: str) -> str:
    """The secret a sent key names: new-api trims an `sk-` prefix and nothing else is optional."""
    sent = sent.strip()
    return sent[3:] if sent.startswith("sk-") else sent


def generated_secret(seed: str) -> str:
    """A 48-character key secret derived from `seed` (new-api keys are 48 letters and digits)."""
    out: list[str] = []
    block = b""
    counter = 0
    while len(out) < 48:
        block = hashlib.blake2b(f"{seed}|{counter}".encode(), digest_size=64).digest()
        out.extend(_ALNUM[b % len(_ALNUM)] for b in block if b < 248)
        counter += 1
    return "".join(out[:48])


def parse_key(
    data: Any, *, where: str = "key", origin: str = "control", now: float = 0.0, fallback_seed: str = ""
) -> GatewayKey:
    """A `GatewayKey` from a declaration (JSON object); `KeySpecError` naming the field when it is wrong."""
    if not isinstance(data, Mapping):
        raise KeySpecError(f"{where}: must be an object with key fields ({', '.join(FIELDS)})")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise KeySpecError(f"{where}.{unknown[0]}: unknown field (known: {', '.join(FIELDS)})")
    if "quota" in data and "remain_quota" in data:
        raise KeySpecError(f"{where}.quota: give either quota or remain_quota, not both")
    key_text = _string(data, "key", where, default="")
    secret = (
        secret_of(key_text)
        if key_text
        else generated_secret(fallback_seed or json.dumps(dict(data), sort_keys=True, default=str))
    )
    if not secret or any(c.isspace() for c in secret):
        raise KeySpecError(f"{where}.key: must be a non-empty key without spaces (got {key_text!r})")
    quota_field = "quota" if "quota" in data else "remain_quota"
    quota = _int(data, quota_field, where, default=None, low=0, high=_MAX_QUOTA)
    unlimited = _bool(data, "unlimited_quota", where, default=quota is None)
    if unlimited and quota is not None and "unlimited_quota" in data:
        raise KeySpecError(f"{where}.unlimited_quota: true contradicts {quota_field} {quota} (drop one)")
    status = data.get("status", STATUS_ENABLED)
    if isinstance(status, str):
        if status not in _STATUS_BY_NAME:
            raise KeySpecError(f"{where}.status: must be one of {', '.join(_STATUS_BY_NAME)} (got {status!r})")
        status = _STATUS_BY_NAME[status]
    elif isinstance(status, bool) or not isinstance(status, int) or status not in STATUS_NAMES:
        raise KeySpecError(f"{where}.status: must be enabled, disabled, expired or exhausted (got {status!r})")
    return GatewayKey(
        id=_int(data, "id", where, default=None, low=1, high=2**31) or 0,
        secret=secret,
        name=_string(data, "name", where, default=""),
        status=status,
        remain_quota=quota or 0,
        unlimited_quota=unlimited,
        expired_time=_int(data, "expired_time", where, default=-1, low=-1, high=2**40) or -1,
        model_limits=_names(data, "model_limits", where),
        allow_ips=_ips(data, where),
        group=_string(data, "group", where, default="default") or "default",
        rpm=_int(data, "rpm", where, default=0, low=0, high=10**9) or 0,
        tpm=_int(data, "tpm", where, default=0, low=0, high=10**12) or 0,
        rate_window=_window(data, where),
        created_time=int(now),
        accessed_time=int(now),
        origin=origin,
    )


def load_keys_file(path: str, *, now: float = 0.0) -> list[GatewayKey]:
    """Keys from a JSON file: a list of key objects, or `{"keys": [...]}`; `KeySpecError` on any fault."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeySpecError(f"--keys {path}: cannot read the file ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise KeySpecError(f"--keys {path}: not valid JSON ({exc})") from None
    if isinstance(data, Mapping):
        unknown = sorted(set(data) - {"keys"})
        if unknown:
            raise KeySpecError(f'--keys {path}: unknown top-level field {unknown[0]!r} (expected "keys")')
        data = data.get("keys")
    if not isinstance(data, list):
        raise KeySpecError(f'--keys {path}: expected a list of keys or {{"keys": [...]}}')
    try:
        keys = [
            parse_key(item, where=f"keys[{i}]", origin="file", now=now, fallback_seed=f"{path}|{i}")
            for i, item in enumerate(data)
        ]
    except KeySpecError as exc:
        raise KeySpecError(f"--keys {path}: {exc}") from None
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key.secret in seen:
            raise KeySpecError(f"--keys {path}: keys[{i}].key repeats keys[{seen[key.secret]}].key")
        seen[key.secret] = i
    return keys


def api_keys(values: Sequence[str], *, now: float = 0.0) -> list[GatewayKey]:
    """`--api-key` values as unlimited keys (named `api-key-1`, ...)."""
    out: list[GatewayKey] = []
    seen: set[str] = set()
    for i, value in enumerate(values, 1):
        secret = secret_of(value)
        if not secret or secret in seen:
            continue
        seen.add(secret)
        out.append(GatewayKey(id=0, secret=secret, name=f"api-key-{i}", created_time=int(now), origin="api-key"))
    return out


def status_code(name_or_code: Any) -> int:
    """A status given by name or number, as stored."""
    if isinstance(name_or_code, str):
        return _STATUS_BY_NAME[name_or_code]
    return int(name_or_code)


# -- field readers -----------------------------------------------------------------------------------
def _string(data: Mapping[str, Any], name: str, where: str, *, default: str) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise KeySpecError(f"{where}.{name}: must be a string (got {value!r})")
    return value


def _int(data: Mapping[str, Any], name: str, where: str, *, default: int | None, low: int, high: int) -> int | None:
    value = data.get(name, default)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise KeySpecError(f"{where}.{name}: must be a whole number in {low}..{high} (got {value!r})")
    return value


def _bool(data: Mapping[str, Any], name: str, where: str, *, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise KeySpecError(f"{where}.{name}: must be true or false (got {value!r})")
    return value


def _names(data: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = data.get(name, ())
    if isinstance(value, str):  # new-api stores them comma-separated
        value = [v for v in value.split(",")]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise KeySpecError(f"{where}.{name}: must be a list of model names or a comma-separated string")
    return tuple(v.strip() for v in value if v.strip())


def _ips(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = data.get("allow_ips", ())
    if isinstance(value, str):  # new-api keeps one per line
        value = value.replace(",", "\n").split("\n")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise KeySpecError(f"{where}.allow_ips: must be a list of IP addresses or CIDR ranges")
    out = []
    for raw in value:
        item = raw.strip()
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise KeySpecError(f"{where}.allow_ips: {item!r} is not an IP address or CIDR range") from None
        out.append(item)
    return tuple(out)


def _window(data: Mapping[str, Any], where: str) -> float:
    value = data.get("rate_window", 60)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= _MAX_WINDOW:
        raise KeySpecError(f"{where}.rate_window: must be seconds in (0, {int(_MAX_WINDOW)}] (got {value!r})")
    return float(value)


def ip_allowed(key: GatewayKey, client: str) -> bool:
    """Whether `client` is inside the key's allow list (an empty list allows everyone)."""
    if not key.allow_ips:
        return True
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in key.allow_ips)


__all__ = [
    "FIELDS",
    "KeySpecError",
    "api_keys",
    "generated_secret",
    "ip_allowed",
    "load_keys_file",
    "parse_key",
    "secret_of",
    "status_code",
]
