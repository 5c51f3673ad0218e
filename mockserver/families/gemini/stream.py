"""streamGenerateContent: a finished response cut into the chunks Gemini streams, sent as SSE
(`?alt=sse`) or as Google's default incremental JSON array.

Text arrives a few words at a time (thought summaries first), function calls whole, audio in
one-second PCM slices; every chunk carries `usageMetadata` and the last one of a candidate carries
`finishReason` and the grounding / URL-context metadata.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from mockserver.content.text import stream_pieces
from mockserver.pipeline import Call

log = logging.getLogger("mockserver")
_WORDS_PER_CHUNK = 6
_PCM_BYTES_PER_CHUNK = 48_000  # one second of 24 kHz 16-bit mono


def _text_pieces(text: str) -> list[str]:
    words = stream_pieces(text)
    return ["".join(words[i : i + _WORDS_PER_CHUNK]) for i in range(0, len(words), _WORDS_PER_CHUNK)] or [text]


def _part_pieces(part: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "text" in part:
        return [{**part, "text": piece} for piece in _text_pieces(str(part["text"]))]
    blob = part.get("inlineData")
    if blob:
        raw = base64.b64decode(blob["data"])
        slices = [raw[i : i + _PCM_BYTES_PER_CHUNK] for i in range(0, len(raw), _PCM_BYTES_PER_CHUNK)] or [b""]
        return [{"inlineData": {**blob, "data": base64.b64encode(s).decode("ascii")}} for s in slices]
    return [dict(part)]


def chunks_of(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stream chunks whose parts, joined, make `response`."""
    usage = response["usageMetadata"]
    running = {
        "promptTokenCount": usage["promptTokenCount"],
        "totalTokenCount": usage["promptTokenCount"],
        "promptTokensDetails": usage.get("promptTokensDetails", []),
    }
    common = {"modelVersion": response["modelVersion"], "responseId": response["responseId"]}
    out: list[dict[str, Any]] = []
    candidates = response["candidates"]
    for c_index, cand in enumerate(candidates):
        pieces: list[dict[str, Any] | None] = [
            p for part in cand["content"].get("parts", ()) for p in _part_pieces(part)
        ]
        pieces = pieces or [None]
        for n, piece in enumerate(pieces):
            last = n == len(pieces) - 1
            content: dict[str, Any] = {"parts": [piece], "role": "model"} if piece else {"role": "model"}
            entry: dict[str, Any] = {"content": content, "index": cand["index"]}
            if last:
                entry.update({k: v for k, v in cand.items() if k not in ("content", "index")})
            final = last and c_index == len(candidates) - 1
            out.append({"candidates": [entry], "usageMetadata": usage if final else running, **common})
    return out


def json_array(call: Call, chunks: list[dict[str, Any]]) -> Response:
    """Google's default stream: one JSON array written element by element (`[{..}\\n,\\r\\n{..}]`)."""

    async def body() -> AsyncIterator[bytes]:
        strict = call.state.settings.strict_responses
        # One chunk per element (the opening bracket travels with the first), which is what a fault's
        # stream_cut_after and malformed count.
        if not chunks:
            yield b"["
        for n, chunk in enumerate(chunks):
            if strict:
                issues = call.contract.validate_event(None, chunk)
                if issues:
                    log.error("strict-responses: %s chunk does not conform: %s", call.contract.id, issues)
                    message = "mockserver answer violates its contract (--strict-responses): " + str(issues[0])
                    error = {"error": {"code": 500, "message": message, "status": "INTERNAL"}}
                    yield (b",\r\n" if n else b"[") + orjson.dumps(error) + b"]"
                    return
            yield (b",\r\n" if n else b"[") + orjson.dumps(chunk, option=orjson.OPT_INDENT_2)
        yield b"\n]"

    return StreamingResponse(body(), media_type="application/json")
