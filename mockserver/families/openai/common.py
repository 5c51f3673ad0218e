"""What the OpenAI-format operations share: model kinds, token counting of messages, usage blocks, logprobs."""

from __future__ import annotations

import binascii
import hashlib
import random
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from mockserver.content import text
from mockserver.content.text import count_tokens

# OpenAI's chat format costs a few tokens per message and to prime the reply.
TOKENS_PER_MESSAGE = 3
TOKENS_REPLY_PRIMER = 3
IMAGE_TOKENS_LOW = 85
IMAGE_TOKENS_HIGH = 765
AUDIO_PART_TOKENS = 120
FILE_PART_TOKENS = 250
GENERATED_IMAGE_TOKENS = 1290

_HIDDEN_REASONING = re.compile(r"^(o1|o3|o4|gpt-5)(\b|-|$)")
_VISIBLE_REASONING = re.compile(r"(deepseek-r1|reasoner|thinking|qwq|-r1\b|-r1-)", re.IGNORECASE)


@lru_cache(maxsize=1024)
def fingerprint(model: str) -> str:
    """A stable `system_fingerprint` per model."""
    return "fp_" + hashlib.blake2b(model.encode(), digest_size=5).hexdigest()


_ID_LETTERS = bytes.maketrans(b"+/", b"xQ")


