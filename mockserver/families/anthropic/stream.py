"""A finished Anthropic message replayed as the Messages streaming events.

`message_start` (empty content), then per block `content_block_start`, its deltas (`text_delta`,
`citations_delta`, `thinking_delta` + `signature_delta`, `input_json_delta`) and
`content_block_stop`, a `ping` after the first block opens, then `message_delta` with the stop reason
and cumulative usage, and `message_stop`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from mockserver.content.text import stream_pieces
from mockserver.families.shared.native import chunks


def _block_events(index: int, block: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """content_block_start, its deltas and content_block_stop for one finished block."""
    kind = block["type"]
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        if block.get("citations"):
            start["citations"] = []
            deltas += [{"type": "citations_delta", "citation": c} for c in block["citations"]]
        deltas += [{"type": "text_delta", "text": piece} for piece in stream_pieces(block["text"])]
    elif kind == "thinking":
        # the SDK's ThinkingBlock requires `signature`: it opens empty and arrives in a signature_delta
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas += [{"type": "thinking_delta", "thinking": piece} for piece in stream_pieces(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind in ("tool_use", "server_tool_use"):
        start = {**block, "input": {}}
        deltas += [
            {"type": "input_json_delta", "partial_json": part} for part in chunks(json.dumps(block["input"]), 24)
        ]
    else:
        start = dict(block)
    yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
    for delta in deltas:
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": index}


def stream_events(message: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Anthropic's event sequence for a finished message."""
    usage = message["usage"]
    opening = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    opening["usage"].pop("server_tool_use", None)
    yield "message_start", {"type": "message_start", "message": opening}
    for index, block in enumerate(message["content"]):
        for n, event in enumerate(_block_events(index, block)):
            yield event
            if index == 0 and n == 0:
                yield "ping", {"type": "ping"}
    final_usage = {k: v for k, v in usage.items() if k != "service_tier"}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]},
            "usage": final_usage,
        },
    )
    yield "message_stop", {"type": "message_stop"}
