"""Decide what one chat choice says: text, tool calls, structured JSON, reasoning, Gemini built-in tools.

`plan_reply` is pure given the request and an RNG: a content stub wins, then forced or likely tool
calls, then structured output, then the model's own kind of answer (generated image, grounded search,
executed code, URL context, vision, plain text). `fit_reply` then applies `stop` and the token budget.
"""

from __future__ import annotations

import base64
import dataclasses
import random
from typing import Any

import orjson

from mockserver import media
from mockserver.content import text, tool_use
from mockserver.content.text import count_tokens, truncate_tokens
from mockserver.families.openai import chat_intent
from mockserver.families.openai.chat_request import ChatRequest
from mockserver.families.openai.common import GENERATED_IMAGE_TOKENS, fast_reply, is_image_chat_model, random_id

_SCENES = (
    "a small logo on a light background with bold lettering",
    "an outdoor scene with a wide horizon and a few buildings",
    "a product photo of a single object on a plain table",
    "a chart with several coloured bars and a short legend",
    "a portrait-style photo with soft lighting",
    "a screenshot of an application window with a toolbar",
)
_THOUGHTS = (
    "First I should restate what is being asked.",
    "The question has a few parts, so I will take them one at a time.",
    "Let me check whether any detail in the prompt changes the answer.",
    "A short, direct answer will serve best here.",
    "I should make sure the answer is consistent with the earlier messages.",
)


@dataclasses.dataclass
class Reply:
    """One choice before it is put in the wire format."""

    content: str | None = None
    reasoning: str | None = None
    # (id, name, JSON-encoded arguments)
    tool_calls: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    legacy_function: bool = False
    finish_reason: str = "stop"
    # Tokens the text does not show (a generated image, hidden reasoning).
    extra_tokens: int = 0
    hidden_reasoning: int = 0
    # Token count of `content` when the generator already knows it (-1: count it).
    content_tokens: int = -1
    tokens: int = 0

    def completion_tokens(self) -> int:
        """Every token of this choice (set by `fit_reply`)."""
        return self.tokens

    def reasoning_tokens(self) -> int:
        return self.hidden_reasoning + (count_tokens(self.reasoning) if self.reasoning else 0)


def plan_reply(req: ChatRequest, stub: dict[str, Any] | None, rng: random.Random) -> Reply:
    """What this choice says, before `stop` and `max_tokens` are applied."""
    reply = _from_stub(req, stub, rng) if stub else None
    if reply is None:
        reply = _generate(req, rng)
    if reply.reasoning is None and req.reasoning == "visible" and not (stub and "reasoning" in stub):
        reply.reasoning = " ".join(rng.sample(_THOUGHTS, 3))
    if req.reasoning == "hidden":
        reply.hidden_reasoning = rng.randint(2, 12) * 32
    return reply


def _from_stub(req: ChatRequest, stub: dict[str, Any], rng: random.Random) -> Reply | None:
    """A content stub's reply: `content`, `json`, `tool_calls`, `reasoning`, `finish_reason`."""
    reply = Reply(reasoning=stub.get("reasoning"))
    if "json" in stub:
        reply.content = orjson.dumps(stub["json"]).decode()
    elif "content" in stub:
        reply.content = stub["content"]
    for call in stub.get("tool_calls") or ():
        arguments = call.get("arguments", {})
        encoded = arguments if isinstance(arguments, str) else orjson.dumps(arguments).decode()
        reply.tool_calls.append((_call_id(rng), str(call["name"]), encoded))
    if reply.tool_calls:
        reply.legacy_function = req.legacy_functions
        reply.finish_reason = "function_call" if req.legacy_functions else "tool_calls"
    elif reply.content is None and reply.reasoning is None:
        return None  # the stub fixes something this operation has no use for: generate as usual
    elif reply.content is None:
        reply.content = text.reply(rng, req.prompt)
    if stub.get("finish_reason"):
        reply.finish_reason = str(stub["finish_reason"])
    return reply