def random_id(rng: random.Random, prefix: str, length: int = 29) -> str:
    """A deterministic id of letters and digits (`chatcmpl-…`), drawn in one call (hot path)."""
    raw = rng.randbytes(length * 3 // 4 + 3)
    return prefix + binascii.b2a_base64(raw, newline=False)[:length].translate(_ID_LETTERS).decode("ascii")


def is_gemini(model: str) -> bool:
    return "gemini" in model.lower()


def is_image_chat_model(model: str) -> bool:
    """Gemini models that answer chat requests with a generated image (e.g. gemini-2.0-flash-exp-image-generation)."""
    low = model.lower()
    return is_gemini(low) and ("image-generation" in low or "-image" in low)


def reasoning_mode(model: str, body: dict[str, Any]) -> str | None:
    """`"visible"`: the answer carries `reasoning_content` (DeepSeek R1, thinking on, Claude/Gemini with a
    reasoning effort); `"hidden"`: only usage counts reasoning tokens (OpenAI o-series, gpt-5); else None."""
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    return _reasoning_mode(model, kind, body.get("reasoning_effort"))


@lru_cache(maxsize=1024)
def _reasoning_mode(model: str, thinking: str | None, effort: str | None) -> str | None:
    if thinking == "disabled":
        return None
    if thinking == "enabled":
        return "visible"
    if _VISIBLE_REASONING.search(model):
        return "visible"
    low = model.lower()
    if effort and effort != "none" and (low.startswith("claude") or is_gemini(low)):
        return "visible"
    if _HIDDEN_REASONING.match(low):
        return "hidden"
    return None


def content_text(content: Any) -> str:
    """The text of a message's content (a string, or the text parts of a list)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def part_tokens(part: dict[str, Any]) -> int:
    """Prompt tokens of one content part."""
    kind = part.get("type")
    if kind == "text":
        return count_tokens(str(part.get("text", "")))
    if kind == "image_url":
        image = part.get("image_url")
        detail = image.get("detail") if isinstance(image, dict) else None
        return IMAGE_TOKENS_LOW if detail == "low" else IMAGE_TOKENS_HIGH
    if kind == "input_audio":
        return AUDIO_PART_TOKENS
    if kind == "file":
        return FILE_PART_TOKENS
    return count_tokens(str(part.get("refusal", "")))


def message_tokens(messages: list[dict[str, Any]]) -> int:
    """Prompt tokens of a conversation, counted the way OpenAI's cookbook does (approximate BPE)."""
    total = TOKENS_REPLY_PRIMER
    for message in messages:
        total += TOKENS_PER_MESSAGE
        content = message.get("content")
        if isinstance(content, str):
            total += count_tokens(content)
        elif isinstance(content, list):
            total += sum(part_tokens(p) for p in content if isinstance(p, dict))
        if "name" in message:
            total += 1 + count_tokens(str(message["name"]))
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            total += count_tokens(str(function.get("name", ""))) + count_tokens(str(function.get("arguments", "")))
    return total


def usage_block(prompt: int, completion: int, reasoning: int = 0) -> dict[str, Any]:
    """A `usage` object whose total is the sum of its parts."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class FastReply:
    """`content.text.reply`'s voice at a fraction of the cost: sentences and their token counts are built
    once, and one draw of random bits picks a reply. Returns the text and its token count."""

    def __init__(self, pool_size: int = 4096) -> None:
        rng = random.Random(0)
        openers = sorted({text.reply(rng, "", sentences=0) for _ in range(200)})
        sentences = sorted({text.sentence(rng) for _ in range(pool_size)})
        self.openers = [(o, count_tokens(o)) for o in openers]
        self.sentences = [(s, count_tokens(s)) for s in sentences]
        self.lowered = [(s[:1].lower() + s[1:], n) for s, n in self.sentences]

    def __call__(self, rng: random.Random, prompt: str = "", sentences: int | None = None) -> tuple[str, int]:
        # 64 random bits pick the length, the opener and the first sentences; more are drawn as they run low.
        bits = rng.getrandbits(64)
        n = sentences if sentences is not None else 2 + bits % 3
        bits //= 3
        opener, total = self.openers[bits % len(self.openers)]
        bits //= len(self.openers)
        parts = [opener]
        pool = self.sentences
        size = len(pool)
        lead = reply_lead(prompt)
        if lead is not None:
            body, count = self.lowered[bits % size]
            bits //= size
            parts.append(f"{lead[0]} {body}")
            total += lead[1] + count
            n -= 1
        for _ in range(max(0, n)):
            if bits < size:
                bits = rng.getrandbits(64)
            sentence, count = pool[bits % size]
            bits //= size
            parts.append(sentence)
            total += count
        return " ".join(parts), total


def reply_lead(prompt: str) -> tuple[str, int] | None:
    """The reply's opening on the prompt's keywords (`About a, b:`) and its token count; None without any."""
    words = text.keywords(prompt)
    if not words:
        return None
    lead = f"About {', '.join(words)}:"
    return lead, count_tokens(lead)


fast_reply = FastReply()


def token_logprobs(pieces: Iterable[str], rng: random.Random, top: int) -> list[dict[str, Any]]:
    """Chat-format logprobs for each token: a likely choice plus `top` less likely alternatives."""
    out: list[dict[str, Any]] = []
    for piece in pieces:
        logprob = -round(rng.random() ** 3 * 2.5, 6)
        entry: dict[str, Any] = {"token": piece, "logprob": logprob, "bytes": list(piece.encode())}
        alternatives = []
        for k in range(top):
            alt = piece if k == 0 else f"{piece.strip() or piece}{'_' * k}"
            alt_lp = logprob if k == 0 else round(logprob - 1.5 * k - rng.random(), 6)
            alternatives.append({"token": alt, "logprob": alt_lp, "bytes": list(alt.encode())})
        entry["top_logprobs"] = alternatives
        out.append(entry)
    return out


def token_inputs(value: Any, detokenize: Callable[[list[int]], str]) -> list[tuple[str, int]]:
    """(text, token count) per input of a `prompt` / `input` field, in order: a string, an array of token
    ids (1.0 counts as an integer too), or a list of either; token arrays become text by `detokenize`."""
    if isinstance(value, str):
        return [(value, count_tokens(value))]
    if value and not isinstance(value[0], (str, list)):
        return [(detokenize(value), len(value))]
    return [(item, count_tokens(item)) if isinstance(item, str) else (detokenize(item), len(item)) for item in value]
