"""`POST /v1/chat/completions`: ChatGPT, Claude, Gemini and DeepSeek models through the OpenAI format.

Non-streaming answers are one `chat.completion`; with `stream: true` the answer is `data:` events of
`chat.completion.chunk` (a role delta, content or tool-call fragments, a finish chunk, the usage chunk
when `stream_options.include_usage` is set) ending with `data: [DONE]`.

Every request, the plain text one included, takes the same path: `parse_chat_request` reads the
body, `plan_reply` and `fit_reply` settle each choice, and the choices are serialized here, as one
JSON document or as chunks. Speed comes from making that path cheap (the token counter's ASCII
count, precomputed reply sentences, orjson), not from a second path or a cache of bodies.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from starlette.responses import Response

from mockserver.content.text import count_tokens, stream_pieces, token_pieces
from mockserver.families.openai import chat_audio
from mockserver.families.openai.chat_reply import Reply, fit_reply, plan_reply
from mockserver.families.openai.chat_request import ChatRequest, parse_chat_request
from mockserver.families.openai.common import (
    fingerprint,
    message_tokens,
    random_id,
    token_logprobs,
    usage_block,
)
from mockserver.families.shared.account import record_usage
from mockserver.models import ensure_model
from mockserver.pipeline import Call, Endpoint

_ID_LENGTH = 29


async def chat_completions(call: Call) -> Response:
    """Answer a chat completion, streamed or not."""
    req = parse_chat_request(call)
    audio = chat_audio.requested(call.body)
    ensure_model(call, req.model)
    rng = call.rng
    replies = [plan_reply(req, call.stub, rng) for _ in range(req.n)]
    completion_tokens = reasoning_tokens = 0
    for reply in replies:
        fit_reply(reply, req)
        completion_tokens += reply.completion_tokens()
        reasoning_tokens += reply.reasoning_tokens()
    prompt_tokens = message_tokens(req.messages) + _tools_tokens(call.body)
    usage = usage_block(prompt_tokens, completion_tokens, reasoning_tokens)
    spoken: list[chat_audio.SpokenReply | None] = [None] * len(replies)
    if audio is not None:  # a tool call is not spoken
        for i, r in enumerate(replies):
            if not r.tool_calls:
                spoken[i] = await chat_audio.speak(audio, r.content or "", rng, call.now)
        chat_audio.add_audio_usage(usage, sum(s.tokens for s in spoken if s is not None))
    record_usage(
        call,
        req.model,
        prompt_tokens,
        usage["completion_tokens"],
        stream=req.stream,
        audio_completion_tokens=usage["completion_tokens_details"]["audio_tokens"],
    )
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
