"""The emulated YEScale account: its user, shared by the System API and legacy billing; keys and usage
live in the gateway (`mockserver.gateway`), which charges every call and keeps the usage log.

Everything starts from the seed and the clock's start, so two emulators with the same settings agree.
Without `--api-key` / `--keys` the account has five sample keys (seeded into the gateway); with them,
the account's keys are the user's. `POST /__mock/reset` restores the initial account.
"""

from __future__ import annotations

import random
import string
from typing import TYPE_CHECKING, Any, NamedTuple

from mockserver.gateway import Gateway, gateway_of
from mockserver.gateway.core import USER_ID, USERNAME
from mockserver.stores.keys import GatewayKey

if TYPE_CHECKING:
    from mockserver.pipeline import Call
    from mockserver.state import MockState

QUOTA_PER_USD = 500_000
LOG_CONSUME = 2
LOG_ERROR = 5
_EXT = "account"
_KEY_NAMES = ("default", "production", "staging", "notebook", "ci-runner")
_KEY_GROUPS = ("openai", "claude", "gemini", "drawing", "deepseek")


class User(NamedTuple):
    """The account owner as /yescale/user shows it (quota fields are the base before the gateway's usage)."""

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
    # Audio tokens within the counts above (chat with the audio modality), priced at the audio ratios.
    audio_prompt_tokens: int = 0
    audio_completion_tokens: int = 0


class Account:
    """The user of one emulator and its gateway (keys, usage, logs)."""

    def __init__(self, seed: int, start: float, gateway: Gateway) -> None:
        self.seed = seed
        self.start = int(start)
        self.gateway = gateway
        rng = random.Random(f"yescale-account|{seed}")
        self.user = User(
            id=USER_ID,
            username=USERNAME,
            display_name="Mock User",
            email="mock.user@example.com",
            quota=rng.randint(2_000, 20_000) * QUOTA_PER_USD,
            used_quota=rng.randint(100, 3_000) * QUOTA_PER_USD,
            request_count=rng.randint(1_000, 250_000),
        )
        gateway.seed(self._sample_keys(rng))

    def _sample_keys(self, rng: random.Random) -> list[GatewayKey]:
        alphabet = string.ascii_letters + string.digits
        keys = []
        first_id = 7136 + rng.randint(0, 50)
        for i, name in enumerate(_KEY_NAMES):
            created = self.start - rng.randint(5, 200) * 86_400
            keys.append(
                GatewayKey(
                    id=first_id + i,
                    secret="".join(rng.choices(alphabet, k=48)),
                    name=name,
                    group=_KEY_GROUPS[i % len(_KEY_GROUPS)],
                    remain_quota=rng.randint(1, 400) * QUOTA_PER_USD // 4,
                    used_quota=rng.randint(0, 800_000),
                    unlimited_quota=i % 2 == 0,
                    created_time=created,
                    accessed_time=created + rng.randint(0, 4 * 86_400),
                    expired_time=-1 if i != 3 else self.start + 90 * 86_400,
                    origin="seed",
                )
            )
        return keys


def setup_account(state: MockState) -> Account:
    """The state's account, created on first use (its keys live in the gateway, which resets them)."""
    account: Account | None = state.ext.get(_EXT)
    if account is None:
        gateway = gateway_of(state)
        if gateway is None:  # an app built without create_app: give it a gateway of its own
            from mockserver.gateway import install

            gateway = install(state)
        account = Account(state.settings.seed, state.clock.start, gateway)
        state.ext[_EXT] = account
    return account


def record_usage(
    call: Call,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    stream: bool,
    audio_prompt_tokens: int = 0,
    audio_completion_tokens: int = 0,
) -> None:
    """Remember the tokens of this request: the gateway prices the call from them."""
    entry = call.journal_entry
    if entry is not None:
        entry.usage = Usage(
            model, prompt_tokens, completion_tokens, stream, audio_prompt_tokens, audio_completion_tokens
        )


async def log_rows(state: MockState) -> list[dict[str, Any]]:
    """The gateway's usage log (consumption, error and refund rows), oldest first."""
    gateway = setup_account(state).gateway
    rows = await (await gateway.ready()).logs(state.clock.now())
    return [row.as_dict(USER_ID, USERNAME, gateway.describe) for row in rows]


async def spent(state: MockState) -> tuple[int, int]:
    """(quota spent, calls charged) by every key since start or the last reset, refunds taken off."""
    totals = await (await setup_account(state).gateway.ready()).usage(None, state.clock.now())
    return totals.quota, totals.calls
