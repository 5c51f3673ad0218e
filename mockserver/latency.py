"""Latency profiles: how long a model takes to answer, and the pace its stream keeps.

`--latency none|realistic|PATH` picks the profiles (`realistic`: `mockserver/data/latency.json`, whose
figures and sources are noted in the file). A profile gives a model line its time to first token, its
output rate in tokens per second, the tokens one stream event carries, a jitter and, for reasoning
models, a thinking pause before the first token. `Pace` turns a profile into the delays of one
answer, drawn from an RNG keyed by the call, so the same call gets the same delays every time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

MODES = ("none", "realistic")
THINKS = ("always", "when_asked", "never")
# A stream event's worth of time is never below this (a pace of many thousand tokens/s is no pace).
_MIN_GAP_S = 0.0005


class LatencyError(ValueError):
    """A latency setting or profile file is wrong; the message names the field."""


@dataclasses.dataclass(frozen=True)
class Profile:
    """One model line's timing: TTFT, output rate, tokens per stream event, jitter, thinking pause."""

    name: str
    ttft_ms: float
    tokens_per_second: float
    jitter: float = 0.0
    chunk_tokens: int = 1
    thinking_ms: tuple[float, float] | None = None
    thinks: str = "never"
    match: re.Pattern[str] | None = None

    @property
    def gap_ms(self) -> float:
        """The mean time between two stream events."""
        return 1000.0 * self.chunk_tokens / self.tokens_per_second


@dataclasses.dataclass(frozen=True)
class Profiles:
    """The profiles of one setting, tried in order; `default` when no rule matches the model."""

    default: Profile
    rules: tuple[Profile, ...] = ()

    def for_model(self, model: str) -> Profile:
        for rule in self.rules:
            if rule.match is not None and rule.match.search(model):
                return rule
        return self.default


def _number(raw: Mapping[str, Any], key: str, where: str, *, low: float, high: float, default: Any = None) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LatencyError(f"{where}.{key}: must be a number (got {value!r})")
    if not low <= value <= high:
        raise LatencyError(f"{where}.{key}: must be within {low}..{high} (got {value!r})")
    return float(value)


_PROFILE_KEYS = {"name", "match", "ttft_ms", "tokens_per_second", "jitter", "chunk_tokens", "thinking_ms", "thinks"}


def _profile(raw: Any, where: str, *, rule: bool) -> Profile:
    if not isinstance(raw, dict):
        raise LatencyError(f"{where}: must be an object")
    unknown = sorted(set(raw) - _PROFILE_KEYS)
    if unknown:
        raise LatencyError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(_PROFILE_KEYS))})")
    match = None
    if rule:
        pattern = raw.get("match")
        if not isinstance(pattern, str) or not pattern:
            raise LatencyError(f"{where}.match: a regular expression over model ids is required")
        try:
            match = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise LatencyError(f"{where}.match: not a valid regular expression ({exc})") from None
    thinking = raw.get("thinking_ms")
    window: tuple[float, float] | None = None
    if thinking is not None:
        if not isinstance(thinking, list) or len(thinking) != 2:
            raise LatencyError(f"{where}.thinking_ms: must be [low, high] in milliseconds")
        pair = {"low": thinking[0], "high": thinking[1]}
        low = _number(pair, "low", f"{where}.thinking_ms", low=0, high=600_000)
        high = _number(pair, "high", f"{where}.thinking_ms", low=low, high=600_000)
        window = (low, high)
    thinks = raw.get("thinks", "when_asked" if window else "never")
    if thinks not in THINKS:
        raise LatencyError(f"{where}.thinks: must be one of {', '.join(THINKS)} (got {thinks!r})")
    chunk = raw.get("chunk_tokens", 1)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= 1000:
        raise LatencyError(f"{where}.chunk_tokens: must be a whole number within 1..1000 (got {chunk!r})")
    return Profile(
        name=str(raw.get("name") or where),
        ttft_ms=_number(raw, "ttft_ms", where, low=0, high=600_000),
        tokens_per_second=_number(raw, "tokens_per_second", where, low=0.01, high=1_000_000),
        jitter=_number(raw, "jitter", where, low=0, high=1, default=0.0),
        chunk_tokens=chunk,
        thinking_ms=window,
        thinks=thinks,
        match=match,
    )


def parse_profiles(data: Any, source: str) -> Profiles:
    """Profiles from a parsed profile document (`{"default": {...}, "profiles": [...]}`)."""
    if not isinstance(data, dict):
        raise LatencyError(f"{source}: a latency profile file is an object with `default` and `profiles`")
    unknown = sorted(set(data) - {"about", "version", "default", "profiles"})
    if unknown:
        raise LatencyError(f"{source}: unknown field {unknown[0]!r} (known: about, version, default, profiles)")
    if "default" not in data:
        raise LatencyError(f"{source}: `default` is required (the profile of models no rule matches)")
    rules = data.get("profiles", [])
    if not isinstance(rules, list):
        raise LatencyError(f"{source}: `profiles` must be a list")
    try:
        return Profiles(
            default=_profile(data["default"], "default", rule=False),
            rules=tuple(_profile(r, f"profiles[{i}]", rule=True) for i, r in enumerate(rules)),
        )
    except LatencyError as exc:
        raise LatencyError(f"{source}: {exc}") from None


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LatencyError(f"--latency {path}: cannot read the profile file ({exc.strerror or exc})") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)
    except ValueError as exc:  # json.JSONDecodeError and yaml.YAMLError's parse errors
        raise LatencyError(f"--latency {path}: not valid {path.suffix.lstrip('.') or 'JSON'} ({exc})") from None
    except Exception as exc:  # yaml.YAMLError is not a ValueError
        raise LatencyError(f"--latency {path}: not valid YAML ({exc})") from None


