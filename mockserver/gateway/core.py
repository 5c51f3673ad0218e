"""The gateway in front of every relay route: key checks, limits, pre-consumption, charging and the usage log.

`Gateway.admit(call, sent_key)` runs where new-api's `TokenAuth`, `ModelRequestRateLimit`,
`Distribute` and `PreConsumeQuota` run, before faults and validation; `Gateway.settle(call, response)`
runs when the answer is ready: an answered call is charged from its actual usage (an error costs
nothing and releases what was reserved), and a task that was submitted is charged at once and
refunded at the virtual time its plan fails. Refusals carry new-api's status, code and message and
are answered in its OpenAI-shaped envelope on every route, as `abortWithOpenAiMessage` does.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mockserver.errors import GATEWAY_ERROR_TYPE, ApiError, openai_envelope
from mockserver.gateway import billing, signing
from mockserver.gateway.keys import api_keys, ip_allowed, load_keys_file, secret_of
from mockserver.gateway.prices import PriceTable, prices
from mockserver.gateway.signing import LinkSigner
from mockserver.stores.keys import (
    LOG_CONSUME,
    LOG_ERROR,
    GatewayKey,
    KeyStore,
    LogEntry,
    MemoryKeyStore,
    Refused,
    Reservation,
)

if TYPE_CHECKING:
    from starlette.responses import Response

    from mockserver.pipeline import Call
    from mockserver.settings import Settings
    from mockserver.state import MockState

EXT_KEY = "gateway"
# Where the task engine finds the hook it calls with each submitted task (it never imports the gateway).
TASK_HOOK = "task_submitted"
# Where the media route and key-less endpoints find the check for links (media is core: no import here).
MEDIA_GUARD = "media_guard"
USER_ID = 2
USERNAME = "mock_user"
_TASK_FAMILIES = frozenset({"midjourney", "suno", "video"})


class GatewayError(ApiError):
    """A refusal by the gateway itself: answered in new-api's OpenAI-shaped envelope on every route."""

    envelope = staticmethod(openai_envelope)

    def __init__(self, status: int, message: str, **fields: Any) -> None:
        # new-api writes its own refusals with abortWithOpenAiMessage: type new_api_error, no `param`.
        fields.setdefault("type", GATEWAY_ERROR_TYPE)
        super().__init__(status, message, **fields)


class Charge:
    """One admitted call: its key, what was reserved, how it is billed, and tasks it submitted."""

    __slots__ = ("bill", "key", "reservation", "tasks")

    def __init__(self, key: GatewayKey | None, reservation: Reservation, bill: billing.Bill) -> None:
        self.key = key
        self.reservation = reservation
        self.bill = bill
        self.tasks: list[tuple[str, float | None]] = []


# The call being served in this task (set by `admit`), so a task engine hook can find its charge.
_CURRENT: contextvars.ContextVar[Charge | None] = contextvars.ContextVar("mockserver_gateway_charge", default=None)


