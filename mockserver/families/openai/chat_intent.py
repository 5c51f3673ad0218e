"""What a chat completion's caller meant: which tools to call (and with what), which JSON to write,
and what to say once a tool has answered.

Only requests that ask for tools or JSON (a `response_format`, or "json" in the latest user or a
system message) reach the searching code here; a plain-text request pays for one substring test.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from mockserver.content import text, tool_use
from mockserver.content.implied_schema import implied_schema, wants_fence, wants_json
from mockserver.families.openai.chat_request import ChatRequest
from mockserver.families.openai.common import content_text

_INSTRUCTION_ROLES = ("system", "developer", "user")


def pick_functions(req: ChatRequest, rng: random.Random) -> list[str]:
    """The functions this choice calls: the named one, every fitting one (parallel), or the likeliest."""
    if req.tool_choice == "named":
        return [req.forced] if req.forced else []
    if req.tool_choice == "none" or not req.functions:
        return []
    if req.tool_choice == "auto" and req.after_tool_result:
        return []  # the tool already answered: the model now replies in words
    names = list(req.functions)
    if req.parallel_tool_calls and not req.legacy_functions:
        fitting = [names[i] for i in tool_use.fitting_tools(names, req.prompt)]
        if len(fitting) > 1:
            return fitting
    prompt = req.prompt.lower()
    scored = []
    for name in names:
        words = set(name.lower().replace("-", "_").split("_")) | set(text.keywords(req.descriptions[name], 8))
        scored.append((sum(1 for w in words if len(w) > 2 and w in prompt), name))
    best = max(scored)[0]
    candidates = [name for score, name in scored if score == best]
    return [candidates[0] if len(candidates) == 1 else rng.choice(candidates)]


def function_calls(req: ChatRequest, names: list[str], rng: random.Random) -> list[tuple[str, str]]:
    """(name, JSON arguments) for each call: arguments from the prompt where the schema lets them."""
    repeat = req.parallel_tool_calls and not req.legacy_functions and req.tool_choice != "named"
    out: list[tuple[str, str]] = []
    for name in names:
        for arguments in tool_use.calls_for(req.functions[name], rng, req.prompt, repeat=repeat):
            out.append((name, orjson.dumps(arguments).decode()))
    return out[:1] if req.legacy_functions or not req.parallel_tool_calls else out


def _instruction_texts(req: ChatRequest) -> list[str]:
    return [content_text(m.get("content")) for m in req.messages if m["role"] in _INSTRUCTION_ROLES]


def asks_for_json(req: ChatRequest) -> bool:
    """Whether a request without a JSON response format still asks for JSON in words."""
    if wants_json(req.prompt):
        return True
    for message in req.messages:
        if message["role"] == "system" or message["role"] == "developer":
            content = message.get("content")
            if wants_json(content if isinstance(content, str) else content_text(content)):
                return True
    return False


def json_content(req: ChatRequest, rng: random.Random) -> str | None:
    """The JSON this choice writes for a request that asks for JSON; None when its words name no shape."""
    if req.response_format == "json_schema" and req.schema is not None:
        return orjson.dumps(tool_use.structured(req.schema, rng, req.prompt)).decode()
    texts = _instruction_texts(req)
    schema = implied_schema(texts)
    if schema is None:
        return None
    instance = tool_use.implied_instance(schema, rng, req.prompt)
    if instance is None:
        return None
    document = orjson.dumps(instance).decode()
    if req.response_format is None and wants_fence(texts):
        return f"```json\n{document}\n```"
    return document


def tool_results(req: ChatRequest) -> list[tuple[str, Any]]:
    """(function name, result) of the tool messages that end the conversation."""
    names: dict[str, str] = {}
    for message in req.messages:
        for call in message.get("tool_calls") or ():
            names[str(call.get("id"))] = str((call.get("function") or {}).get("name", ""))
    out: list[tuple[str, Any]] = []
    for message in reversed(req.messages):
        if message["role"] == "tool":
            out.append((names.get(str(message.get("tool_call_id")), ""), content_text(message.get("content"))))
        elif message["role"] == "function":
            out.append((str(message.get("name", "")), content_text(message.get("content"))))
        else:
            break
    return out[::-1]
