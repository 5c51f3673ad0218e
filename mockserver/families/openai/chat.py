"""`POST /v1/chat/completions`: ChatGPT, Claude, Gemini and DeepSeek models through the OpenAI format.

Non-streaming answers are one `chat.completion`; with `stream: true` the answer is `data:` events of
`chat.completion.chunk` (a role delta, content or tool-call fragments, a finish chunk, the usage chunk
when `stream_options.include_usage` is set) ending with `data: [DONE]`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import orjson
from starlette.responses import Response

from mockserver.answers import JSONAnswer
from mockserver.content.implied_schema import wants_json
from mockserver.content.text import stream_pieces
from mockserver.families.openai import chat_audio
from mockserver.families.openai.chat_reply import Reply, fit_reply, plan_reply
from mockserver.families.openai.chat_request import ChatRequest, parse_chat_request
from mockserver.families.openai.common import (
    count_tokens,
    cut_tokens,
    fast_reply,
    fingerprint,
    id_bytes,
    id_letters,
    message_tokens,
    plain_text_model,
    random_id,
    reply_lead,
    token_logprobs,
    token_pieces,
    usage_block,
)
from mockserver.families.shared.account import record_usage
from mockserver.keyed_random import BLOCK_BITS, first_block
from mockserver.models import ensure_model
from mockserver.pipeline import Call, Endpoint
from mockserver.state import call_key

_ID_LENGTH = 29


# A body with only these keys (and plain-text messages) takes the short path: same answer, less work.
_SIMPLE_KEYS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "n",
        "stream",
        "user",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "store",
        "metadata",
        "service_tier",
    }
)
_SIMPLE_ROLES = frozenset({"system", "developer", "user", "assistant"})


async def chat_completions(call: Call) -> Response:
    """Answer a chat completion, streamed or not."""
    if call.stub is None:
        answer = _simple_answer(call)
        if answer is not None:
            return answer
    req = parse_chat_request(call)
    audio = chat_audio.requested(call.body)
    ensure_model(call, req.model)
    rng = call.rng
    replies = [plan_reply(req, call.stub, rng) for _ in range(req.n)]
    for reply in replies:
        fit_reply(reply, req)
    prompt_tokens = message_tokens(req.messages) + _tools_tokens(call.body)
    completion_tokens = sum(r.completion_tokens() for r in replies)
    usage = usage_block(prompt_tokens, completion_tokens, sum(r.reasoning_tokens() for r in replies))
    spoken: list[chat_audio.SpokenReply | None] = [None] * len(replies)
    if audio is not None:  # a tool call is not spoken
        for i, r in enumerate(replies):
            if not r.tool_calls:
                spoken[i] = await chat_audio.speak(audio, r.content or "", rng, call.now)
        chat_audio.add_audio_usage(usage, sum(s.tokens for s in spoken if s is not None))
    record_usage(call, req.model, prompt_tokens, usage["completion_tokens"], stream=req.stream)
    completion_id = random_id(rng, "chatcmpl-", _ID_LENGTH)
    created = int(call.now)
    if req.stream:
        events = _chunks(req, replies, usage, completion_id, created, rng, spoken)
        return call.sse(events, terminator="[DONE]")
    return call.json(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": req.model,
            "choices": [_choice(i, r, req, rng, spoken[i]) for i, r in enumerate(replies)],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": fingerprint(req.model),
        }
    )


class _Plan:
    """What a plain-text chat body settles once, whatever the call: its RNG key, the opening the reply
    takes from the prompt, the token limit, the prompt's token count, and the JSON around the reply."""

    __slots__ = (
        "fingerprint_json",
        "key",
        "lead",
        "limit",
        "model",
        "model_json",
        "operation",
        "prompt",
        "prompt_tokens",
    )

    def __init__(self, call: Call, model: str, prompt: str, limit: int | None) -> None:
        self.operation = call.contract.id
        self.key = call_key(self.operation, call.canonical_body())
        self.model = model
        self.model_json = orjson.dumps(model)
        self.fingerprint_json = orjson.dumps(fingerprint(model))
        self.prompt = prompt
        self.lead = reply_lead(prompt)
        self.limit = limit
        self.prompt_tokens = message_tokens(call.body["messages"])


