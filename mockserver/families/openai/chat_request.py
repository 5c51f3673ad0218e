"""Read a validated chat-completions body into `ChatRequest`, refusing what the schema cannot express.

The contract's schema already checked types and shapes (jsonschema-rs, in the pipeline); this module
adds the cross-field rules OpenAI and the gateway enforce (tool_choice needs tools, a named function
must exist, json_object needs the word "json", tool results must answer a tool call, data URLs must
hold an image), each refused with a 400 naming the field.
"""

from __future__ import annotations

import binascii
import dataclasses
import re
from typing import TYPE_CHECKING, Any

from mockserver.families.openai.common import content_text, is_gemini, reasoning_mode

if TYPE_CHECKING:
    from mockserver.pipeline import Call

# Function names new-api turns into Gemini's built-in tools instead of function declarations.
GEMINI_MAGIC_TOOLS = frozenset({"googleSearch", "codeExecution", "urlContext"})
IMAGE_MIME = frozenset({"image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp"})
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")
_URL = re.compile(r"https?://[^\s)\"'<>]+")
_JSON_WORD = re.compile(r"json", re.IGNORECASE)


@dataclasses.dataclass
class ChatRequest:
    """What the reply depends on, read once from the body."""

    model: str
    messages: list[dict[str, Any]]
    n: int = 1
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    # Callable functions (name → parameters schema), Gemini magic tools excluded.
    functions: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    descriptions: dict[str, str] = dataclasses.field(default_factory=dict)
    magic: frozenset[str] = frozenset()
    # "none" | "auto" | "required" | "named"
    tool_choice: str = "auto"
    forced: str | None = None
    legacy_functions: bool = False
    response_format: str | None = None
    schema: dict[str, Any] | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    reasoning: str | None = None
    prompt: str = ""
    images: int = 0
    after_tool_result: bool = False
    # False when the body says `parallel_tool_calls: false` (one call at most).
    parallel_tool_calls: bool = True

    @property
    def urls(self) -> list[str]:
        return _URL.findall(self.prompt)


def parse_chat_request(call: Call) -> ChatRequest:
    """Build a `ChatRequest` from `call.body` (already schema-valid) or raise a 400 naming the field."""
    body: dict[str, Any] = call.body
    model: str = body["model"]
    messages: list[dict[str, Any]] = body["messages"]
    req = ChatRequest(model=model, messages=messages)
    req.n = body.get("n") or 1
    req.stream = bool(body.get("stream"))
    options = body.get("stream_options")
    if options is not None and not req.stream:
        raise call.error(
            400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options"
        )
    req.include_usage = bool(options and options.get("include_usage"))
    limit, other = body.get("max_tokens"), body.get("max_completion_tokens")
    req.max_tokens = limit if other is None else other if limit is None else min(limit, other)
    stop = body.get("stop")
    if stop:
        req.stop = (stop,) if isinstance(stop, str) else tuple(s for s in stop if s)
    req.logprobs = bool(body.get("logprobs"))
    top = body.get("top_logprobs")
    req.top_logprobs = top or 0
    if top is not None and not req.logprobs:
        raise call.error(400, "'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")
    req.reasoning = reasoning_mode(model, body)
    _read_messages(call, req)
    _read_tools(call, req, body)
    _read_response_format(call, req, body)
    return req


def _read_messages(call: Call, req: ChatRequest) -> None:
    tool_call_ids: set[str] = set()
    last_user = ""
    for i, message in enumerate(req.messages):
        role = message["role"]
        content = message.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if part.get("type") == "image_url":
                    req.images += 1
                    check_image_url(call, part["image_url"], f"messages[{i}].content[{j}].image_url")
        if role == "user":
            last_user = content if isinstance(content, str) else content_text(content)
        elif role == "assistant":
            for tc in message.get("tool_calls") or ():
                tool_call_ids.add(tc["id"])
        elif role == "tool" and message["tool_call_id"] not in tool_call_ids:
            raise call.error(
                400,
                "Invalid parameter: messages with role 'tool' must be a response to a preceding message with "
                f"'tool_calls' (no tool call has id {message['tool_call_id']!r}).",
                param=f"messages[{i}].tool_call_id",
            )
    req.prompt = last_user
    req.after_tool_result = req.messages[-1]["role"] in ("tool", "function")


