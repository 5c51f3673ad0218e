"""Building a Gemini `GenerateContentResponse`: text, thoughts, function calls, JSON for a schema,
Google Search grounding, URL context metadata, TTS audio and `usageMetadata`.

`plan` reads what the request asks for (refusing impossible combinations the way Google does);
`respond` draws every candidate from the call's RNG.
"""

from __future__ import annotations

import base64
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from mockserver.content.text import count_tokens, reply, truncate_tokens
from mockserver.errors import ApiError
from mockserver.families.gemini.models import GeminiModel
from mockserver.families.gemini.request import AUDIO_TOKENS_PER_SECOND, Prompt, json_schema
from mockserver.families.shared import intent, native
from mockserver.pipeline import Call

PCM_MIME = "audio/L16;codec=pcm;rate=24000"
DEFAULT_VOICE = "Kore"
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY", "tool_calls": "STOP"}
_GEN = "generationConfig"
# Speech rate used to size the spoken text before synthesis (the synthetic voice says ~2.7 words/s).
_WORDS_PER_SECOND = 3.0


@dataclass
class Plan:
    """What the request asks for, read once."""

    audio: bool = False
    voice: str = DEFAULT_VOICE
    mime: str = "text/plain"
    schema: Any = None
    thinks: bool = False
    thought_budget: int = -1
    include_thoughts: bool = False
    functions: list[Mapping[str, Any]] = field(default_factory=list)
    function_mode: str = "AUTO"
    google_search: bool = False
    url_context: bool = False
    stop_sequences: list[str] = field(default_factory=list)
    max_output_tokens: int | None = None
    candidates: int = 1
    output_limit: int = 65_536


def _refuse(message: str, param: str) -> ApiError:
    return ApiError(400, message, param=param)


def _voice(speech: Mapping[str, Any]) -> str:
    voice = (speech.get("voiceConfig") or {}).get("prebuiltVoiceConfig") or {}
    if voice.get("voiceName"):
        return str(voice["voiceName"])
    speakers = (speech.get("multiSpeakerVoiceConfig") or {}).get("speakerVoiceConfigs") or []
    for speaker in speakers:
        name = ((speaker.get("voiceConfig") or {}).get("prebuiltVoiceConfig") or {}).get("voiceName")
        if name:
            return str(name)
    return DEFAULT_VOICE


def _thinking(plan: Plan, model: GeminiModel, config: Mapping[str, Any]) -> None:
    thinking = config.get("thinkingConfig") or {}
    budget = thinking.get("thinkingBudget")
    if budget == 0:
        if model.must_think:
            raise _refuse(
                "Budget 0 is invalid. This model only works in thinking mode.",
                f"{_GEN}.thinkingConfig.thinkingBudget",
            )
        plan.thinks = False
    elif budget is not None or thinking.get("thinkingLevel"):
        plan.thinks = model.kind == "text"
    else:
        plan.thinks = model.thinks
    plan.thought_budget = int(budget) if isinstance(budget, int) and budget > 0 else -1
    plan.include_thoughts = bool(thinking.get("includeThoughts")) and plan.thinks


def _output(plan: Plan, model: GeminiModel, config: Mapping[str, Any]) -> None:
    modalities = {str(m).upper() for m in config.get("responseModalities") or ()}
    plan.audio = "AUDIO" in modalities
    if model.kind == "tts" and not plan.audio:
        raise _refuse(
            f"models/{model.id} only generates audio: set generationConfig.responseModalities to ['AUDIO']",
            f"{_GEN}.responseModalities",
        )
    if plan.audio and model.kind != "tts":
        raise _refuse(
            f"models/{model.id} does not support the requested response modality AUDIO; use a TTS model",
            f"{_GEN}.responseModalities",
        )
    plan.voice = _voice(config.get("speechConfig") or {})
    plan.mime = str(config.get("responseMimeType") or "text/plain")
    if "responseSchema" in config and "responseJsonSchema" in config:
        raise _refuse("responseSchema and responseJsonSchema cannot both be set", f"{_GEN}.responseJsonSchema")
    schema = config.get("responseJsonSchema")
    if schema is None and config.get("responseSchema") is not None:
        schema = json_schema(config["responseSchema"])
    if schema is not None and plan.mime not in ("application/json", "text/x.enum"):
        raise _refuse(
            "response_mime_type must be 'application/json' or 'text/x.enum' when a response schema is set",
            f"{_GEN}.responseMimeType",
        )
    plan.schema = schema
    plan.stop_sequences = [str(s) for s in config.get("stopSequences") or ()]
    plan.max_output_tokens = config.get("maxOutputTokens")
    plan.candidates = int(config.get("candidateCount") or 1)
    plan.output_limit = min(model.output_limit, int(plan.max_output_tokens or model.output_limit))


