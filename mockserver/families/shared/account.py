"""The emulated YEScale account: user, API keys and usage, shared by the System API and legacy billing.

Everything starts from the seed and the clock's start, so two emulators with the same settings agree.
Usage is read from the request journal: every relay request the emulator served is a log row, with the
token counts the OpenAI-format handlers recorded for it (`record_usage`). Totals therefore reflect the
journal window (`--journal-size` requests). `POST /__mock/reset` restores the initial account.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import string
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from mockserver.pipeline import Call
    from mockserver.state import MockState

QUOTA_PER_USD = 500_000
# Quota per 1k tokens (prompt, completion) at ratio 1, and per call for operations billed per call.
_PROMPT_QUOTA_PER_1K = 1250
_COMPLETION_QUOTA_PER_1K = 5000
_PER_CALL_QUOTA = 20_000
_GROUP_RATIO = {"openai": 1.0, "deepseek": 1.0, "gemini": 1.0, "claude": 1.75, "drawing": 1.2, "openaivip": 1.5}
LOG_CONSUME = 2
LOG_ERROR = 5
_EXT = "account"
_KEY_NAMES = ("default", "production", "staging", "notebook", "ci-runner")
_KEY_GROUPS = ("openai", "claude", "gemini", "drawing", "deepseek")


@dataclasses.dataclass
class ApiKey:
    """One API key (a new-api token) as /yescale/apikeylist shows it."""

    id: int
    name: str
    key: str
    group: str
    remain_quota: int
    used_quota: int
    unlimited_quota: bool
    created_time: int
    accessed_time: int
    expired_time: int = -1
    status: int = 1
    # Journal entries after this id count against `remain_quota` (set when the quota is edited).
    watermark: int = 0

    @property
    def tail(self) -> str:
        return self.key[-4:]

    def masked(self) -> str:
        return f"{self.key[:4]}**********{self.key[-4:]}"


@dataclasses.dataclass
class User:
    """The account owner as /yescale/user shows it (quota fields are the base before journal usage; the
    access token shown is the one the caller sent)."""

    id: int
    username: str
    display_name: str
    email: str
    quota: int
    used_quota: int
    request_count: int
    role: int = 1
    telegram_id: str = ""


class Usage(NamedTuple):
    """Tokens one request used (recorded by the handlers that know them; a tuple: this is the hot path)."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    is_stream: bool


class Account:
    """User and keys of one emulator (per-request usage lives on the journal's entries)."""

    def __init__(self, seed: int, start: float) -> None:
        self.seed = seed
        self.start = int(start)
        self.lock = threading.Lock()
        self.user, self.keys = self._initial()

    def _initial(self) -> tuple[User, dict[int, ApiKey]]:
        rng = random.Random(f"yescale-account|{self.seed}")
        alphabet = string.ascii_letters + string.digits
        user = User(
            id=2,
            username="mock_user",
            display_name="Mock User",
            email="mock.user@example.com",
            quota=rng.randint(2_000, 20_000) * QUOTA_PER_USD,
            used_quota=rng.randint(100, 3_000) * QUOTA_PER_USD,
            request_count=rng.randint(1_000, 250_000),
        )
        keys: dict[int, ApiKey] = {}
        first_id = 7136 + rng.randint(0, 50)
        for i, name in enumerate(_KEY_NAMES):
            created = self.start - rng.randint(5, 200) * 86_400
            unlimited = i % 2 == 0
            keys[first_id + i] = ApiKey(
                id=first_id + i,
                name=name,
                key="sk-" + "".join(rng.choices(alphabet, k=48)),
                group=_KEY_GROUPS[i % len(_KEY_GROUPS)],
                remain_quota=rng.randint(1, 400) * QUOTA_PER_USD // 4,
                used_quota=rng.randint(0, 800_000),
                unlimited_quota=unlimited,
                created_time=created,
                accessed_time=created + rng.randint(0, 4 * 86_400),
                expired_time=-1 if i != 3 else self.start + 90 * 86_400,
            )
        return user, keys

    def reset(self) -> None:
        with self.lock:
            self.user, self.keys = self._initial()

    def key_for(self, auth_header: str) -> ApiKey | None:
        """The key a request was made with (matched on the redacted tail), else the first live key."""
        tail = auth_header[-4:] if "***" in auth_header else ""
        first = None
        for key in self.keys.values():
            if tail and key.tail == tail:
                return key
            if first is None and key.status == 1:
                first = key
        return first


