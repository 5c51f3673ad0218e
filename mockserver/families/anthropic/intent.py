"""Reading what an Anthropic Messages caller meant: its instructions (for a JSON shape), a prefilled
assistant turn the answer continues, the prompt tool arguments come from, and the tool results that
end the conversation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(
        str(b.get("text", "")) for b in content or () if isinstance(b, Mapping) and b.get("type") == "text"
    )


def instruction_texts(body: Mapping[str, Any]) -> list[str]:
    """The system prompt and the user turns' text, oldest first."""
    texts = [_text_of(body.get("system") or "")]
    texts += [_text_of(m["content"]) for m in body["messages"] if m["role"] == "user"]
    return texts


def latest_user_text(body: Mapping[str, Any]) -> str:
    """The text of the newest user turn that has any (tool results carry none)."""
    for message in reversed(body["messages"]):
        if message["role"] == "user":
            text = _text_of(message["content"])
            if text.strip():
                return text
    return ""


def prefill(body: Mapping[str, Any]) -> str | None:
    """The text of a final assistant turn the answer must continue (Anthropic's prefill), else None."""
    last = body["messages"][-1]
    if last["role"] != "assistant":
        return None
    return _text_of(last["content"])


def continue_prefill(document: str, prefilled: str) -> str:
    """The rest of `document` after what the assistant turn already says (`{` for JSON)."""
    start = prefilled.strip()
    return document[len(start) :] if start and document.startswith(start) else document


def tool_results(body: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(tool name, result content) of the tool_result blocks in the last user turn."""
    names: dict[str, str] = {}
    for message in body["messages"]:
        if message["role"] == "assistant" and not isinstance(message["content"], str):
            for block in message["content"]:
                if isinstance(block, Mapping) and block.get("type") == "tool_use":
                    names[str(block.get("id"))] = str(block.get("name", ""))
    last = next((m for m in reversed(body["messages"]) if m["role"] == "user"), None)
    if last is None or isinstance(last["content"], str):
        return []
    out: list[tuple[str, Any]] = []
    for block in last["content"]:
        if isinstance(block, Mapping) and block.get("type") == "tool_result":
            content = block.get("content")
            result = content if isinstance(content, str) else _text_of(content)
            if block.get("is_error"):
                result = "error: " + (result if isinstance(result, str) else json.dumps(result))
            out.append((names.get(str(block.get("tool_use_id")), ""), result))
    return out
