"""What the caller meant, for the native formats (Responses, Anthropic, Gemini): which tools a prompt
calls (several in parallel when several fit), their arguments from the prompt, the JSON shape the
conversation names, and the words that follow a tool's result. Each family keeps its wire format.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.content import tool_use
from mockserver.content.implied_schema import implied_schema, wants_fence, wants_json
from mockserver.content.text import reply
from mockserver.families.shared.native import json_text, pick_tool


def choose_tools(
    tools: Sequence[Mapping[str, Any]], prompt: str, *, parallel: bool, name_key: str = "name"
) -> list[Mapping[str, Any]]:
    """Every tool the prompt speaks of when calls may run in parallel and several do; else the likeliest."""
    if parallel:
        fitting = tool_use.fitting_tools([str(t.get(name_key) or "") for t in tools], prompt)
        if len(fitting) > 1:
            return [tools[i] for i in fitting]
    return [pick_tool(tools, prompt, name_key=name_key)]


def tool_calls(
    chosen: Sequence[tuple[str, Any]], prompt: str, rng: random.Random, *, parallel: bool
) -> list[tuple[str, dict[str, Any]]]:
    """(name, arguments) per call of the chosen (name, parameter schema) tools: values from the prompt,
    one call per place named when calls may run in parallel."""
    out: list[tuple[str, dict[str, Any]]] = []
    for name, schema in chosen:
        for arguments in tool_use.calls_for(schema, rng, prompt, repeat=parallel):
            out.append((name, arguments))
    return out if parallel else out[:1]


def structured_text(schema: Any, rng: random.Random, prompt: str) -> str:
    """Structured output for a schema the request gave, fields the prompt states taken from it."""
    return json_text(tool_use.structured(schema, rng, prompt))


def implied_json(texts: Sequence[str], prompt: str, rng: random.Random, *, json_mode: bool) -> str | None:
    """JSON in the shape the conversation names, or None.

    `json_mode`: the request turned JSON output on without a schema. Otherwise only words that ask
    for JSON count (a schema in a system prompt, "return a ```json block"), and the answer is fenced
    when they ask for a code block.
    """
    if not json_mode and not any(wants_json(t) for t in texts):
        return None
    schema = implied_schema(texts)
    if schema is None:
        return None
    instance = tool_use.implied_instance(schema, rng, prompt)
    if instance is None:
        return None
    document = json_text(instance)
    return f"```json\n{document}\n```" if not json_mode and wants_fence(texts) else document


def after_results(results: Sequence[tuple[str, Any]], rng: random.Random, prompt: str) -> str:
    """The answer once tools have answered: their results read back, then a sentence on the question."""
    return tool_use.result_reply(results) + " " + reply(rng, prompt, sentences=1)