def setup_account(state: MockState) -> Account:
    """The state's account, created (with its reset hook) on first use."""
    account: Account | None = state.ext.get(_EXT)
    if account is None:
        account = Account(state.settings.seed, state.clock.start)
        state.ext[_EXT] = account
        state.on_reset.append(account.reset)
    return account


def record_usage(call: Call, model: str, prompt_tokens: int, completion_tokens: int, *, stream: bool) -> None:
    """Remember the tokens of this request for the System API logs and billing."""
    entry = call.journal_entry
    if entry is not None:
        entry.usage = Usage(model, prompt_tokens, completion_tokens, stream)


def quota_of(usage: Usage | None, group: str) -> int:
    """What a request costs in quota units (tokens × price × group ratio, or a per-call price)."""
    ratio = _GROUP_RATIO.get(group, 1.0)
    if usage is None:
        return int(_PER_CALL_QUOTA * ratio)
    cost = usage.prompt_tokens * _PROMPT_QUOTA_PER_1K + usage.completion_tokens * _COMPLETION_QUOTA_PER_1K
    return max(1, round(cost / 1000 * ratio))


def log_rows(state: MockState) -> list[dict[str, Any]]:
    """One new-api log row per relay request (POST, PUT, DELETE) in the journal (consumption, or error for 4xx/5xx)."""
    account = setup_account(state)
    rows: list[dict[str, Any]] = []
    for recorded in state.journal.snapshot():
        usage: Usage | None = recorded.usage
        entry = recorded.as_dict()
        op = entry.get("operation")
        status = entry.get("status")
        # Reads (model lists, task polls, billing) cost nothing and are not logged, as in new-api.
        if not op or status is None or entry["method"] in ("GET", "HEAD") or op not in state.contracts.by_id:
            continue
        if state.contracts.by_id[op].family == "yescale" or status in (401, 403):
            continue
        body = entry.get("body")
        model = usage.model if usage else (body.get("model") if isinstance(body, dict) else None)
        key = account.key_for(str(entry["headers"].get("authorization", "")))
        group = key.group if key else "default"
        failed = status >= 400
        digest = hashlib.blake2b(f"{account.seed}|{entry['id']}".encode(), digest_size=2).digest()
        rows.append(
            {
                "id": entry["id"],
                "user_id": account.user.id,
                "created_at": int(entry["at"]),
                "type": LOG_ERROR if failed else LOG_CONSUME,
                "content": f"status {status}" if failed else f"{op} via {entry['method']} {entry['path']}",
                "username": account.user.username,
                "token_name": key.name if key else "default",
                "token_id": key.id if key else 0,
                "model_name": str(model or op),
                "quota": 0 if failed else quota_of(usage, group),
                "prompt_tokens": usage.prompt_tokens if usage and not failed else 0,
                "completion_tokens": usage.completion_tokens if usage and not failed else 0,
                "use_time": 1 + digest[0] % 9,
                "is_stream": bool(usage.is_stream) if usage else bool(isinstance(body, dict) and body.get("stream")),
                "channel": 1 + digest[1] % 4,
                "group": group,
                "other": "",
            }
        )
    return rows


def key_usage(rows: list[dict[str, Any]], key: ApiKey) -> tuple[int, int, int]:
    """(quota used in total, quota used since the last edit, last access time) of one key."""
    total = since = 0
    last = key.accessed_time
    for row in rows:
        if row["token_id"] != key.id or row["type"] != LOG_CONSUME:
            continue
        total += row["quota"]
        if row["id"] > key.watermark:
            since += row["quota"]
        last = max(last, row["created_at"])
    return total, since, last