# Plans by raw body (a body sent again, as tests and retries do, skips the planning); None: the
# body needs the general path. Bodies past the size limit are planned each time, not kept.
_PLANS: dict[bytes, _Plan | None] = {}
_MAX_PLANS = 2048
_PLANNED_BODY_LIMIT = 4096
_ID_BYTES = id_bytes(_ID_LENGTH)
_ID_MASK = (1 << 8 * _ID_BYTES) - 1
# A reply reads at most five 64-bit chunks (one, then at most one per sentence, four at most), so
# the id that follows always lies within a KeyedRandom's first block.
if 64 * 5 + 8 * _ID_BYTES > BLOCK_BITS:
    raise RuntimeError("a plain chat answer's draws must fit in one KeyedRandom block")
# The JSON the general path gives for a plain-text answer (the tests hold them equal), to fill in.
_ANSWER = (
    b'{"id":"chatcmpl-%s","object":"chat.completion","created":%d,"model":%s,"choices":[{"index":0,'
    b'"message":{"role":"assistant","content":%s,"refusal":null,"annotations":[]},"logprobs":null,'
    b'"finish_reason":"%s"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,'
    b'"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":'
    b'{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},'
    b'"service_tier":"default","system_fingerprint":%s}'
)


def _simple_answer(call: Call) -> Response | None:
    """The common case — plain text in, one text choice out — without the general machinery.

    Its reply and id are the ones the general path draws from the same RNG, and its JSON is the
    same, so both give the same bytes; None when the request needs the general path after all.
    """
    raw = call.raw_body
    try:
        plan = _PLANS[raw]
        if plan is not None and plan.operation != call.contract.id:
            plan = _plan(call)
    except KeyError:
        plan = _plan(call)
        if len(raw) <= _PLANNED_BODY_LIMIT:
            if len(_PLANS) >= _MAX_PLANS:
                _PLANS.clear()
            _PLANS[raw] = plan
    if plan is None:
        return None
    ensure_model(call, plan.model)
    key = call.state.rng_key(plan.key)
    # The draws a KeyedRandom(key) would make, read straight from its first block.
    block = first_block(key)
    content, tokens, used = fast_reply.from_bits(block, plan.lead)
    letters = id_letters(((block >> used) & _ID_MASK).to_bytes(_ID_BYTES, "little"), _ID_LENGTH)
    finish = b"stop"
    limit = plan.limit
    if limit is not None and tokens > limit:
        content, _ = cut_tokens(content, limit)
        tokens, finish = limit, b"length"
    prompt_tokens = plan.prompt_tokens
    record_usage(call, plan.model, prompt_tokens, tokens, stream=False)
    return JSONAnswer.from_bytes(
        _ANSWER
        % (
            letters,
            int(call.now),
            plan.model_json,
            orjson.dumps(content),
            finish,
            prompt_tokens,
            tokens,
            prompt_tokens + tokens,
            plan.fingerprint_json,
        )
    )


def _plan(call: Call) -> _Plan | None:
    """The plan for a plain-text, single-choice, non-streaming body on a plain-text model; else None."""
    body = call.body
    if not body.keys() <= _SIMPLE_KEYS or body.get("stream") or (body.get("n") or 1) != 1:
        return None
    model: str = body["model"]
    if not plain_text_model(model):
        return None
    prompt = ""
    for message in body["messages"]:
        content = message.get("content")
        if message["role"] not in _SIMPLE_ROLES or not (content is None or isinstance(content, str)):
            return None
        if message["role"] == "user":
            prompt = content or ""
        elif content and message["role"] != "assistant" and wants_json(content):
            return None  # instructions that ask for JSON: the general path reads the shape they name
    limits = [v for v in (body.get("max_tokens"), body.get("max_completion_tokens")) if v is not None]
    if wants_json(prompt):
        return None
    return _Plan(call, model, prompt, min(limits) if limits else None)


def _tools_tokens(body: dict[str, Any]) -> int:
    tools = body.get("tools") or body.get("functions")
    if not tools:
        return 0
    total = 0
    for tool in tools:
        function = tool.get("function", tool)
        total += 8 + count_tokens(str(function.get("name", ""))) + count_tokens(str(function.get("description", "")))
        total += count_tokens(str(function.get("parameters", "")))
    return total


