"""The OpenAI Responses API (`POST /v1/responses`): text and item input, instructions, function tools,
web search, reasoning items, `text.format` JSON schemas, `previous_response_id` chaining and streaming.

Responses the emulator produced (with `store` left on) are remembered — bounded, forgotten on reset —
so a later request can continue the conversation by id, as the real service allows. They live in the
shared state (`state.shared`, space `responses`), so a follow-up served by another worker or replica
finds them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.responses import Response

from mockserver.content.text import count_tokens, reply, truncate_tokens
from mockserver.errors import ApiError
from mockserver.families.openai.responses_stream import stream_events
from mockserver.families.shared import intent
from mockserver.families.shared.native import (
    json_text,
    search_query,
    stub_arguments,
    thinking_text,
    web_hits,
)
from mockserver.models import ensure_model
from mockserver.pipeline import Call, Endpoint

_HEX = "0123456789abcdef"
# The shared state's space of remembered conversations (response id -> JSON list of items).
_SPACE = "responses"


def is_reasoning_model(model: str) -> bool:
    low = model.lower()
    return low.startswith(("o1", "o3", "o4")) or ("gpt-5" in low and "chat" not in low) or "codex" in low


def _invalid(message: str, param: str | None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code, type="invalid_request_error")


def input_items(raw: Any) -> list[dict[str, Any]]:
    """The request's `input` as a list of items (a string is one user message)."""
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": raw}]}]
    items = []
    for item in raw:
        item = dict(item)
        if item.get("type", "message") == "message":
            item["type"] = "message"
            if isinstance(item.get("content"), str):
                kind = "output_text" if item.get("role") == "assistant" else "input_text"
                item["content"] = [{"type": kind, "text": item["content"]}]
        items.append(item)
    return items


def _item_text(item: Mapping[str, Any]) -> str:
    kind = item.get("type")
    if kind == "message":
        parts = item.get("content") or ()
        return " ".join(str(c.get("text") or c.get("refusal") or "") for c in parts if isinstance(c, Mapping))
    if kind == "function_call":
        return str(item.get("name", "")) + str(item.get("arguments", ""))
    if kind == "function_call_output":
        output = item.get("output")
        return output if isinstance(output, str) else json.dumps(output)
    if kind == "reasoning":
        return " ".join(str(s.get("text", "")) for s in item.get("summary") or () if isinstance(s, Mapping))
    return ""


@dataclass
class Turn:
    """The conversation so far and what the answer depends on."""

    items: list[dict[str, Any]]
    prompt: str = ""
    answering_tools: bool = False
    input_tokens: int = 0


async def read_turn(call: Call, body: Mapping[str, Any]) -> Turn:
    """Resolve `previous_response_id`, check tool outputs against calls, count input tokens."""
    history: list[dict[str, Any]] = []
    previous = body.get("previous_response_id")
    if previous:
        found = await call.state.shared.get(_SPACE, str(previous))
        if found is None:
            raise _invalid(
                f"Previous response with id '{previous}' not found.",
                "previous_response_id",
                "previous_response_not_found",
            )
        history = orjson.loads(found)
    new = input_items(body["input"])
    turn = Turn(items=history + new)
    call_ids = {str(i.get("call_id")) for i in turn.items if i.get("type") == "function_call"}
    for index, item in enumerate(new):
        if item.get("type") == "function_call_output":
            turn.answering_tools = True
            if str(item.get("call_id")) not in call_ids:
                raise _invalid(
                    f"No tool call found for function call output with call_id {item.get('call_id')}.",
                    f"input[{index}]",
                )
    for item in turn.items:
        if item.get("type") == "message" and item.get("role") in ("user", "developer", "system"):
            turn.prompt = _item_text(item) or turn.prompt
    texts = [str(body.get("instructions") or "")] + [_item_text(i) for i in turn.items]
    texts += [json.dumps(t) for t in body.get("tools") or ()]
    turn.input_tokens = max(1, sum(count_tokens(t) for t in texts))
    return turn