def check_image_url(call: Call, image: Any, where: str) -> None:
    """An image part must be an http(s) URL or a well-formed base64 data URL of an image."""
    url: str = image["url"] if isinstance(image, dict) else image
    field = f"{where}.url" if isinstance(image, dict) else where
    if url.startswith(("http://", "https://")):
        return
    if not url.startswith("data:"):
        raise call.error(
            400,
            "Invalid image URL: expected an http(s) URL or a base64 data URL.",
            param=field,
            code="invalid_image_url",
        )
    header, sep, data = url[5:].partition(",")
    mime, _, encoding = header.partition(";")
    if not sep or encoding.lower() != "base64":
        raise call.error(
            400,
            "Invalid image data URL: expected data:image/<format>;base64,<data>.",
            param=field,
            code="invalid_image_url",
        )
    if mime.lower() not in IMAGE_MIME:
        raise call.error(
            400,
            f"Invalid image data URL: unsupported MIME type {mime or 'none'!r}; use image/png, image/jpeg, "
            "image/gif or image/webp.",
            param=field,
            code="invalid_image_format",
        )
    try:
        raw = binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        raise call.error(
            400, "Invalid image data URL: the data is not valid base64.", param=field, code="invalid_image_url"
        ) from None
    if not raw.startswith(_IMAGE_SIGNATURES):
        raise call.error(
            400,
            "You uploaded an unsupported image. Please make sure your image is valid (the data is not a PNG, JPEG, "
            "GIF or WebP file).",
            param=field,
            code="invalid_image_format",
        )


def _read_tools(call: Call, req: ChatRequest, body: dict[str, Any]) -> None:
    if "tools" not in body and "functions" not in body and "tool_choice" not in body:
        req.tool_choice = "none"  # the common plain request: nothing to call
        return
    tools = body.get("tools") or []
    magic: set[str] = set()
    gemini = is_gemini(req.model)
    for i, tool in enumerate(tools):
        if tool["type"] != "function":
            continue
        function = tool["function"]
        name = function["name"]
        if gemini and name in GEMINI_MAGIC_TOOLS:
            magic.add(name)
            continue
        if name in req.functions:
            raise call.error(400, f"Duplicate function name {name!r} in 'tools'.", param=f"tools[{i}].function.name")
        req.functions[name] = function.get("parameters") or {"type": "object", "properties": {}}
        req.descriptions[name] = function.get("description") or ""
    req.magic = frozenset(magic)
    req.parallel_tool_calls = body.get("parallel_tool_calls") is not False
    if not tools and body.get("functions"):
        req.legacy_functions = True
        for function in body["functions"]:
            req.functions[function["name"]] = function.get("parameters") or {"type": "object", "properties": {}}
            req.descriptions[function["name"]] = function.get("description") or ""
    choice = body.get("tool_choice") if not req.legacy_functions else body.get("function_call")
    field = "function_call" if req.legacy_functions else "tool_choice"
    if choice is None:
        req.tool_choice = "auto" if req.functions else "none"
        return
    if not tools and not req.legacy_functions:
        raise call.error(
            400,
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            param=field,
        )
    if isinstance(choice, str):
        req.tool_choice = choice
    else:
        name = choice["name"] if req.legacy_functions else (choice.get("function") or {}).get("name")
        if name is None:  # allowed_tools / custom: let the model decide
            req.tool_choice = "auto"
        elif name in req.functions or name in req.magic:
            req.tool_choice, req.forced = "named", name
        else:
            raise call.error(
                400,
                f"Invalid value for '{field}': no function named {name!r} was specified in the "
                f"'{'functions' if req.legacy_functions else 'tools'}' parameter.",
                param=field,
            )
    if req.forced in req.magic:
        req.tool_choice, req.forced = "auto", None
    if not req.functions and req.tool_choice in ("auto", "required"):
        req.tool_choice = "none"


def _read_response_format(call: Call, req: ChatRequest, body: dict[str, Any]) -> None:
    fmt = body.get("response_format")
    if not fmt or fmt["type"] == "text":
        return
    req.response_format = fmt["type"]
    if fmt["type"] == "json_schema":
        req.schema = fmt["json_schema"].get("schema") or {"type": "object", "properties": {}}
        return
    if not any(_JSON_WORD.search(content_text(m.get("content"))) for m in req.messages):
        raise call.error(
            400,
            "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
            param="messages",
        )