def plan(body: Mapping[str, Any], model: GeminiModel, prompt_tokens: int = 0) -> Plan:
    """Read a (camelCase) request; refuse what Google refuses, naming the field."""
    out = Plan()
    config = body.get(_GEN) or {}
    if prompt_tokens > model.input_limit:
        raise _refuse(
            f"The input token count ({prompt_tokens}) exceeds the maximum number of tokens allowed "
            f"({model.input_limit}).",
            "contents",
        )
    _thinking(out, model, config)
    _output(out, model, config)
    for tool in body.get("tools") or ():
        out.functions.extend(tool.get("functionDeclarations") or ())
        out.google_search = out.google_search or "googleSearch" in tool or "googleSearchRetrieval" in tool
        out.url_context = out.url_context or "urlContext" in tool
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    out.function_mode = str(calling.get("mode") or "AUTO")
    allowed = calling.get("allowedFunctionNames")
    if allowed:
        unknown = [n for n in allowed if n not in {f.get("name") for f in out.functions}]
        if unknown:
            raise _refuse(
                f"allowed_function_names {unknown} are not among the function declarations",
                "toolConfig.functionCallingConfig.allowedFunctionNames",
            )
        out.functions = [f for f in out.functions if f.get("name") in allowed]
    return out


# ---------------------------------------------------------------------------------------------
# One candidate


@dataclass
class Draft:
    """A candidate being built and what it cost."""

    parts: list[dict[str, Any]] = field(default_factory=list)
    finish: str = "STOP"
    output_tokens: int = 0
    thought_tokens: int = 0
    tool_tokens: int = 0
    audio: bool = False
    grounding: dict[str, Any] | None = None
    url_metadata: dict[str, Any] | None = None


def _speech(text: str, voice: str, max_tokens: int) -> tuple[str, int, bool]:
    """Base64 PCM (24 kHz, 16-bit, mono, little-endian) of `text` spoken, its token cost, and whether
    the speech was cut to fit `max_tokens` (32 tokens a second)."""
    from mockserver.content.audio import RATE, speech_notes, synthesize

    words = text.split()
    cap = max(1, int(max_tokens / AUDIO_TOKENS_PER_SECOND * _WORDS_PER_SECOND))
    cut = len(words) > cap
    samples = synthesize(speech_notes(" ".join(words[:cap]) if cut else text, voice=voice.lower()))
    limit = int(max_tokens / AUDIO_TOKENS_PER_SECOND * RATE)
    if len(samples) > limit:
        samples, cut = samples[:limit], True
    if sys.byteorder != "little":
        samples.byteswap()
    seconds = len(samples) / RATE
    tokens = max(1, math.ceil(seconds * AUDIO_TOKENS_PER_SECOND))
    return base64.b64encode(samples.tobytes()).decode("ascii"), tokens, cut


def _add_thoughts(call: Call, p: Plan, prompt: Prompt, draft: Draft) -> None:
    stub_reasoning = (call.stub or {}).get("reasoning")
    if not (p.thinks or stub_reasoning):
        return
    summary = str(stub_reasoning or native.thinking_text(call.rng, prompt.text))
    tokens = count_tokens(summary) * 4
    if p.thought_budget > 0:
        tokens = min(tokens, p.thought_budget)
    draft.thought_tokens = tokens
    if p.include_thoughts or stub_reasoning:
        draft.parts.append({"text": summary, "thought": True})


def _function_calls(call: Call, p: Plan, prompt: Prompt) -> list[dict[str, Any]]:
    stub = call.stub or {}
    if stub.get("tool_calls"):
        return [
            {"name": str(c["name"]), "args": native.stub_arguments(c.get("arguments", c.get("args")))}
            for c in stub["tool_calls"]
        ]
    if not p.functions or p.function_mode == "NONE" or stub.get("content") is not None:
        return []
    if p.function_mode not in ("ANY",) and prompt.function_response:
        return []
    named = []
    for decl in intent.choose_tools(p.functions, prompt.text, parallel=True):
        schema = decl.get("parametersJsonSchema")
        if schema is None and decl.get("parameters") is not None:
            schema = json_schema(decl["parameters"])
        named.append((str(decl["name"]), schema))
    return [
        {"name": name, "args": args} for name, args in intent.tool_calls(named, prompt.text, call.rng, parallel=True)
    ]


def _grounded_text(call: Call, prompt: Prompt, draft: Draft) -> str:
    """Search-grounded text: one sentence per source, each backed by a grounding support."""
    rng = call.rng
    query = native.search_query(prompt.text)
    hits = native.web_hits(rng, query, 3)
    text = f"Here is what I found about {query}."
    supports: list[dict[str, Any]] = []
    for index, hit in enumerate(hits[:2]):
        start = len(text.encode("utf-8")) + 1
        text += " " + hit.snippet
        supports.append(
            {
                "segment": {"startIndex": start, "endIndex": len(text.encode("utf-8")), "text": hit.snippet},
                "groundingChunkIndices": [index],
                "confidenceScores": [round(0.7 + rng.random() * 0.29, 3)],
            }
        )
    chip = f'<a class="chip" href="https://www.google.com/search?q={quote_plus(query)}">{query}</a>'
    draft.grounding = {
        "webSearchQueries": [query],
        "searchEntryPoint": {"renderedContent": f'<div class="container">{chip}</div>'},
        "groundingChunks": [
            {
                "web": {
                    "uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"
                    + native.signature(rng, 36).replace("/", "_").replace("+", "-").rstrip("="),
                    "title": hit.domain,
                }
            }
            for hit in hits
        ],
        "groundingSupports": supports,
    }
    draft.tool_tokens += 90 * len(hits)
    return text