def check_request(body: Mapping[str, Any], turn: Turn) -> None:
    """Refuse what OpenAI refuses beyond the schema, naming the parameter."""
    model = str(body["model"])
    effort = (body.get("reasoning") or {}).get("effort")
    if not is_reasoning_model(model):
        if effort not in (None, "none"):
            raise _invalid(
                "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
                "reasoning.effort",
                "unsupported_parameter",
            )
    elif body.get("temperature") not in (None, 1, 1.0):
        raise _invalid(
            "Unsupported parameter: 'temperature' is not supported with this model.",
            "temperature",
            "unsupported_parameter",
        )
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_object":
        seen = (str(body.get("instructions") or "") + " ".join(_item_text(i) for i in turn.items)).lower()
        if "json" not in seen:
            raise _invalid(
                "Response input messages must contain the word 'json' in some form to use 'text.format' of type "
                "'json_object'.",
                "input",
            )
    choice = body.get("tool_choice")
    names = {t.get("name") for t in body.get("tools") or () if t.get("type") == "function"}
    if isinstance(choice, Mapping) and choice.get("type") == "function" and choice.get("name") not in names:
        raise _invalid(f"Tool choice '{choice.get('name')}' not found in 'tools' parameter.", "tool_choice")
    if choice == "required" and not body.get("tools"):
        raise _invalid("Tool choice 'required' must be specified with 'tools' parameter.", "tool_choice")


# ---------------------------------------------------------------------------------------------
# Composing the output


@dataclass
class Output:
    """Output items being built and their token cost."""

    items: list[dict[str, Any]] = field(default_factory=list)
    output_tokens: int = 0
    reasoning_tokens: int = 0
    incomplete: bool = False


def _item_id(call: Call, prefix: str) -> str:
    return call.new_id(prefix, 50, _HEX)


def _add_reasoning(call: Call, body: Mapping[str, Any], turn: Turn, out: Output) -> None:
    stub_reasoning = (call.stub or {}).get("reasoning")
    effort = (body.get("reasoning") or {}).get("effort") or "medium"
    if not stub_reasoning and (not is_reasoning_model(str(body["model"])) or effort == "none"):
        return
    thought = str(stub_reasoning or thinking_text(call.rng, turn.prompt))
    out.reasoning_tokens = count_tokens(thought) * {"minimal": 1, "low": 2, "medium": 4, "high": 8, "xhigh": 12}.get(
        effort, 4
    )
    wants_summary = (body.get("reasoning") or {}).get("summary") or (body.get("reasoning") or {}).get(
        "generate_summary"
    )
    summary = [{"type": "summary_text", "text": thought}] if wants_summary or stub_reasoning else []
    out.items.append({"type": "reasoning", "id": _item_id(call, "rs_"), "summary": summary})


def _function_calls(call: Call, body: Mapping[str, Any], turn: Turn) -> list[tuple[str, dict[str, Any]]]:
    stub = call.stub or {}
    if stub.get("tool_calls"):
        return [(str(c["name"]), stub_arguments(c.get("arguments"))) for c in stub["tool_calls"]]
    functions = [t for t in body.get("tools") or () if t.get("type") == "function"]
    choice = body.get("tool_choice") or "auto"
    if not functions or choice == "none" or stub.get("content") is not None or stub.get("json") is not None:
        return []
    parallel = body.get("parallel_tool_calls") is not False
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        chosen, parallel = [next(t for t in functions if t["name"] == choice["name"])], False
    elif choice == "required" or (choice == "auto" and not turn.answering_tools and not _web_tool(body)):
        chosen = intent.choose_tools(functions, turn.prompt, parallel=parallel)
    else:
        return []
    named = [(str(t["name"]), t.get("parameters")) for t in chosen]
    return intent.tool_calls(named, turn.prompt, call.rng, parallel=parallel)