class Gateway:
    """Keys, prices and the store of one emulator."""

    def __init__(
        self, settings: Settings, store: KeyStore | None = None, table: PriceTable | None = None, *, start: float = 0.0
    ) -> None:
        self.settings = settings
        self.store: KeyStore = store or MemoryKeyStore()
        self.prices = table or prices()
        self.start = start
        # Strict: only known keys pass (as new-api always is); open: any key passes, known ones are checked.
        self.strict = bool(settings.api_key or settings.keys)
        self.initial: list[GatewayKey] = []
        if settings.keys:
            self.initial.extend(load_keys_file(settings.keys, now=start))
        taken = {k.secret for k in self.initial}
        self.initial.extend(k for k in api_keys(settings.api_key, now=start) if k.secret not in taken)
        # The store is prepared (`ready`) on first use or at start-up: its operations are coroutines.
        self._ready = False
        self._seeded: list[GatewayKey] = []
        self._seeds = 0
        # With keys or a control token, media links are signed (and served only to a key, the control
        # token or a valid signature).
        self.control_token = settings.control_token or ""
        secrets = [k.secret for k in self.initial] + ([self.control_token] if self.control_token else [])
        self.signer = LinkSigner(settings.seed, secrets) if self.strict or self.control_token else None

    async def ready(self) -> KeyStore:
        """The store, holding the start-up keys (prepared by the first caller: start-up, or the first
        request of an app whose lifespan did not run)."""
        if not self._ready:
            await self._prepare()
        return self.store

    async def _prepare(self) -> None:
        # `initialize` keeps a store that holds state already (another process's, or an earlier call's),
        # so two requests preparing at once, or two workers, start the store once.
        await self.store.initialize(self.initial)
        seeded, self._seeded = self._seeded, []
        for key in seeded:
            if await self.store.find(key.secret) is None:  # a shared store may have them from another process
                with contextlib.suppress(ValueError):  # another process added it meanwhile
                    await self.store.add(key)
        self._ready = True

    async def media_allowed(self, path: str, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        """Whether a media download (`/__mock/media/...`, `/mj/image/{id}`) may be served."""
        if self.signer is None:
            return True
        if self.control_token and signing.sent_control_token(headers) == self.control_token:
            return True
        sent = signing.sent_key(headers, query)
        known = bool(sent) and self.strict and await (await self.ready()).find(secret_of(sent)) is not None
        return signing.allowed(self.signer, lambda _: known, path, headers, query)

    async def close(self) -> None:
        """Let go of the store's file or connection (a shared store keeps one open)."""
        await self.store.close()

    async def _start(self) -> None:
        """At start-up: links rendered outside a request (callback bodies) are signed too; the store is prepared."""
        if self.signer is not None:
            self.signer.activate()
        await self.ready()

    def seed(self, keys: list[GatewayKey]) -> None:
        """The account's sample keys (System API): kept only when the user declared no keys of their own.
        They join the store when it is next prepared (`ready`)."""
        if self.strict:
            return
        self.initial.extend(keys)
        self._seeded.extend(keys)
        self._ready = False

    async def reset(self) -> None:
        """Back to the keys the emulator started with; usage, refunds and windows forgotten."""
        await self.store.reset(self.initial)
        self._seeded.clear()
        self._ready = True

    async def reset_keys(self) -> None:
        """`DELETE /__mock/keys`: the start-up keys again (usage and logs are kept)."""
        store = await self.ready()
        for key in await store.all_keys():
            await store.remove(key.id)
        for key in self.initial:
            await store.add(key)

    def next_seed(self) -> int:
        """A counter for generated key secrets (deterministic per server)."""
        self._seeds += 1
        return self._seeds

    # -- admission -------------------------------------------------------------------------------
    async def admit(self, call: Call, sent: str) -> None:
        """Check the key a call sent and reserve its estimated cost; raise `GatewayError` to refuse."""
        if self.signer is not None:
            self.signer.activate()
        store = self.store if self._ready else await self.ready()
        secret = secret_of(sent)
        key = await store.find(secret)
        if key is None and self.strict:
            base, dash, _ = secret.partition("-")
            if dash and await store.find(base) is not None:
                # A `-N` suffix pins a channel; new-api lets only admins do it (SetupContextForToken).
                raise GatewayError(403, "普通用户不支持指定渠道")
            raise GatewayError(401, "无效的令牌")
        if call.contract.family == "yescale":
            return  # the System API takes the dashboard's access token: no quota, limits or charges
        if key is not None and key.allow_ips:
            client = call.request.scope.get("client") or ("", 0)
            if not ip_allowed(key, str(client[0])):
                raise GatewayError(403, "您的 IP 不在令牌允许访问的列表中", code="access_denied")
        group = key.group if key else "default"
        bill = billing.plan(call, self.prices, group, reserve=key is not None and not key.unlimited_quota)
        if key is not None and key.model_limits and bill.kind != "free" and bill.model not in key.model_limits:
            raise GatewayError(403, f"该令牌无权访问模型 {bill.model}")
        if key is None:  # an unknown key in open mode: unlimited, nothing to check or reserve
            reservation = Reservation(secret, 0, 0, False)
        else:
            wall = time.time() if key.rpm or key.tpm else 0.0
            try:
                reservation = await store.admit(secret, now=call.now, wall=wall, estimate=bill.estimate)
            except Refused as refused:
                raise self._refusal(refused, secret) from None
        charge = Charge(key, reservation, bill)
        call.charge = charge
        _CURRENT.set(charge)

    def _refusal(self, refused: Refused, secret: str) -> GatewayError:
        key = refused.key
        masked = f"sk-{secret[:3]}***{secret[-3:]}"
        reason = refused.reason
        if reason == "disabled":
            return GatewayError(401, "该令牌状态不可用")
        if reason == "expired":
            return GatewayError(401, "该令牌已过期")
        if reason == "exhausted_status":
            return GatewayError(401, f"该令牌额度已用尽 TokenStatusExhausted[{masked}]")
        if reason == "exhausted":
            return GatewayError(
                401, f"[{masked}] 该令牌额度已用尽 !token.UnlimitedQuota && token.RemainQuota = {key.remain_quota}"
            )
        if reason == "quota":
            remain, need = (self.prices.format_quota(refused.detail[k]) for k in ("remain", "need"))
            message = f"token quota is not enough, token remain quota: {remain}, need quota: {need}"
            return GatewayError(403, message, code="pre_consume_token_quota_failed")
        retry = int(refused.detail.get("retry_after", 1))
        window = key.rate_window
        span = f"{int(window // 60)}分钟" if window % 60 == 0 else f"{window:g}秒"
        if reason == "rpm":
            message = f"您已达到请求数限制：{span}内最多请求{key.rpm}次"
            limit, kind = key.rpm, "requests"
        else:
            # new-api has no per-key token limit; the emulator words it like the request limit.
            message = f"您已达到令牌数限制：{span}内最多使用{key.tpm}个token"
            limit, kind = key.tpm, "tokens"
        headers = {
            "Retry-After": str(retry),
            f"x-ratelimit-limit-{kind}": str(limit),
            f"x-ratelimit-remaining-{kind}": "0",
            f"x-ratelimit-reset-{kind}": f"{retry}s",
        }
        return GatewayError(429, message, code="rate_limit_exceeded", headers=headers)

    # -- settlement ------------------------------------------------------------------------------
    def task_submitted(self, record: Any) -> None:
        """Called by the task engine with each task a call submits: charged with the call, refunded at the
        virtual time its plan reaches a failure (if it does)."""
        charge = _CURRENT.get()
        if charge is None:
            return
        fails_at = None
        for step in record.steps:
            if str(step.phase) == "failed":
                fails_at = record.submitted_at + step.at_ms / 1000
                break
        charge.tasks.append((str(record.id), fails_at))

    async def settle(self, call: Call, response: Response) -> None:
        """Charge an answered call from its actual usage (an error costs nothing) and log it."""
        charge: Charge | None = call.charge
        if charge is None:
            return
        call.charge = None
        _CURRENT.set(None)
        bill = charge.bill
        status = response.status_code
        if bill.kind == "free":  # reads cost nothing and are not logged, as in new-api
            if charge.reservation.reserved:
                await self.store.settle(charge.reservation, quota=0, tokens=0, wall=0.0, row=None)
            return
        prompt = completion = 0
        quota: int | Callable[[], int] = 0
        failed = status >= 400
        if not failed:
            quota, prompt, completion = self._cost(call, response, charge)
        key = charge.key
        row = LogEntry(
            LOG_ERROR if failed else LOG_CONSUME,
            int(call.now),
            charge.reservation.secret,
            key.id if key else 0,
            key.name if key else "",
            key.group if key else "default",
            bill.model or call.contract.id,
            prompt,
            completion,
            # Virtual seconds: with the clock stopped (as tests run) logs are byte-identical run to run.
            max(0, int(call.state.clock.now() - call.now)),
            _is_stream(call),
            call._request_id or (call.journal_entry.id if call.journal_entry is not None else 0),
            f"status {status}" if failed else (None if bill.kind in ("tokens", "speech") else self._content(bill)),
        )
        wall = time.time() if key is not None and key.tpm else 0.0
        charged = await self.store.settle(
            charge.reservation, quota=quota, tokens=prompt + completion, wall=wall, row=row
        )
        if charged and charge.tasks:
            await self._schedule_refunds(charge, charged, row)

    def _cost(self, call: Call, response: Response, charge: Charge) -> tuple[int | Callable[[], int], int, int]:
        """(quota, prompt tokens, completion tokens) of an answered call. The quota of a token-priced call
        that decides nothing (no quota or token window to check) is its price, worked out when the store
        applies the settlement (reads of logs and usage): the call itself only counts."""
        bill = charge.bill
        group = charge.key.group if charge.key else "default"
        if bill.kind == "tokens":
            usage = call.journal_entry.usage if call.journal_entry is not None else None
            audio = (0, 0)
            if usage is not None:
                prompt, completion, cached = usage.prompt_tokens, usage.completion_tokens, 0
                audio = (usage.audio_prompt_tokens, usage.audio_completion_tokens)
            else:
                found = billing.usage_of(getattr(response, "payload", None))
                if found is None:  # a stream whose handler did not say: the reservation stands
                    return bill.estimate or billing.token_estimate(call, self.prices, group, bill.model), 0, 0
                prompt, completion, cached = found
            model = usage.model if usage is not None and usage.model else bill.model
            price = functools.partial(
                self.prices.token_quota,
                model,
                group,
                prompt,
                completion,
                cached,
                audio_prompt=audio[0],
                audio_completion=audio[1],
            )
            return (price if charge.reservation.decides_nothing else price()), prompt, completion
        if bill.kind == "speech":
            text = call.body.get("input", "") if isinstance(call.body, dict) else ""
            return bill.estimate, len(str(text)), 0
        if call.contract.family in _TASK_FAMILIES and not charge.tasks and "task" in call.contract.raw:
            return 0, 0, 0  # nothing was submitted (queue full, banned prompt): new-api charges nothing
        return bill.estimate, 0, 0

    def _content(self, bill: billing.Bill) -> str:
        return f"模型价格 {bill.usd:.4f}，倍数 {bill.multiplier:.2f}"

    def describe(self, row: LogEntry) -> str:
        """The content of a token-priced row (written when read: the hot path only keeps numbers)."""
        r = self.prices.ratio(row.model_name)
        group = self.prices.group_ratio(row.group)
        text = f"模型倍率 {r.model_ratio:.2f}，补全倍率 {r.completion_ratio:.2f}，分组倍率 {group:.2f}"
        if r.audio_ratio != 1 or r.audio_completion_ratio != 1:
            text += f"，音频倍率 {r.audio_ratio:.2f}，音频补全倍率 {r.audio_completion_ratio:.2f}"
        return text

    async def _schedule_refunds(self, charge: Charge, charged: int, row: LogEntry) -> None:
        per_task = charged // len(charge.tasks)
        for task_id, fails_at in charge.tasks:
            if fails_at is None:
                continue
            refund = row.refund(per_task, fails_at, f"异步任务执行失败 {task_id}，补偿 {per_task}")
            await self.store.refund_at(charge.reservation.secret, per_task, fails_at, refund)


def _is_stream(call: Call) -> bool:
    body = call.body
    return bool(isinstance(body, dict) and body.get("stream")) or "stream" in call.contract.id


def gateway_of(state: MockState) -> Gateway | None:
    """The state's gateway (None before `install`)."""
    found: Gateway | None = state.ext.get(EXT_KEY)
    return found


def open_key_store(url: str) -> KeyStore:
    """The key store of a `--store` URL: in the sqlite file or the Redis server when there is one
    (shared by every process and replica), else in memory."""
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        from mockserver.stores.sqlite_keys import SqliteKeyStore

        return SqliteKeyStore(url[len("sqlite:///") :])
    if url.startswith(("redis://", "rediss://")):
        from mockserver.stores.redis_keys import RedisKeyStore

        return RedisKeyStore.from_url(url)
    return MemoryKeyStore()


def install(state: MockState) -> Gateway:
    """Create the state's gateway (the keys file is read now, so a bad file fails at start), its reset
    hook, and the hook the task engine calls when a call submits a task."""
    gateway = Gateway(state.settings, open_key_store(state.settings.store), start=state.clock.start)
    state.ext[EXT_KEY] = gateway
    state.ext[TASK_HOOK] = gateway.task_submitted
    state.ext[MEDIA_GUARD] = gateway.media_allowed
    state.on_reset.append(gateway.reset)
    state.on_startup.insert(0, gateway._start)  # before the dispatcher task is started
    state.on_shutdown.append(gateway.close)
    return gateway
