"""Anthropic Messages (`POST /v1/messages`) in Anthropic's own wire format, streaming included.

The answer is built as one complete message (thinking, server web search with cited text, tool use
with input valid for the tool's `input_schema`, or plain text) and, when `stream` is set, replayed as
Anthropic's event sequence: `message_start`, then per block `content_block_start` / deltas /
`content_block_stop`, then `message_delta` and `message_stop`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from mockserver.content.text import count_tokens, reply, truncate_tokens
from mockserver.errors import ApiError, Envelope
from mockserver.families.anthropic import intent as anthropic_intent
from mockserver.families.anthropic.request import Conversation, check_request, read_conversation
from mockserver.families.anthropic.stream import stream_events
from mockserver.families.shared import intent, native
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint

_CLAUDE = (
    "claude-opus-4-1-20250805",
    "claude-opus-4-20250514",
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-20250514",
    "claude-haiku-4-5-20251001",
    "claude-3-7-sonnet-20250219",
    "claude-3-5-sonnet-20241022",
    "claude-3-5-sonnet-20240620",
    "claude-3-5-haiku-20241022",
)


_ANTHROPIC_TYPE = {
    **dict.fromkeys((400, 405, 415), "invalid_request_error"),
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    **dict.fromkeys((503, 529), "overloaded_error"),
}


def anthropic_envelope(err: ApiError, request_id: str) -> tuple[int, Any]:
    """`{"type": "error", "error": {"type", "message"}, "request_id"}` as Anthropic answers."""
    return err.status, {
        "type": "error",
        "error": {
            "type": err.type or _ANTHROPIC_TYPE.get(err.status, "api_error"),
            "message": err.message,
        },
        "request_id": f"req_{request_id}",
    }


ENVELOPES: dict[str, Envelope] = {"anthropic": anthropic_envelope}

MODELS = [Model(name, "anthropic", ("anthropic", "openai")) for name in _CLAUDE]

_CONTEXT_WINDOW = 200_000
_FINISH_TO_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


@dataclass
class Draft:
    """The message being built: blocks, output tokens spent, why it stopped."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    output_tokens: int = 0
    stop_reason: str = "end_turn"
    stop_sequence: str | None = None
    web_searches: int = 0

    def add(self, block: dict[str, Any], tokens: int) -> None:
        self.blocks.append(block)
        self.output_tokens += tokens


def _add_thinking(call: Call, body: Mapping[str, Any], conv: Conversation, draft: Draft) -> None:
    thinking = body.get("thinking") or {}
    stub_reasoning = (call.stub or {}).get("reasoning")
    if not stub_reasoning and thinking.get("type") not in ("enabled", "adaptive"):
        return
    text = str(stub_reasoning or native.thinking_text(call.rng, conv.prompt))
    budget = int(thinking.get("budget_tokens") or body["max_tokens"])
    text, _ = truncate_tokens(text, max(1, min(budget, body["max_tokens"] - 1)))
    tokens = count_tokens(text)
    if thinking.get("display") == "omitted":
        text = ""
    draft.add({"type": "thinking", "thinking": text, "signature": native.signature(call.rng)}, tokens)


def _tool_plan(body: Mapping[str, Any], conv: Conversation, stub: Mapping[str, Any]) -> str | None:
    """'stub', 'web_search', 'custom' or None (answer in text)."""
    choice = (body.get("tool_choice") or {}).get("type", "auto")
    if stub.get("tool_calls"):
        return "stub"
    tools = body.get("tools") or []
    custom = [t for t in tools if t.get("type") in (None, "custom")]
    web = [t for t in tools if str(t.get("type", "")).startswith("web_search")]
    if choice == "none":
        return None
    if choice in ("any", "tool") and custom:
        return "custom"  # forced, even after a tool result
    if conv.tool_results:
        return None  # the tool already answered: the model now replies in words
    if web:
        return "web_search"
    if stub.get("content") is not None or stub.get("json") is not None:
        return None
    return "custom" if custom else None


def _add_tool_uses(call: Call, body: Mapping[str, Any], conv: Conversation, draft: Draft, plan: str) -> None:
    choice = body.get("tool_choice") or {"type": "auto"}
    uses: list[tuple[str, dict[str, Any]]] = []
    if plan == "stub":
        for entry in (call.stub or {}).get("tool_calls") or ():
            uses.append((str(entry["name"]), native.stub_arguments(entry.get("arguments", entry.get("input")))))
    else:
        custom = [t for t in body.get("tools") or () if t.get("type") in (None, "custom")]
        prompt = anthropic_intent.latest_user_text(body)
        parallel = not choice.get("disable_parallel_tool_use")
        if choice.get("type") == "tool":
            chosen, parallel = [next(t for t in custom if t["name"] == choice["name"])], False
        else:
            chosen = intent.choose_tools(custom, prompt, parallel=parallel)
        named = [(str(t["name"]), t.get("input_schema")) for t in chosen]
        uses.extend(intent.tool_calls(named, prompt, call.rng, parallel=parallel))
    if choice.get("type") == "auto":
        intro = f"I'll use the {uses[0][0]} tool to help with that."
        draft.add({"type": "text", "text": intro}, count_tokens(intro))
    for name, arguments in uses:
        block = {"type": "tool_use", "id": call.new_id("toolu_01", 22), "name": name, "input": arguments}
        draft.add(block, count_tokens(name + json.dumps(arguments)))
    draft.stop_reason = "tool_use"


