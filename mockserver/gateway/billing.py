"""What a call is billed as: its billing model name and how it is priced (tokens, per call, per second).

new-api names the billing model after the request: the body's `model` for token-priced calls,
`mj_` + the action for Midjourney (`CoverActionToModelName`, `swap_face` for face swap), `suno_music` /
`suno_lyrics` for Suno. Reads (fetches, lists, polls) and a few bookkeeping operations cost nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from mockserver.gateway.prices import PriceTable

if TYPE_CHECKING:
    from mockserver.pipeline import Call

# POST operations that only read or manage (never charged, like GET reads).
FREE_OPERATIONS = frozenset(
    {"mj_task_list_by_condition", "suno_fetch_batch", "replicate_prediction_cancel", "gemini_count_tokens"}
)
_MJ_MODELS = {
    "mj_submit_imagine": "mj_imagine",
    "mj_submit_blend": "mj_blend",
    "mj_submit_describe": "mj_describe",
    "mj_submit_shorten": "mj_shorten",
    "mj_submit_modal": "mj_modal",
    "mj_insight_face_swap": "swap_face",
    "mj_video_submit": "mj_video",
    "mj_submit_upload_discord_images": "mj_upload",
}
_SIMPLE_CHANGE = {"U": "mj_upscale", "V": "mj_variation", "R": "mj_reroll"}
# customId fragments in new-api's CoverPlusActionToNormalAction order (most specific first).
_CUSTOM_ID = (
    ("upsample", "mj_upscale"),
    ("low_variation", "mj_low_variation"),
    ("high_variation", "mj_high_variation"),
    ("variation", "mj_variation"),
    ("pan", "mj_pan"),
    ("reroll", "mj_reroll"),
    ("Outpaint", "mj_zoom"),
    ("CustomZoom", "mj_custom_zoom"),
    ("Inpaint", "mj_inpaint"),
)
_IMAGEGEN = {
    "replicate_flux_kontext_max": "flux-kontext-max",
    "replicate_flux_kontext_pro": "flux-kontext-pro",
    "replicate_flux_pro": "flux-pro",
    "kling_image_submit": "kling-image",
    "kolors_tryon_submit": "kolors-virtual-try-on",
}
_TOKEN_FAMILIES = frozenset({"anthropic", "gemini"})
_TOKEN_OPERATIONS = frozenset({"chat_completions", "completions_create", "embeddings_create", "responses_create"})


class Bill(NamedTuple):
    """How one call is priced: `kind` is `tokens` (from its usage), `call` (`usd` per call × `count`),
    `speech` (characters as tokens), or `free`; `estimate` is what is reserved before it runs.
    (A tuple: one is made per call.)"""

    model: str
    kind: str
    estimate: int = 0
    usd: float = 0.0
    multiplier: float = 1.0


FREE = Bill("", "free")


def _body(call: Call) -> Mapping[str, Any]:
    return call.body if isinstance(call.body, Mapping) else {}


def _number(value: Any, default: float) -> float:
    """A count or duration from a body (`5`, `"10"`, `"5s"`); `default` for anything else or non-finite."""
    if value is None or isinstance(value, bool):
        return default
    try:
        number = float(value) if isinstance(value, (int, float)) else float(str(value).rstrip("s"))
    except (ValueError, OverflowError):
        return default
    return number if math.isfinite(number) else default


def mj_mode(path: str) -> str:
    """`fast`, `relax` or `turbo`, from the `/mj-relax/...` style prefix (no prefix: fast)."""
    first = path.lstrip("/").split("/", 1)[0]
    return first[3:] if first in ("mj-fast", "mj-relax", "mj-turbo") else "fast"


def mj_model(operation: str, body: Mapping[str, Any]) -> str:
    """The billing model of a Midjourney submit, as new-api names it."""
    if operation in _MJ_MODELS:
        return _MJ_MODELS[operation]
    if operation == "mj_submit_change":
        return "mj_" + str(body.get("action") or "imagine").lower()
    if operation == "mj_submit_simple_change":
        content = str(body.get("content") or "").split()
        verb = content[1][:1].upper() if len(content) > 1 else ""
        return _SIMPLE_CHANGE.get(verb, "mj_variation")
    if operation == "mj_submit_action":
        custom = str(body.get("customId") or "")
        for fragment, model in _CUSTOM_ID:
            if fragment in custom:
                return model
        return "mj_action"
    return "mj_" + operation.removeprefix("mj_submit_")


def token_model(call: Call) -> str:
    """The model a token-priced call names (body, else the path's `{model}`)."""
    model = _body(call).get("model")
    if not isinstance(model, str) or not model:
        model = call.path_params.get("model") or call.path_params.get("model_id") or ""
    model = str(model).removeprefix("models/")
    return model.split(":", 1)[0] or call.contract.id


def max_tokens(body: Mapping[str, Any]) -> int:
    """The completion budget a request asks for (0 when it names none)."""
    for name in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    config = body.get("generationConfig")
    if isinstance(config, Mapping):
        value = config.get("maxOutputTokens")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0


def _kind(operation: str, family: str, method: str) -> str:
    """How an operation is billed, whatever the request: `free`, `tokens` or `other` (decided per call)."""
    if method in ("GET", "HEAD") or operation in FREE_OPERATIONS or family == "yescale":
        return "free"
    return "tokens" if operation in _TOKEN_OPERATIONS or family in _TOKEN_FAMILIES else "other"


_KINDS: dict[tuple[str, str], str] = {}


def plan(call: Call, table: PriceTable, group: str, *, reserve: bool = True) -> Bill:
    """How this call will be priced, and what to reserve for it before it runs. Without `reserve` (a key
    with no quota to reserve from) a token-priced call's estimate is left at 0: `token_estimate` works it
    out if it is ever needed."""
    contract = call.contract
    op, family = contract.id, contract.family
    method = call.request.scope["method"]
    kind = _KINDS.get((op, method))
    if kind is None:
        kind = _KINDS[(op, method)] = _kind(op, family, method)
    if kind == "free":
        return FREE
    body = call.body if isinstance(call.body, dict) else {}
    if kind == "tokens":
        model = body.get("model")
        if not isinstance(model, str) or not model:
            model = token_model(call)
        return Bill(model, "tokens", token_estimate(call, table, group, model) if reserve else 0)
    if op == "audio_speech":
        model = str(body.get("model") or "tts-1")
        return Bill(model, "speech", table.token_quota(model, group, len(str(body.get("input") or "")), 0))
    if family == "midjourney":
        model = mj_model(op, body)
        usd = table.call_price(model)
        usd = table.default_per_call if usd is None else usd
        multiplier = table.mj_modes.get(mj_mode(call.request.scope["path"]), 1.0)
        return Bill(model, "call", table.usd_quota(usd, group, multiplier), usd, multiplier)
    if family == "suno":
        model = "suno_lyrics" if "lyrics" in op else "suno_music"
        usd = table.call_price(model) or 0.0
        return Bill(model, "call", table.usd_quota(usd, group), usd)
    if family == "video" and op not in _IMAGEGEN:
        return _video(op, body, table, group)
    model = _IMAGEGEN.get(op) or (op.split("_", 1)[0] if family == "imagegen" else str(body.get("model") or op))
    usd = table.call_price(model)
    usd = table.default_per_call if usd is None else usd
    count = _number(body.get("n"), 1.0) if op in ("images_generations", "images_edits") else 1.0
    count = min(max(count, 1.0), 10.0)
    return Bill(model, "call", table.usd_quota(usd, group, count), usd, count)


def token_estimate(call: Call, table: PriceTable, group: str, model: str) -> int:
    """What new-api pre-consumes for a token-priced call (its prompt guessed from the body's size)."""
    body = call.body if isinstance(call.body, dict) else {}
    return table.estimate(model, group, len(call.raw_body) // 4, max_tokens(body))


def _video(op: str, body: Mapping[str, Any], table: PriceTable, group: str) -> Bill:
    vendor = op.split("_", 1)[0]
    per_second = table.video_per_second.get(vendor, table.video_per_second.get("default", 0.05))
    seconds = _number(body.get("duration", body.get("seconds", body.get("duration_seconds"))), 5.0)
    seconds = min(max(seconds, 1.0), 600.0)
    resolution = str(body.get("resolution") or body.get("size") or "720p").lower()
    factor = table.video_resolution.get(resolution, 1.0)
    model = str(body.get("model") or body.get("model_name") or vendor)
    multiplier = seconds * factor
    return Bill(model, "call", table.usd_quota(per_second, group, multiplier), per_second, multiplier)


def usage_of(payload: Any) -> tuple[int, int, int] | None:
    """(prompt, completion, cached) tokens from an answer's usage block in any family's shape."""
    if not isinstance(payload, Mapping):
        return None
    usage = payload.get("usage")
    if isinstance(usage, Mapping):
        prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
        completion = usage.get("completion_tokens", usage.get("output_tokens", 0))
        if isinstance(prompt, int):
            details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
            cached = details.get("cached_tokens", 0) if isinstance(details, Mapping) else 0
            cached = cached or usage.get("cache_read_input_tokens", 0) or 0
            return prompt, int(completion or 0), int(cached)
    meta = payload.get("usageMetadata")
    if isinstance(meta, Mapping) and isinstance(meta.get("promptTokenCount"), int):
        return (
            meta["promptTokenCount"],
            int(meta.get("candidatesTokenCount", 0) or 0),
            int(meta.get("cachedContentTokenCount", 0) or 0),
        )
    return None