def _web_tool(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((t for t in body.get("tools") or () if str(t.get("type", "")).startswith("web_search")), None)


def _text(call: Call, body: Mapping[str, Any], turn: Turn) -> str:
    stub = call.stub or {}
    if stub.get("json") is not None:
        return json_text(stub["json"])
    if stub.get("content") is not None:
        return str(stub["content"])
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        return intent.structured_text(fmt["schema"], call.rng, turn.prompt)
    texts = [str(body.get("instructions") or "")] + [
        _item_text(i) for i in turn.items if i.get("type") == "message" and i.get("role") != "assistant"
    ]
    document = intent.implied_json(texts, turn.prompt, call.rng, json_mode=fmt.get("type") == "json_object")
    if document is not None:
        return document
    if fmt.get("type") == "json_object":
        return json_text({"answer": reply(call.rng, turn.prompt, sentences=1)})
    if turn.answering_tools:
        return intent.after_results(_tool_results(turn.items), call.rng, turn.prompt)
    return reply(call.rng, turn.prompt)


def _tool_results(items: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """(function name, output) of the function_call_output items that end the input."""
    names = {str(i.get("call_id")): str(i.get("name", "")) for i in items if i.get("type") == "function_call"}
    out: list[tuple[str, Any]] = []
    for item in reversed(items):
        if item.get("type") != "function_call_output":
            break
        out.append((names.get(str(item.get("call_id")), ""), item.get("output")))
    return out[::-1]


def _add_message(call: Call, body: Mapping[str, Any], turn: Turn, out: Output) -> None:
    web = _web_tool(body) if not turn.answering_tools and body.get("tool_choice", "auto") != "none" else None
    annotations: list[dict[str, Any]] = []
    if web is not None:
        query = search_query(turn.prompt)
        action = {"type": "search", "query": query}
        out.items.append(
            {"type": "web_search_call", "id": _item_id(call, "ws_"), "status": "completed", "action": action}
        )
        text = f"Here is what I found about {query}."
        for hit in web_hits(call.rng, query, 2):
            start = len(text) + 1
            text += " " + hit.snippet
            annotations.append(
                {
                    "type": "url_citation",
                    "start_index": start,
                    "end_index": len(text),
                    "url": hit.url,
                    "title": hit.title,
                }
            )
        stub = call.stub or {}
        if stub.get("content") is not None:
            text, annotations = str(stub["content"]), []
    else:
        text = _text(call, body, turn)
    limit = body.get("max_output_tokens")
    if limit is not None:
        text, out.incomplete = truncate_tokens(text, max(0, int(limit) - out.reasoning_tokens))
        annotations = [a for a in annotations if a["end_index"] <= len(text)]
    content = {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}
    status = "incomplete" if out.incomplete else "completed"
    message = {
        "type": "message",
        "id": _item_id(call, "msg_"),
        "status": status,
        "role": "assistant",
        "content": [content],
    }
    out.items.append(message)
    out.output_tokens += count_tokens(text)


def compose(call: Call, body: Mapping[str, Any], turn: Turn) -> Output:
    out = Output()
    _add_reasoning(call, body, turn, out)
    calls = _function_calls(call, body, turn)
    for name, arguments in calls:
        encoded = json.dumps(arguments)
        out.items.append(
            {
                "type": "function_call",
                "id": _item_id(call, "fc_"),
                "call_id": call.new_id("call_", 24),
                "name": name,
                "arguments": encoded,
                "status": "completed",
            }
        )
        out.output_tokens += count_tokens(name + encoded)
    if not calls:
        _add_message(call, body, turn, out)
    out.output_tokens += out.reasoning_tokens
    return out


def _tools_echo(tools: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    echoed = []
    for tool in tools:
        tool = dict(tool)
        if tool.get("type") == "function":
            tool.setdefault("description", None)
            tool.setdefault("parameters", None)
            tool.setdefault("strict", True)
        echoed.append(tool)
    return echoed


def response_object(call: Call, body: Mapping[str, Any], turn: Turn, out: Output) -> dict[str, Any]:
    """The whole `response` object for a finished request."""
    created = int(call.now)
    reasoning_model = is_reasoning_model(str(body["model"]))
    reasoning = body.get("reasoning") or {}
    return {
        "id": _item_id(call, "resp_"),
        "object": "response",
        "created_at": created,
        "status": "incomplete" if out.incomplete else "completed",
        "background": bool(body.get("background", False)),
        "completed_at": None if out.incomplete else created,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if out.incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": out.items,
        "parallel_tool_calls": bool(body.get("parallel_tool_calls", True)),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {
            "effort": reasoning.get("effort", "medium" if reasoning_model else None),
            "summary": reasoning.get("summary"),
        },
        "service_tier": "default",
        "store": bool(body.get("store", True)),
        "temperature": 1.0 if reasoning_model else body.get("temperature", 1.0),
        "text": {"format": (body.get("text") or {}).get("format") or {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": _tools_echo(body.get("tools") or []),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
        "usage": {
            "input_tokens": turn.input_tokens,
            # every field OpenAI's spec (ResponseUsage) marks required
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": out.output_tokens,
            "output_tokens_details": {"reasoning_tokens": out.reasoning_tokens},
            "total_tokens": turn.input_tokens + out.output_tokens,
        },
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


async def create_response(call: Call) -> Response:
    """POST /v1/responses."""
    body = call.body
    ensure_model(call, body["model"])
    turn = await read_turn(call, body)
    check_request(body, turn)
    response = response_object(call, body, turn, compose(call, body, turn))
    if response["store"]:
        conversation = orjson.dumps(turn.items + response["output"])
        await call.state.shared.put(_SPACE, response["id"], conversation)
    if body.get("stream"):
        return call.sse(stream_events(response))
    return call.json(response)


ROUTES = [Endpoint("responses_create", create_response, paced=True)]