def _add_web_search(call: Call, body: Mapping[str, Any], conv: Conversation, draft: Draft) -> None:
    rng = call.rng
    tool = next(t for t in body.get("tools") or () if str(t.get("type", "")).startswith("web_search"))
    query = native.search_query(conv.prompt)
    tool_id = call.new_id("srvtoolu_01", 22)
    hits = native.web_hits(
        rng, query, 3, allowed=tool.get("allowed_domains") or (), blocked=tool.get("blocked_domains") or ()
    )
    draft.add({"type": "server_tool_use", "id": tool_id, "name": "web_search", "input": {"query": query}}, 8)
    results = [
        {
            "type": "web_search_result",
            "url": hit.url,
            "title": hit.title,
            "encrypted_content": native.signature(rng, 48),
            "page_age": hit.page_age,
        }
        for hit in hits
    ]
    draft.add({"type": "web_search_tool_result", "tool_use_id": tool_id, "content": results}, 0)
    draft.web_searches = 1
    intro = f"Here is what I found about {query}:"
    draft.add({"type": "text", "text": intro}, count_tokens(intro))
    for hit in hits[:2]:
        citation = {
            "type": "web_search_result_location",
            "url": hit.url,
            "title": hit.title,
            "encrypted_index": native.signature(rng, 24),
            "cited_text": hit.snippet,
        }
        draft.add({"type": "text", "text": " " + hit.snippet, "citations": [citation]}, count_tokens(hit.snippet))


def _final_text(call: Call, body: Mapping[str, Any], conv: Conversation) -> str:
    stub = call.stub or {}
    if stub.get("json") is not None:
        return native.json_text(stub["json"])
    if stub.get("content") is not None:
        return str(stub["content"])
    prompt = anthropic_intent.latest_user_text(body)
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
    if fmt:
        return intent.structured_text(fmt["schema"], call.rng, prompt)
    prefilled = anthropic_intent.prefill(body)
    json_mode = prefilled is not None and prefilled.strip().startswith("{")
    document = intent.implied_json(anthropic_intent.instruction_texts(body), prompt, call.rng, json_mode=json_mode)
    if document is None and json_mode:
        document = native.json_text({"answer": reply(call.rng, prompt, sentences=1)})
    if document is not None:
        return anthropic_intent.continue_prefill(document, prefilled) if json_mode and prefilled else document
    if conv.tool_results:
        return intent.after_results(anthropic_intent.tool_results(body), call.rng, prompt)
    text = reply(call.rng, conv.prompt)
    if conv.images:
        text = f"I can see {' and '.join(conv.images)}. " + text
    return text


def _add_text(call: Call, body: Mapping[str, Any], conv: Conversation, draft: Draft, lead: str) -> None:
    text = lead + _final_text(call, body, conv) if lead else _final_text(call, body, conv)
    text, draft.stop_sequence = native.first_sequence(text, body.get("stop_sequences") or ())
    text, cut = truncate_tokens(text, max(0, body["max_tokens"] - draft.output_tokens))
    if draft.stop_sequence is not None:
        draft.stop_reason = "stop_sequence"
    elif cut:
        draft.stop_reason = "max_tokens"
    if text or not draft.blocks:
        draft.add({"type": "text", "text": text}, count_tokens(text))


def compose(call: Call, body: Mapping[str, Any], conv: Conversation) -> dict[str, Any]:
    """The complete assistant message for a request."""
    stub = call.stub or {}
    draft = Draft()
    _add_thinking(call, body, conv, draft)
    plan = _tool_plan(body, conv, stub)
    if plan in ("stub", "custom"):
        _add_tool_uses(call, body, conv, draft, plan)
    elif plan == "web_search":
        _add_web_search(call, body, conv, draft)
        if stub.get("content") is not None or stub.get("json") is not None:
            _add_text(call, body, conv, draft, " ")
    else:
        _add_text(call, body, conv, draft, "")
    finish = stub.get("finish_reason")
    if finish:
        draft.stop_reason = _FINISH_TO_STOP.get(str(finish), str(finish))
    usage: dict[str, Any] = {
        "input_tokens": conv.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": max(1, draft.output_tokens),
        "service_tier": "standard",
    }
    if draft.web_searches:
        usage["server_tool_use"] = {"web_search_requests": draft.web_searches, "web_fetch_requests": 0}
    return {
        "id": call.new_id("msg_01", 22),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": draft.blocks,
        "stop_reason": draft.stop_reason,
        "stop_sequence": draft.stop_sequence,
        "usage": usage,
    }


async def create_message(call: Call) -> Response:
    """POST /v1/messages."""
    body = call.body
    ensure_model(call, body["model"])
    check_request(body)
    conv = read_conversation(body)
    if conv.input_tokens > _CONTEXT_WINDOW:
        raise ApiError(
            400,
            f"prompt is too long: {conv.input_tokens} tokens > {_CONTEXT_WINDOW} maximum",
            type="invalid_request_error",
        )
    message = compose(call, body, conv)
    if body.get("stream"):
        return call.sse(stream_events(message))
    return call.json(message)


async def count_message_tokens(call: Call) -> Response:
    """POST /v1/messages/count_tokens: the input tokens the same messages, system and tools would cost
    (`{"input_tokens": n}`, the SDK's `messages.count_tokens` / MessageTokensCount)."""
    body = call.body
    ensure_model(call, body["model"])
    return call.json({"input_tokens": read_conversation(body).input_tokens})


ROUTES = [
    Endpoint("claude_messages", create_message, paced=True),
    Endpoint("claude_count_tokens", count_message_tokens),
]
