"""Reading an Anthropic Messages request: the conversation, its images and tool results, and the
checks Anthropic makes beyond the schema (each refusal names the field, Anthropic-style
`messages.N.content.M`)."""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.content.text import count_tokens
from mockserver.errors import ApiError
from mockserver.families.shared.native import url_host

_IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
# Tokens an image costs: Anthropic's (width * height) / 750, capped where images are downscaled.
_MAX_IMAGE_TOKENS = 1600
_URL_IMAGE_TOKENS = 1200


@dataclass
class Conversation:
    """What the answer depends on: the last user turn, whether it returns tool results, images seen."""

    prompt: str = ""
    tool_results: bool = False
    images: list[str] = field(default_factory=list)
    input_tokens: int = 0


def _blocks(content: Any) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, Mapping)]


def _block_text(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "thinking":
        return str(block.get("thinking", ""))
    if kind in ("tool_use", "server_tool_use"):
        return str(block.get("name", "")) + json.dumps(block.get("input", {}))
    if kind == "tool_result":
        inner = block.get("content")
        if isinstance(inner, str):
            return inner
        return " ".join(str(b.get("text", "")) for b in inner or () if isinstance(b, Mapping))
    return ""


def _image(block: Mapping[str, Any], where: str) -> tuple[str, int]:
    """Describe an image block and its token cost; refuse data that is not the image it claims to be."""
    source = block.get("source") or {}
    if source.get("type") == "url":
        host = url_host(str(source.get("url", "")))
        if host is None:
            raise _invalid(f"{where}.source.url: Invalid image URL", f"{where}.source.url")
        return f"an image from {host}", _URL_IMAGE_TOKENS
    if source.get("type") != "base64":
        return "an uploaded image", _URL_IMAGE_TOKENS
    from PIL import Image, UnidentifiedImageError

    try:
        raw = base64.b64decode(str(source.get("data", "")), validate=True)
        with Image.open(io.BytesIO(raw)) as img:
            width, height, fmt = img.width, img.height, str(img.format)
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        raise _invalid(f"{where}.source.data: Could not process image", f"{where}.source.data") from None
    declared = source.get("media_type")
    actual = _IMAGE_TYPES.get(fmt)
    if actual != declared:
        raise _invalid(
            f"{where}.source: Image does not match the provided media type {declared}", f"{where}.source.media_type"
        )
    tokens = min(_MAX_IMAGE_TOKENS, max(1, math.ceil(width * height / 750)))
    return f"a {width}x{height} {fmt} image", tokens


def _invalid(message: str, param: str) -> ApiError:
    return ApiError(400, message, param=param, type="invalid_request_error")


def read_conversation(body: Mapping[str, Any]) -> Conversation:
    """Walk the messages once: token count, the last user turn, images, and tool_result pairing."""
    conv = Conversation()
    system = body.get("system")
    if system:
        conv.input_tokens += count_tokens(
            system if isinstance(system, str) else " ".join(_block_text(b) for b in system)
        )
    for tool in body.get("tools") or ():
        conv.input_tokens += count_tokens(json.dumps(tool))
    messages = body["messages"]
    previous_tool_ids: set[str] = set()
    for i, message in enumerate(messages):
        blocks = _blocks(message["content"])
        texts: list[str] = []
        images: list[str] = []
        has_results = False
        for j, block in enumerate(blocks):
            where = f"messages.{i}.content.{j}"
            kind = block.get("type")
            if kind == "image":
                description, tokens = _image(block, where)
                images.append(description)
                conv.input_tokens += tokens
                continue
            if kind == "tool_result":
                has_results = True
                tool_use_id = str(block.get("tool_use_id"))
                if message["role"] != "user" or tool_use_id not in previous_tool_ids:
                    raise _invalid(
                        f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: {tool_use_id}. Each "
                        "`tool_result` block must have a corresponding `tool_use` block in the previous message.",
                        f"{where}.tool_use_id",
                    )
            text = _block_text(block)
            conv.input_tokens += count_tokens(text)
            if kind in ("text", "tool_result"):
                texts.append(text)
        previous_tool_ids = {
            str(b.get("id")) for b in blocks if message["role"] == "assistant" and b.get("type") == "tool_use"
        }
        if message["role"] == "user":
            conv.prompt = " ".join(texts)
            conv.images = images
            conv.tool_results = has_results
    conv.input_tokens = max(1, conv.input_tokens)
    return conv


def check_request(body: Mapping[str, Any]) -> None:
    """Refuse what Anthropic refuses beyond the schema, naming the field."""
    thinking = body.get("thinking") or {}
    if thinking.get("type") == "enabled":
        budget = int(thinking["budget_tokens"])
        if budget >= body["max_tokens"]:
            raise _invalid(
                f"max_tokens: must be greater than thinking.budget_tokens ({budget}); got {body['max_tokens']}",
                "max_tokens",
            )
        if body.get("temperature") not in (None, 1, 1.0):
            raise _invalid("temperature: may only be set to 1 when thinking is enabled", "temperature")
    tools = body.get("tools") or []
    names = [str(t.get("name")) for t in tools]
    if len(set(names)) != len(names):
        raise _invalid("tools: Tool names must be unique.", "tools")
    choice = body.get("tool_choice") or {}
    if choice.get("type") in ("any", "tool") and not tools:
        raise _invalid("tool_choice: may only be specified while providing tools", "tool_choice")
    if choice.get("type") == "tool" and choice.get("name") not in names:
        raise _invalid(f"tool_choice.name: no tool named {choice.get('name')!r} in tools", "tool_choice.name")
