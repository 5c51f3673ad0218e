"""The price table (`prices.json`, in new-api's units) and what a call costs in quota.

Token-priced models follow new-api's post-consumption formula, per-call models (images, Midjourney
actions, Suno) its per-call price, and video tasks a per-second price; the group ratio multiplies all.
The table names its sources; `prices.json` is the one place to change a price.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from importlib import resources
from typing import Any

_RESOLVED_MAX = 4096


@dataclasses.dataclass(frozen=True)
class ModelRatio:
    """A token-priced model: `model_ratio` 1 = $2 per 1M prompt tokens; completions cost `completion_ratio`
    times more, cached prompt tokens `cache_ratio` times a prompt token, audio input tokens `audio_ratio`
    times a prompt token and audio output tokens `audio_ratio × audio_completion_ratio` times one."""

    model_ratio: float
    completion_ratio: float = 1.0
    cache_ratio: float = 1.0
    audio_ratio: float = 1.0
    audio_completion_ratio: float = 1.0


class PriceTable:
    """Prices read once from `prices.json`."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.quota_per_unit = int(data["quota_per_unit"])
        self.pre_consumed_tokens = int(data["pre_consumed_tokens"])
        self.default_ratio = float(data["default_model_ratio"])
        self.default_per_call = float(data["default_per_call_usd"])
        self.groups: dict[str, float] = {k: float(v) for k, v in data["groups"].items()}
        self.models = {name: ModelRatio(**spec) for name, spec in data["models"].items()}
        self.per_call: dict[str, float] = {k: float(v) for k, v in data["per_call_usd"].items()}
        self.mj_modes: dict[str, float] = {k: float(v) for k, v in data["midjourney_modes"].items()}
        self.video_per_second: dict[str, float] = {k: float(v) for k, v in data["video_per_second_usd"].items()}
        self.video_resolution: dict[str, float] = {k: float(v) for k, v in data["video_resolution_ratio"].items()}
        self.sources: dict[str, str] = dict(data.get("_sources", {}))
        self._resolved: dict[str, ModelRatio] = {}

    # -- lookups ---------------------------------------------------------------------------------
    def group_ratio(self, group: str) -> float:
        return self.groups.get(group, 1.0)

    def ratio(self, model: str) -> ModelRatio:
        """A model's ratios: exact name, else the longest known prefix (dated variants), else the
        gateway's fallback ratio."""
        found = self.models.get(model) or self._resolved.get(model)
        if found is not None:
            return found
        best = ""
        for name in self.models:
            if model.startswith(name) and len(name) > len(best):
                best = name
        found = self.models[best] if best else ModelRatio(self.default_ratio)
        if len(self._resolved) < _RESOLVED_MAX:  # model names come from clients: keep the memo bounded
            self._resolved[model] = found
        return found

    def call_price(self, name: str) -> float | None:
        """The per-call price in USD of a per-call model or Midjourney action, or None."""
        return self.per_call.get(name)

    # -- quota -----------------------------------------------------------------------------------
    def token_quota(
        self,
        model: str,
        group: str,
        prompt: int,
        completion: int,
        cached: int = 0,
        *,
        audio_prompt: int = 0,
        audio_completion: int = 0,
    ) -> int:
        """new-api's post-consumption: tokens × ratios, rounded, at least 1 when anything was used. Audio
        tokens (counted within `prompt` / `completion`) are priced at the audio ratios instead."""
        if prompt + completion <= 0:
            return 0
        r = self.ratio(model)
        ratio = r.model_ratio * self.group_ratio(group)
        audio_prompt = min(max(audio_prompt, 0), prompt)
        audio_completion = min(max(audio_completion, 0), completion)
        cached = min(max(cached, 0), prompt - audio_prompt)
        text_prompt, text_completion = prompt - audio_prompt - cached, completion - audio_completion
        quota = (
            text_prompt
            + cached * r.cache_ratio
            + text_completion * r.completion_ratio
            + audio_prompt * r.audio_ratio
            + audio_completion * r.audio_ratio * r.audio_completion_ratio
        ) * ratio
        rounded = math.floor(quota + 0.5)
        return 1 if ratio and rounded <= 0 else rounded

    def usd_quota(self, usd: float, group: str, multiplier: float = 1.0) -> int:
        """A price in USD as quota, times the group ratio (new-api's per-call pricing)."""
        return math.floor(usd * self.quota_per_unit * self.group_ratio(group) * multiplier + 0.5)

    def estimate(self, model: str, group: str, prompt_tokens: int, max_tokens: int) -> int:
        """What new-api pre-consumes for a token-priced call: (max(prompt, 500) + max_tokens) × ratio."""
        r = self.ratio(model)
        tokens = max(prompt_tokens, self.pre_consumed_tokens) + max(max_tokens, 0)
        return int(tokens * r.model_ratio * self.group_ratio(group))

    def format_quota(self, quota: int) -> str:
        """As new-api's `FormatQuota` shows quota in messages (currency display on)."""
        return f"＄{quota / self.quota_per_unit:.6f}"

    def describe(self) -> dict[str, Any]:
        """The whole table as `GET /__mock/prices` shows it."""
        return {
            "quota_per_unit": self.quota_per_unit,
            "pre_consumed_tokens": self.pre_consumed_tokens,
            "default_model_ratio": self.default_ratio,
            "default_per_call_usd": self.default_per_call,
            "groups": self.groups,
            "models": {k: dataclasses.asdict(v) for k, v in self.models.items()},
            "per_call_usd": self.per_call,
            "midjourney_modes": self.mj_modes,
            "video_per_second_usd": self.video_per_second,
            "video_resolution_ratio": self.video_resolution,
            "sources": self.sources,
        }


@functools.cache
def prices() -> PriceTable:
    """The packaged price table (read once per process)."""
    text = resources.files("mockserver.gateway").joinpath("prices.json").read_text(encoding="utf-8")
    return PriceTable(json.loads(text))