def _url_context_text(prompt: Prompt, draft: Draft) -> str:
    urls = native.urls_in(prompt.text)
    if not urls:
        return ""
    metadata = []
    lines = []
    for url in urls:
        failed = native.unreachable(url)
        status = "URL_RETRIEVAL_STATUS_ERROR" if failed else "URL_RETRIEVAL_STATUS_SUCCESS"
        metadata.append({"retrievedUrl": url, "urlRetrievalStatus": status})
        host = native.url_host(url) or url
        lines.append(f"I could not retrieve {url}." if failed else f"The page on {host} was read.")
        draft.tool_tokens += 0 if failed else 400
    draft.url_metadata = {"urlMetadata": metadata}
    return " ".join(lines) + " "


def _text(call: Call, p: Plan, prompt: Prompt, draft: Draft) -> str:
    stub = call.stub or {}
    if stub.get("json") is not None:
        return native.json_text(stub["json"])
    if stub.get("content") is not None:
        return str(stub["content"])
    if p.mime == "text/x.enum" and isinstance(p.schema, Mapping) and p.schema.get("enum"):
        return str(call.rng.choice(p.schema["enum"]))
    if p.mime == "application/json":
        if p.schema is not None:
            return intent.structured_text(p.schema, call.rng, prompt.text)
        implied = intent.implied_json(prompt.instructions, prompt.text, call.rng, json_mode=True)
        return implied or native.json_text({"answer": reply(call.rng, prompt.text, sentences=1)})
    implied = intent.implied_json(prompt.instructions, prompt.text, call.rng, json_mode=False)
    if implied is not None:
        return implied
    lead = _url_context_text(prompt, draft) if p.url_context else ""
    if p.google_search:
        return lead + _grounded_text(call, prompt, draft)
    if prompt.function_response:
        return lead + intent.after_results(prompt.results, call.rng, native.without_urls(prompt.text))
    return lead + reply(call.rng, native.without_urls(prompt.text))


def candidate(call: Call, p: Plan, prompt: Prompt) -> Draft:
    """One candidate: thoughts, then function calls, audio or text."""
    draft = Draft()
    _add_thoughts(call, p, prompt, draft)
    calls = _function_calls(call, p, prompt)
    if calls:
        for n, fc in enumerate(calls):
            part: dict[str, Any] = {"functionCall": fc}
            if n == 0 and draft.thought_tokens:
                part["thoughtSignature"] = native.signature(call.rng)
            draft.parts.append(part)
            draft.output_tokens += count_tokens(native.json_text(fc))
    elif p.audio:
        spoken = str((call.stub or {}).get("content") or prompt.text)
        data, tokens, cut = _speech(spoken, p.voice, p.output_limit)
        draft.parts.append({"inlineData": {"mimeType": PCM_MIME, "data": data}})
        draft.output_tokens, draft.audio = tokens, True
        draft.finish = "MAX_TOKENS" if cut else draft.finish
    else:
        text, seq = native.first_sequence(_text(call, p, prompt, draft), p.stop_sequences)
        if p.max_output_tokens is not None:
            text, cut = truncate_tokens(text, p.max_output_tokens - draft.thought_tokens)
            draft.finish = "MAX_TOKENS" if cut and seq is None else draft.finish
        if text:
            draft.parts.append({"text": text})
        draft.output_tokens = count_tokens(text)
    finish = (call.stub or {}).get("finish_reason")
    if finish:
        draft.finish = _FINISH.get(str(finish), str(finish).upper())
    return draft


def respond(call: Call, model_id: str, p: Plan, prompt: Prompt) -> dict[str, Any]:
    """The whole `GenerateContentResponse`."""
    drafts = [candidate(call, p, prompt) for _ in range(p.candidates)]
    candidates = []
    for index, draft in enumerate(drafts):
        content: dict[str, Any] = {"role": "model"}
        if draft.parts:
            content = {"parts": draft.parts, "role": "model"}
        entry: dict[str, Any] = {"content": content, "finishReason": draft.finish, "index": index}
        if draft.grounding:
            entry["groundingMetadata"] = draft.grounding
        if draft.url_metadata:
            entry["urlContextMetadata"] = draft.url_metadata
        candidates.append(entry)
    output = sum(d.output_tokens for d in drafts)
    thoughts = sum(d.thought_tokens for d in drafts)
    tools = sum(d.tool_tokens for d in drafts)
    usage: dict[str, Any] = {
        "promptTokenCount": prompt.total,
        "candidatesTokenCount": output,
        "totalTokenCount": prompt.total + output + thoughts + tools,
        "promptTokensDetails": prompt.details() or [{"modality": "TEXT", "tokenCount": prompt.total}],
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if tools:
        usage["toolUsePromptTokenCount"] = tools
    if any(d.audio for d in drafts):
        usage["candidatesTokensDetails"] = [{"modality": "AUDIO", "tokenCount": output}]
    return {
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": model_id,
        "responseId": call.new_id("", 22),
    }