def _generate(req: ChatRequest, rng: random.Random) -> Reply:
    names = chat_intent.pick_functions(req, rng) if req.functions else []
    if names:
        calls = chat_intent.function_calls(req, names, rng)
        reply = Reply(tool_calls=[(_call_id(rng), name, arguments) for name, arguments in calls])
        reply.legacy_function = req.legacy_functions
        reply.finish_reason = "function_call" if req.legacy_functions else "tool_calls"
        return reply
    # Only a request that asks for JSON (a response_format, or the word in its instructions) looks for a shape.
    if req.response_format or chat_intent.asks_for_json(req):
        document = chat_intent.json_content(req, rng)
        if document is not None:
            return Reply(content=document)
    if req.response_format == "json_object":
        document = orjson.dumps(
            {"answer": text.reply(rng, req.prompt, sentences=1), "keywords": text.keywords(req.prompt)}
        ).decode()
        return Reply(content=document)
    if req.after_tool_result and not req.images:
        results = chat_intent.tool_results(req)
        if results:
            return Reply(content=tool_use.result_reply(results) + " " + text.reply(rng, req.prompt, sentences=1))
    if is_image_chat_model(req.model):
        return _generated_image(req, rng)
    if "codeExecution" in req.magic:
        return Reply(content=_code_execution(req, rng))
    if "googleSearch" in req.magic:
        return Reply(content="According to recent search results, " + _lower_first(text.reply(rng, req.prompt)))
    if "urlContext" in req.magic and req.urls:
        pages = ", ".join(req.urls[:3])
        return Reply(content=f"I read {pages}. " + text.reply(rng, req.prompt))
    if req.images:
        scene = rng.choice(_SCENES)
        lead = (
            f"The image shows {scene}." if req.images == 1 else f"The first of the {req.images} images shows {scene}."
        )
        answer, tokens = fast_reply(rng, req.prompt, sentences=2)
        return Reply(content=f"{lead} {answer}", content_tokens=count_tokens(lead) + tokens)
    answer, tokens = fast_reply(rng, req.prompt)
    return Reply(content=answer, content_tokens=tokens)


def _generated_image(req: ChatRequest, rng: random.Random) -> Reply:
    """new-api returns a Gemini inline image as a Markdown image with a data URL in the content."""
    recipe = {"w": 1024, "h": 1024, "s": f"chat-image-{rng.getrandbits(48)}", "f": "png"}
    data, mime = media.render("image", recipe)
    encoded = base64.b64encode(data).decode("ascii")
    lead = "Here is the image you asked for."
    return Reply(content=f"{lead}\n\n![image](data:{mime};base64,{encoded})", extra_tokens=GENERATED_IMAGE_TOKENS)


def _code_execution(req: ChatRequest, rng: random.Random) -> str:
    """Code the model 'ran' and its real output, folded into the content as new-api does."""
    values = [rng.randint(2, 99) for _ in range(rng.randint(4, 7))]
    code = f"values = {values}\ntotal = sum(values)\nprint(total)"
    return (
        "I wrote and ran a short program for this.\n"
        f"```python\n{code}\n```\n"
        f"```\n{sum(values)}\n```\n"
        f"The program printed {sum(values)}. " + text.reply(rng, req.prompt, sentences=1)
    )


def fit_reply(reply: Reply, req: ChatRequest) -> None:
    """Apply `stop` sequences and the `max_tokens` budget (finish_reason "length" when cut), then count."""
    if reply.content and req.stop and not reply.tool_calls:
        cut = min((i for i in (reply.content.find(s) for s in req.stop) if i >= 0), default=-1)
        if cut >= 0:
            reply.content, reply.content_tokens = reply.content[:cut], -1
            reply.finish_reason = "stop"
    budget = req.max_tokens
    reasoning = count_tokens(reply.reasoning) if reply.reasoning else 0
    content = reply.content_tokens
    if content < 0:
        content = count_tokens(reply.content) if reply.content else 0
    if budget is not None and reply.reasoning and req.reasoning == "visible" and reasoning > budget:
        reply.reasoning, _ = truncate_tokens(reply.reasoning, budget)
        reasoning, content = budget, 0
        reply.content, reply.tool_calls, reply.finish_reason = "", [], "length"
    elif budget is not None:
        budget -= reasoning if req.reasoning == "visible" else 0
        if reply.content and not reply.extra_tokens and content > budget:
            reply.content, _ = truncate_tokens(reply.content, budget)
            content, reply.finish_reason = budget, "length"
        budget -= content
        reply.tool_calls = _fit_tool_calls(reply, budget)
    reply.tokens = reasoning + content + reply.extra_tokens + reply.hidden_reasoning
    reply.tokens += sum(count_tokens(name) + count_tokens(arguments) for _, name, arguments in reply.tool_calls)


def _fit_tool_calls(reply: Reply, budget: int) -> list[tuple[str, str, str]]:
    kept: list[tuple[str, str, str]] = []
    for call_id, name, arguments in reply.tool_calls:
        cost = count_tokens(name) + count_tokens(arguments)
        if cost <= budget:
            kept.append((call_id, name, arguments))
            budget -= cost
            continue
        partial, _ = truncate_tokens(arguments, max(0, budget - count_tokens(name)))
        kept.append((call_id, name, partial))
        reply.finish_reason = "length"
        break
    return kept


def _call_id(rng: random.Random) -> str:
    return random_id(rng, "call_", 24)


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:]
