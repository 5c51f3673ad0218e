"""A finished Responses API object replayed as OpenAI's named stream events, numbered in order.

response.created → response.in_progress → per output item: output_item.added, its own deltas
(reasoning summary text, web search progress, output text and annotations, function call arguments),
output_item.done → response.completed (or response.incomplete).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from mockserver.content.text import stream_pieces
from mockserver.families.shared.native import chunks

Event = tuple[str, dict[str, Any]]


class _Numbered:
    """Builds events with increasing `sequence_number`s."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, kind: str, **fields: Any) -> Event:
        event = {"type": kind, "sequence_number": self.n, **fields}
        self.n += 1
        return kind, event


def _reasoning(ev: _Numbered, index: int, item: Mapping[str, Any]) -> Iterator[Event]:
    loc = {"item_id": item["id"], "output_index": index}
    for s, part in enumerate(item["summary"]):
        yield ev("response.reasoning_summary_part.added", **loc, summary_index=s, part={**part, "text": ""})
        for piece in stream_pieces(part["text"]):
            yield ev("response.reasoning_summary_text.delta", **loc, summary_index=s, delta=piece)
        yield ev("response.reasoning_summary_text.done", **loc, summary_index=s, text=part["text"])
        yield ev("response.reasoning_summary_part.done", **loc, summary_index=s, part=part)


def _message(ev: _Numbered, index: int, item: Mapping[str, Any]) -> Iterator[Event]:
    loc = {"item_id": item["id"], "output_index": index}
    for c, part in enumerate(item["content"]):
        empty = {**part, "text": "", "annotations": []}
        yield ev("response.content_part.added", **loc, content_index=c, part=empty)
        for piece in stream_pieces(part["text"]):
            yield ev("response.output_text.delta", **loc, content_index=c, delta=piece, logprobs=[])
        for a, annotation in enumerate(part.get("annotations") or ()):
            yield ev(
                "response.output_text.annotation.added",
                **loc,
                content_index=c,
                annotation_index=a,
                annotation=annotation,
            )
        yield ev("response.output_text.done", **loc, content_index=c, text=part["text"], logprobs=[])
        yield ev("response.content_part.done", **loc, content_index=c, part=part)


def _function_call(ev: _Numbered, index: int, item: Mapping[str, Any]) -> Iterator[Event]:
    loc = {"item_id": item["id"], "output_index": index}
    for piece in chunks(item["arguments"], 16):
        yield ev("response.function_call_arguments.delta", **loc, delta=piece)
    yield ev("response.function_call_arguments.done", **loc, arguments=item["arguments"], name=item["name"])


def _web_search(ev: _Numbered, index: int, item: Mapping[str, Any]) -> Iterator[Event]:
    loc = {"item_id": item["id"], "output_index": index}
    for stage in ("in_progress", "searching", "completed"):
        yield ev(f"response.web_search_call.{stage}", **loc)


def _opening(item: Mapping[str, Any]) -> dict[str, Any]:
    """An output item as `output_item.added` shows it: nothing generated yet."""
    opened = {**item, "status": "in_progress"}
    if item["type"] == "message":
        opened["content"] = []
    elif item["type"] == "function_call":
        opened["arguments"] = ""
    elif item["type"] == "reasoning":
        opened["summary"] = []
    return opened


_BODIES = {
    "reasoning": _reasoning,
    "message": _message,
    "function_call": _function_call,
    "web_search_call": _web_search,
}


def stream_events(response: Mapping[str, Any]) -> Iterator[Event]:
    """Every event of a streamed response, in order."""
    ev = _Numbered()
    started = copy.deepcopy(dict(response))
    started.update(
        {"status": "in_progress", "output": [], "usage": None, "completed_at": None, "incomplete_details": None}
    )
    yield ev("response.created", response=started)
    yield ev("response.in_progress", response=started)
    for index, item in enumerate(response["output"]):
        yield ev("response.output_item.added", output_index=index, item=_opening(item))
        yield from _BODIES[item["type"]](ev, index, item)
        yield ev("response.output_item.done", output_index=index, item=item)
    final = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    yield ev(final, response=response)