def _message(reply: Reply, spoken: chat_audio.SpokenReply | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if spoken is not None:  # a spoken reply: the text is the audio's transcript, `content` is null
        message["content"] = None
        message["audio"] = spoken.message_audio(reply.content or "")
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        if reply.legacy_function:
            _, name, arguments = reply.tool_calls[0]
            message["function_call"] = {"name": name, "arguments": arguments}
        else:
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
                for call_id, name, arguments in reply.tool_calls
            ]
    message["refusal"] = None
    message["annotations"] = []
    return message


def _choice(
    index: int, reply: Reply, req: ChatRequest, rng: random.Random, spoken: chat_audio.SpokenReply | None = None
) -> dict[str, Any]:
    logprobs = None
    if req.logprobs:
        pieces = token_pieces(reply.content or "")
        logprobs = {"content": token_logprobs(pieces, rng, req.top_logprobs), "refusal": None}
    message = _message(reply, spoken)
    return {"index": index, "message": message, "logprobs": logprobs, "finish_reason": reply.finish_reason}


def _chunks(
    req: ChatRequest,
    replies: list[Reply],
    usage: dict[str, Any],
    completion_id: str,
    created: int,
    rng: random.Random,
    spoken: list[chat_audio.SpokenReply | None],
) -> Iterator[dict[str, Any]]:
    """Every chunk of the stream, in order (the terminator is added by `call.sse`)."""
    head: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": req.model,
        "system_fingerprint": fingerprint(req.model),
    }
    if req.include_usage:
        head["usage"] = None

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None, logprobs: Any = None) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        return {**head, "choices": [choice]}

    for index, reply in enumerate(replies):
        voice = spoken[index]
        if voice is not None:  # spoken: transcript and audio in `delta.audio` updates, no `content`
            yield chunk(index, {"role": "assistant", "content": None, "refusal": None})
            for update in voice.deltas(_pieces(reply.content or "")):
                yield chunk(index, {"audio": update})
            yield chunk(index, {}, reply.finish_reason)
            continue
        text_reply = not reply.tool_calls
        yield chunk(index, {"role": "assistant", "content": "" if text_reply else None, "refusal": None})
        if reply.reasoning:
            for piece in _pieces(reply.reasoning):
                yield chunk(index, {"content": None, "reasoning_content": piece})
        if reply.content:
            if req.logprobs:
                for piece in token_pieces(reply.content):
                    lp = {"content": token_logprobs([piece], rng, req.top_logprobs), "refusal": None}
                    yield chunk(index, {"content": piece}, logprobs=lp)
            else:
                for piece in _pieces(reply.content):
                    yield chunk(index, {"content": piece})
        if reply.legacy_function and reply.tool_calls:
            _, name, arguments = reply.tool_calls[0]
            yield chunk(index, {"function_call": {"name": name, "arguments": ""}})
            for piece in _argument_fragments(arguments):
                yield chunk(index, {"function_call": {"arguments": piece}})
        elif reply.tool_calls:
            for k, (call_id, name, arguments) in enumerate(reply.tool_calls):
                opening = {"index": k, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
                yield chunk(index, {"tool_calls": [opening]})
                for piece in _argument_fragments(arguments):
                    yield chunk(index, {"tool_calls": [{"index": k, "function": {"arguments": piece}}]})
        yield chunk(index, {}, reply.finish_reason)
    if req.include_usage:
        yield {**head, "choices": [], "usage": usage}


def _pieces(text: str) -> list[str]:
    """Word-sized stream pieces that join back to exactly `text` (trailing whitespace included)."""
    pieces = stream_pieces(text)
    rest = text[len("".join(pieces)) :]
    if rest:
        pieces.append(rest)
    return pieces


def _argument_fragments(arguments: str) -> list[str]:
    """Arguments cut into the small pieces OpenAI streams (a few tokens each)."""
    pieces = token_pieces(arguments)
    return ["".join(pieces[i : i + 3]) for i in range(0, len(pieces), 3)] or [arguments]


ROUTES = [Endpoint("chat_completions", chat_completions, paced=True)]