_REALISTIC: list[Profiles] = []


def realistic() -> Profiles:
    """The packaged profiles (read once per process)."""
    if not _REALISTIC:
        text = resources.files("mockserver").joinpath("data/latency.json").read_text(encoding="utf-8")
        _REALISTIC.append(parse_profiles(json.loads(text), "mockserver/data/latency.json"))
    return _REALISTIC[0]


def load_profiles(setting: str) -> Profiles | None:
    """The profiles `--latency` names: None for `none`, the packaged ones for `realistic`, else a file."""
    if setting in ("", "none"):
        return None
    if setting == "realistic":
        return realistic()
    path = Path(setting)
    if not path.is_file():
        raise LatencyError(f"--latency must be none, realistic or a profile file (no file {setting!r})")
    return parse_profiles(_read(path), setting)


def check_scale(scale: float) -> float:
    if not math.isfinite(scale) or scale < 0:
        raise LatencyError(f"--latency-scale must be a finite number >= 0 (got {scale!r})")
    return scale


def asks_to_think(body: Any) -> bool:
    """Whether a request turns thinking on: Anthropic `thinking`, Gemini `thinkingConfig`, OpenAI reasoning."""
    if not isinstance(body, dict):
        return False
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        return True
    config = (
        (body.get("generationConfig") or {}).get("thinkingConfig")
        if isinstance(body.get("generationConfig"), dict)
        else None
    )
    if isinstance(config, dict) and config.get("thinkingBudget", -1) != 0:
        return True
    return bool(body.get("reasoning_effort") or body.get("reasoning"))


def output_tokens(payload: Any) -> int:
    """The output tokens an answer reports (OpenAI, Responses/Anthropic and Gemini usage fields)."""
    if not isinstance(payload, dict):
        return 0
    usage = payload.get("usage")
    if isinstance(usage, dict):
        for key in ("completion_tokens", "output_tokens"):
            if isinstance(usage.get(key), int):
                return int(usage[key])
    meta = payload.get("usageMetadata")
    if isinstance(meta, dict):
        return int(meta.get("candidatesTokenCount") or 0) + int(meta.get("thoughtsTokenCount") or 0)
    return 0


Sleep = Callable[[float], Awaitable[Any]]
Clock = Callable[[], float]


class Pace:
    """The delays of one answer, in seconds: before the first byte, then one per stream event.

    Jitter and the thinking pause are drawn from `rng`, which is keyed by the call, so a repeated call
    gets the same delays. `scale` multiplies every delay (`--latency-scale`).
    """

    def __init__(
        self, profile: Profile, rng: random.Random, *, thinks: bool, scale: float = 1.0, start: float = 0.0
    ) -> None:
        self.profile = profile
        # When the request arrived (event-loop time): every delay counts from here, so the work of
        # answering is part of the time to first token and a slow moment does not push later events back.
        self.start = start
        self.rng = rng
        self.scale = scale
        first = profile.ttft_ms
        if profile.thinking_ms is not None and (profile.thinks == "always" or (thinks and profile.thinks != "never")):
            first += rng.uniform(*profile.thinking_ms)
        self.first_s = self._jittered(first) / 1000 * scale

    def _jittered(self, ms: float) -> float:
        spread = self.profile.jitter
        return ms * (1 + self.rng.uniform(-spread, spread)) if spread else ms

    def gap(self) -> float:
        """The wait before the next stream event."""
        return max(_MIN_GAP_S, self._jittered(self.profile.gap_ms) / 1000 * self.scale) if self.scale else 0.0

    def whole(self, tokens: int) -> float:
        """How long a non-streamed answer of `tokens` output tokens takes: TTFT + tokens / rate."""
        return self.first_s + tokens / self.profile.tokens_per_second * self.scale

    async def wait_whole(self, tokens: int, *, sleep: Sleep | None = None, clock: Clock | None = None) -> None:
        """Wait until a non-streamed answer of `tokens` output tokens is due."""
        import asyncio

        now = (clock or asyncio.get_running_loop().time)()
        await (sleep or asyncio.sleep)(max(0.0, self.start + self.whole(tokens) - now))

    async def stream(
        self,
        body: AsyncIterable[Any],
        *,
        playback: tuple[float, int] | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> AsyncIterator[Any]:
        """`body`'s chunks, each sent after its delay; `playback=(seconds, chunks)` paces audio at its
        playback rate (the chunks spread over the seconds) instead of the token rate. Each chunk goes out
        as its own write."""
        import asyncio

        wait = sleep or asyncio.sleep
        now = clock or asyncio.get_running_loop().time
        due = self.start + self.first_s
        async for chunk in body:
            left = due - now()
            if left > 0:
                await wait(left)
            yield chunk
            # Each event is due a gap after the previous one was due (not sent): no drift builds up.
            if playback is not None and playback[1] > 0:
                due += playback[0] / playback[1] * self.scale
            else:
                due += self.gap()


def mode_from_header(value: str | None) -> str | None:
    """`x-mock-latency: none|realistic` (None when absent); anything else is refused by the caller."""
    if value is None:
        return None
    value = value.strip().lower()
    if value not in MODES:
        raise LatencyError(f"x-mock-latency must be none or realistic (got {value!r})")
    return value
