"""`POST /v1/completions`: the legacy text completions API (prompt in, `text_completion` out, or SSE)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import orjson
from starlette.responses import Response

from mockserver.content import text
from mockserver.content.text import count_tokens, token_pieces, truncate_tokens
from mockserver.families.openai.common import fingerprint, random_id, token_inputs, token_logprobs, usage_block
from mockserver.families.shared.account import record_usage
from mockserver.models import ensure_model
from mockserver.pipeline import Call, Endpoint

DEFAULT_MAX_TOKENS = 16
_VOCAB = ("the", " model", " text", " of", " and", " a", " test", " to", " is", " in", ",", ".")


def _prompts(value: Any) -> list[tuple[str, int]]:
    """(prompt text, token count) per prompt; token-id prompts are rendered from a small vocabulary."""
    if value is None:
        return [("<|endoftext|>", 1)]
    return token_inputs(value, _detokenize)


def _detokenize(tokens: list[int]) -> str:
    # JSON Schema counts 1.0 (and ints too large for 64 bits, parsed as floats) as integers.
    return "".join(_VOCAB[int(t) % len(_VOCAB)] for t in tokens)


def _legacy_logprobs(completion: str, offset: int, rng: random.Random, top: int) -> dict[str, Any]:
    entries = token_logprobs(token_pieces(completion), rng, top)
    offsets = []
    position = offset
    for entry in entries:
        offsets.append(position)
        position += len(entry["token"])
    return {
        "tokens": [e["token"] for e in entries],
        "token_logprobs": [e["logprob"] for e in entries],
        "top_logprobs": [{alt["token"]: alt["logprob"] for alt in e["top_logprobs"]} for e in entries],
        "text_offset": offsets,
    }


async def completions_create(call: Call) -> Response:
    """Complete each prompt `n` times; honours max_tokens (default 16), stop, echo, suffix, logprobs and a
    content stub's `content` or `json`."""
    body = call.body
    model: str = body["model"]
    ensure_model(call, model)
    n = body.get("n") or 1
    best_of = body.get("best_of")
    if best_of is not None and best_of < n:
        raise call.error(400, "best_of must be greater than or equal to n.", param="best_of")
    stream = bool(body.get("stream"))
    options = body.get("stream_options")
    if options is not None and not stream:
        raise call.error(
            400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options"
        )
    if stream and best_of is not None and best_of > 1:
        raise call.error(400, "best_of cannot be used with stream.", param="best_of")
    max_tokens = body.get("max_tokens")
    budget = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
    stop = body.get("stop")
    stops = (stop,) if isinstance(stop, str) else tuple(s for s in stop or () if s)
    echo = bool(body.get("echo"))
    top = body.get("logprobs")
    rng = call.rng
    stub = call.stub or {}
    fixed = orjson.dumps(stub["json"]).decode() if "json" in stub else stub.get("content")
    choices: list[dict[str, Any]] = []
    prompt_tokens = completion_tokens = 0
    for prompt, count in _prompts(body.get("prompt")):
        prompt_tokens += count
        for _ in range(n):
            completion = fixed if fixed is not None else " " + text.reply(rng, prompt)
            finish = "stop"
            cut = min((i for i in (completion.find(s) for s in stops) if i >= 0), default=-1)
            if cut >= 0:
                completion = completion[:cut]
            completion, truncated = truncate_tokens(completion, budget)
            if truncated:
                finish = "length"
            completion_tokens += count_tokens(completion)
            shown = prompt + completion if echo else completion
            logprobs = _legacy_logprobs(completion, len(shown) - len(completion), rng, top) if top is not None else None
            choices.append({"text": shown, "index": len(choices), "logprobs": logprobs, "finish_reason": finish})
    usage = usage_block(prompt_tokens, completion_tokens)
    record_usage(call, model, prompt_tokens, completion_tokens, stream=stream)
    head = {
        "id": random_id(rng, "cmpl-", 29),
        "object": "text_completion",
        "created": int(call.now),
        "model": model,
        "system_fingerprint": fingerprint(model),
    }
    if stream:
        include_usage = bool(options and options.get("include_usage"))
        return call.sse(_events(head, choices, usage, include_usage), terminator="[DONE]")
    return call.json({**head, "choices": choices, "usage": usage})


def _events(
    head: dict[str, Any], choices: list[dict[str, Any]], usage: dict[str, Any], include_usage: bool
) -> Iterator[dict[str, Any]]:
    for choice in choices:
        pieces = text.stream_pieces(choice["text"]) or [""]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            event_choice = {
                "text": piece,
                "index": choice["index"],
                "logprobs": None,
                "finish_reason": choice["finish_reason"] if last else None,
            }
            yield {**head, "choices": [event_choice]}
    if include_usage:
        yield {**head, "choices": [], "usage": usage}


ROUTES = [Endpoint("completions_create", completions_create, paced=True)]
