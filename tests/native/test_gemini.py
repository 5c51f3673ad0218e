"""Gemini through the official google-genai SDK (default v1 and v1beta) and raw HTTP: text, both stream
framings, thinking, structured output, function calling, grounding, URL context, TTS, embeddings,
models, token counting, snake_case bodies and errors in Google's envelope."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import pytest
from google import genai
from google.genai import errors, types
from pydantic import BaseModel
from starlette.testclient import TestClient

from mockserver.contracts import load_contracts
from mockserver.wire import ConnectionDropped

FLASH = "gemini-2.5-flash"
KEY = {"x-goog-api-key": "sk-test"}
PROMPT = "Explain how neural networks learn"
Sse = Callable[[str, str], list[tuple[str | None, Any]]]
MEETING = {
    "name": "schedule_meeting",
    "description": "Schedules a meeting with specified attendees at a given time and date.",
    "parameters": {
        "type": "OBJECT",
        "properties": {
            "attendees": {"type": "ARRAY", "items": {"type": "STRING"}},
            "date": {"type": "STRING"},
            "duration": {"type": "INTEGER", "minimum": 15, "maximum": 120},
            "room": {"type": "STRING", "enum": ["A", "B"], "nullable": True},
        },
        "required": ["attendees", "date", "duration"],
    },
}
MEETING_JSON_SCHEMA = {
    "type": "object",
    "properties": {
        "attendees": {"type": "array", "items": {"type": "string"}},
        "date": {"type": "string"},
        "duration": {"type": "integer", "minimum": 15, "maximum": 120},
        "room": {"enum": ["A", "B", None]},
    },
    "required": ["attendees", "date", "duration"],
}


def text_body(text: str = PROMPT, **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


def test_generate_content_on_the_sdk_default_v1_path(gemini: genai.Client, raw: TestClient) -> None:
    response = gemini.models.generate_content(model=FLASH, contents=PROMPT)
    assert response.text and "neural" in response.text.lower()
    usage = response.usage_metadata
    assert usage is not None and usage.prompt_token_count and usage.candidates_token_count
    assert usage.total_token_count == (
        usage.prompt_token_count + usage.candidates_token_count + (usage.thoughts_token_count or 0)
    )
    assert response.model_version == FLASH and response.response_id
    assert response.candidates and response.candidates[0].finish_reason == types.FinishReason.STOP
    journal = raw.get("/__mock/requests").json()
    paths = [r["path"] for r in (journal["requests"] if isinstance(journal, dict) else journal)]
    assert f"/v1/models/{FLASH}:generateContent" in paths


def test_v1beta_and_every_auth_style(gemini_beta: genai.Client, raw: TestClient) -> None:
    assert gemini_beta.models.generate_content(model=FLASH, contents="hi").text
    path = f"/v1beta/models/{FLASH}:generateContent"
    assert raw.post(path + "?key=sk-test", json=text_body()).status_code == 200
    assert raw.post(path, json=text_body(), headers={"Authorization": "Bearer sk-test"}).status_code == 200
    missing = raw.post(path, json=text_body())
    assert missing.status_code == 401 and missing.json()["error"]["status"] == "UNAUTHENTICATED"


def test_sse_stream_conforms_and_ends_with_usage(raw: TestClient, sse_checked: Sse) -> None:
    path = f"/v1beta/models/{FLASH}:streamGenerateContent?alt=sse"
    events = sse_checked("gemini_stream_generate_content", raw.post(path, json=text_body(), headers=KEY).text)
    assert len(events) > 2 and all(name is None for name, _ in events)
    last = events[-1][1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert all("finishReason" not in d["candidates"][0] for _, d in events[:-1])
    streamed = "".join(
        p["text"] for _, d in events for p in d["candidates"][0]["content"]["parts"] if not p.get("thought")
    )
    assert last["usageMetadata"]["candidatesTokenCount"] > 0 and streamed.strip()


def test_json_array_stream_is_one_valid_array(raw: TestClient) -> None:
    answer = raw.post(f"/v1/models/{FLASH}:streamGenerateContent", json=text_body(), headers=KEY)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    chunks = json.loads(answer.text)
    contract = load_contracts().get("gemini_stream_generate_content")
    assert not contract.validate_response(200, chunks)
    for chunk in chunks:
        assert not contract.validate_event(None, chunk)
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_sdk_stream(gemini: genai.Client) -> None:
    chunks = list(gemini.models.generate_content_stream(model=FLASH, contents=PROMPT))
    assert len(chunks) > 2
    text = "".join(c.text or "" for c in chunks)
    assert "neural" in text.lower()
    final = chunks[-1].usage_metadata
    assert final is not None and final.candidates_token_count


def test_thinking_parts_and_counts(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=128)
    )
    response = gemini.models.generate_content(model=FLASH, contents=PROMPT, config=config)
    assert response.candidates and response.candidates[0].content and response.candidates[0].content.parts
    parts = response.candidates[0].content.parts
    assert parts[0].thought is True and parts[0].text and not parts[-1].thought
    usage = response.usage_metadata
    assert usage is not None and usage.thoughts_token_count and 0 < usage.thoughts_token_count <= 128
    off = gemini.models.generate_content(
        model=FLASH,
        contents=PROMPT,
        config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0)),
    )
    assert off.usage_metadata is not None and not off.usage_metadata.thoughts_token_count


def test_pro_cannot_turn_thinking_off(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0))
    with pytest.raises(errors.ClientError) as err:
        gemini.models.generate_content(model="gemini-2.5-pro", contents="hi", config=config)
    assert err.value.code == 400 and err.value.status == "INVALID_ARGUMENT" and "Budget 0" in str(err.value.message)


class Recipe(BaseModel):
    recipe_name: str
    ingredients: list[str]


def test_structured_output_with_a_pydantic_schema(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=list[Recipe])
    response = gemini.models.generate_content(model=FLASH, contents="List cookie recipes", config=config)
    assert isinstance(response.parsed, list) and response.parsed
    assert all(isinstance(r, Recipe) for r in response.parsed)


def test_structured_output_json_schema_and_enum(raw: TestClient) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}, "required": ["n"]}
    config = {"responseMimeType": "application/json", "responseJsonSchema": schema}
    answer = raw.post(f"/v1beta/models/{FLASH}:generateContent", json=text_body(generationConfig=config), headers=KEY)
    jsonschema_rs.validate(schema, json.loads(answer.json()["candidates"][0]["content"]["parts"][0]["text"]))
    enum = {"responseMimeType": "text/x.enum", "responseSchema": {"type": "STRING", "enum": ["red", "green"]}}
    answer = raw.post(f"/v1beta/models/{FLASH}:generateContent", json=text_body(generationConfig=enum), headers=KEY)
    assert answer.json()["candidates"][0]["content"]["parts"][0]["text"] in ("red", "green")
    bad = {"responseSchema": {"type": "STRING"}}
    refused = raw.post(f"/v1beta/models/{FLASH}:generateContent", json=text_body(generationConfig=bad), headers=KEY)
    assert refused.status_code == 400 and "mime" in refused.json()["error"]["message"].lower()


def test_function_call_args_are_valid_for_the_declaration(gemini: genai.Client) -> None:
    tool = types.Tool(function_declarations=[types.FunctionDeclaration(**MEETING)])
    config = types.GenerateContentConfig(tools=[tool])
    response = gemini.models.generate_content(model=FLASH, contents="Schedule a meeting with Bob", config=config)
    calls = response.function_calls
    assert calls and calls[0].name == "schedule_meeting"
    jsonschema_rs.validate(MEETING_JSON_SCHEMA, calls[0].args)
    part = response.candidates[0].content.parts[0]  # type: ignore[index,union-attr]
    assert part.thought_signature  # thinking model: the call carries a thought signature
    answer = gemini.models.generate_content(
        model=FLASH,
        contents=[
            types.Content(role="user", parts=[types.Part(text="Schedule a meeting with Bob")]),
            types.Content(role="model", parts=[types.Part(function_call=calls[0])]),
            types.Content(
                role="user", parts=[types.Part.from_function_response(name="schedule_meeting", response={"ok": True})]
            ),
        ],
        config=config,
    )
    assert answer.text and not answer.function_calls


def test_function_calling_modes(raw: TestClient) -> None:
    weather = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    tools = [{"functionDeclarations": [MEETING, weather]}]
    forced = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    answer = raw.post(
        f"/v1beta/models/{FLASH}:generateContent",
        json=text_body("meeting", tools=tools, toolConfig=forced),
        headers=KEY,
    )
    assert answer.json()["candidates"][0]["content"]["parts"][-1]["functionCall"]["name"] == "get_weather"
    none = {"functionCallingConfig": {"mode": "NONE"}}
    answer = raw.post(
        f"/v1beta/models/{FLASH}:generateContent", json=text_body(tools=tools, toolConfig=none), headers=KEY
    )
    assert "functionCall" not in json.dumps(answer.json())
    unknown = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["nope"]}}
    answer = raw.post(
        f"/v1beta/models/{FLASH}:generateContent", json=text_body(tools=tools, toolConfig=unknown), headers=KEY
    )
    assert answer.status_code == 400 and "nope" in answer.json()["error"]["message"]


def test_automatic_function_calling_round_trip(gemini: genai.Client) -> None:
    seen: list[str] = []

    def get_weather(city: str) -> dict[str, Any]:
        """Get the weather in a city."""
        seen.append(city)
        return {"temperature_c": 21}

    config = types.GenerateContentConfig(tools=[get_weather])
    response = gemini.models.generate_content(model=FLASH, contents="Weather in Oslo?", config=config)
    assert seen and response.text
    assert response.automatic_function_calling_history


def test_google_search_grounding_metadata(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch())])
    response = gemini.models.generate_content(model=FLASH, contents="Who won the euro 2024?", config=config)
    candidate = response.candidates[0]  # type: ignore[index]
    meta = candidate.grounding_metadata
    assert meta is not None and meta.web_search_queries and meta.grounding_chunks and meta.grounding_supports
    assert meta.search_entry_point and meta.search_entry_point.rendered_content
    encoded = (response.text or "").encode("utf-8")
    for support in meta.grounding_supports:
        seg = support.segment
        assert seg is not None and seg.start_index is not None and seg.end_index is not None
        assert encoded[seg.start_index : seg.end_index].decode() == seg.text
        assert all(0 <= i < len(meta.grounding_chunks) for i in support.grounding_chunk_indices or ())
    assert response.usage_metadata and response.usage_metadata.tool_use_prompt_token_count


def test_url_context_metadata(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(tools=[types.Tool(url_context=types.UrlContext())])
    prompt = "Compare https://www.example.com/a and https://broken.invalid/b"
    response = gemini.models.generate_content(model=FLASH, contents=prompt, config=config)
    meta = response.candidates[0].url_context_metadata  # type: ignore[index]
    assert meta is not None and meta.url_metadata
    status = {m.retrieved_url: m.url_retrieval_status for m in meta.url_metadata}
    assert status["https://www.example.com/a"] == types.UrlRetrievalStatus.URL_RETRIEVAL_STATUS_SUCCESS
    assert status["https://broken.invalid/b"] == types.UrlRetrievalStatus.URL_RETRIEVAL_STATUS_ERROR


def test_tts_returns_pcm_of_plausible_length(gemini: genai.Client, raw: TestClient, sse_checked: Sse) -> None:
    text = "Say cheerfully: Have a wonderful day and enjoy the sunshine with your friends!"
    speech = types.SpeechConfig(
        voice_config=types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore"))
    )
    config = types.GenerateContentConfig(response_modalities=["AUDIO"], speech_config=speech)
    response = gemini.models.generate_content(model="gemini-2.5-flash-preview-tts", contents=text, config=config)
    blob = response.candidates[0].content.parts[0].inline_data  # type: ignore[index,union-attr]
    assert blob is not None and blob.mime_type == "audio/L16;codec=pcm;rate=24000" and blob.data
    pcm = blob.data
    assert len(pcm) % 2 == 0
    seconds = len(pcm) / 2 / 24000
    words = len(text.split())
    assert words / 5 < seconds < words / 1.2  # between 1.2 and 5 words a second
    samples = memoryview(pcm).cast("h")
    assert max(abs(s) for s in samples[::50]) > 1000  # not silence
    usage = response.usage_metadata
    assert (
        usage
        and usage.candidates_tokens_details
        and usage.candidates_tokens_details[0].modality == types.MediaModality.AUDIO
    )
    assert usage.candidates_token_count == math.ceil(seconds * 32)
    body = text_body(text, generationConfig={"responseModalities": ["AUDIO"]})
    path = "/v1beta/models/gemini-2.5-flash-preview-tts:streamGenerateContent?alt=sse"
    events = sse_checked("gemini_stream_generate_content", raw.post(path, json=body, headers=KEY).text)
    streamed = b"".join(
        base64.b64decode(d["candidates"][0]["content"]["parts"][0]["inlineData"]["data"]) for _, d in events
    )
    assert len(events) > 1 and len(streamed) == len(pcm)


def test_tts_model_needs_audio_modality(raw: TestClient) -> None:
    answer = raw.post("/v1beta/models/gemini-2.5-flash-preview-tts:generateContent", json=text_body(), headers=KEY)
    assert answer.status_code == 400 and "responseModalities" in answer.json()["error"]["message"]


def test_embed_content_through_the_sdk_batch_call(gemini: genai.Client) -> None:
    result = gemini.models.embed_content(
        model="gemini-embedding-001", contents=["cats purr softly", "kittens purr", "tax law"]
    )
    assert result.embeddings and len(result.embeddings) == 3
    vectors = [e.values for e in result.embeddings]
    assert all(v is not None and len(v) == 3072 for v in vectors)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])  # type: ignore[arg-type]
    short = gemini.models.embed_content(
        model="text-embedding-004", contents="hello", config=types.EmbedContentConfig(output_dimensionality=8)
    )
    assert short.embeddings and len(short.embeddings[0].values or []) == 8


def test_embed_content_raw_and_its_errors(raw: TestClient) -> None:
    ok = raw.post(
        "/v1beta/models/gemini-embedding-001:embedContent", json={"content": {"parts": [{"text": "hi"}]}}, headers=KEY
    )
    assert ok.status_code == 200 and len(ok.json()["embedding"]["values"]) == 3072
    batch = {"requests": [{"model": "models/other-model", "content": {"parts": [{"text": "hi"}]}}]}
    mismatch = raw.post("/v1beta/models/gemini-embedding-001:batchEmbedContents", json=batch, headers=KEY)
    assert mismatch.status_code == 400 and "requests[0].model" in mismatch.json()["error"]["message"]
    too_big = {"content": {"parts": [{"text": "hi"}]}, "outputDimensionality": 4096}
    refused = raw.post("/v1beta/models/text-embedding-004:embedContent", json=too_big, headers=KEY)
    assert refused.status_code == 400 and "outputDimensionality" in refused.json()["error"]["message"]
    wrong = raw.post(f"/v1beta/models/{FLASH}:embedContent", json={"content": {"parts": [{"text": "hi"}]}}, headers=KEY)
    assert wrong.status_code == 404 and wrong.json()["error"]["status"] == "NOT_FOUND"


def test_models_list_paging_and_get(gemini_beta: genai.Client, raw: TestClient) -> None:
    names = [m.name for m in gemini_beta.models.list(config={"page_size": 3})]
    assert f"models/{FLASH}" in names and "models/gemini-embedding-001" in names
    page = raw.get("/v1beta/models?pageSize=2", headers=KEY).json()
    assert len(page["models"]) == 2 and page["nextPageToken"]
    rest = raw.get(f"/v1beta/models?pageSize=100&pageToken={page['nextPageToken']}", headers=KEY).json()
    assert len(rest["models"]) == len(names) - 2 and "nextPageToken" not in rest
    bad = raw.get("/v1beta/models?pageToken=garbage", headers=KEY)
    assert bad.status_code == 400 and "pageToken" in bad.json()["error"]["message"]
    model = gemini_beta.models.get(model=FLASH)
    assert model.name == f"models/{FLASH}" and model.input_token_limit and model.thinking
    missing = raw.get("/v1beta/models/gemini-nope", headers=KEY)
    assert missing.status_code == 404


def test_count_tokens(gemini: genai.Client) -> None:
    counted = gemini.models.count_tokens(model=FLASH, contents=PROMPT)
    generated = gemini.models.generate_content(model=FLASH, contents=PROMPT)
    assert counted.total_tokens and generated.usage_metadata
    assert counted.total_tokens == generated.usage_metadata.prompt_token_count


def test_snake_case_body_and_inline_image(raw: TestClient, png_b64: Callable[..., str]) -> None:
    body = {
        "system_instruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"parts": [{"inline_data": {"mime_type": "image/png", "data": png_b64()}}, {"text": "Describe this"}]}
        ],
        "generation_config": {"max_output_tokens": 5, "thinking_config": {"thinking_budget": 0}},
    }
    answer = raw.post(f"/v1beta/models/{FLASH}:generateContent", json=body, headers=KEY).json()
    usage = answer["usageMetadata"]
    assert {"modality": "IMAGE", "tokenCount": 258} in usage["promptTokensDetails"]
    assert answer["candidates"][0]["finishReason"] == "MAX_TOKENS" and usage["candidatesTokenCount"] <= 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contents": []}, "contents"),
        (
            {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"maxOutputTokens": "many"}},
            "maxOutputTokens",
        ),
        ({"contents": [{"parts": [{"text": "x"}]}], "generation_config": {"tempreature": 1}}, "tempreature"),
        ({"contents": [{"parts": [{"text": "x"}]}], "foo": 1}, "foo"),
        (
            {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "%%%"}}]}]},
            "contents[0].parts[0].inlineData.data",
        ),
        ({"contents": [{"role": "robot", "parts": [{"text": "x"}]}]}, "contents[0].role"),
    ],
)
def test_bad_input_is_a_400_in_google_envelope(raw: TestClient, body: dict[str, Any], field: str) -> None:
    answer = raw.post(f"/v1beta/models/{FLASH}:generateContent", json=body, headers=KEY)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT" and field in error["message"]


def test_generate_on_an_embedding_model_is_not_found(raw: TestClient) -> None:
    answer = raw.post("/v1/models/gemini-embedding-001:generateContent", json=text_body(), headers=KEY)
    assert answer.status_code == 404 and "API version v1" in answer.json()["error"]["message"]


def test_stubs_apply(raw: TestClient) -> None:
    raw.post(
        "/__mock/stubs",
        json={"operation": "gemini_generate_content", "content": "Stubbed answer.", "reasoning": "Why."},
    )
    answer = raw.post(f"/v1beta/models/{FLASH}:generateContent", json=text_body(), headers=KEY).json()
    parts = answer["candidates"][0]["content"]["parts"]
    assert parts == [{"text": "Why.", "thought": True}, {"text": "Stubbed answer."}]
    raw.post(
        "/__mock/stubs",
        json={"operation": "gemini_generate_content", "tool_calls": [{"name": "f", "arguments": {"a": 1}}]},
    )
    answer = raw.post(f"/v1beta/models/{FLASH}:generateContent", json=text_body(), headers=KEY).json()
    assert answer["candidates"][0]["content"]["parts"][-1]["functionCall"] == {"name": "f", "args": {"a": 1}}


@pytest.mark.anyio
async def test_async_in_process(agemini: genai.Client) -> None:
    response = await agemini.aio.models.generate_content(model=FLASH, contents=PROMPT)
    assert response.text
    chunks = [c async for c in await agemini.aio.models.generate_content_stream(model=FLASH, contents=PROMPT)]
    assert (
        len(chunks) > 2 and chunks[-1].candidates and chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    )
    embedded = await agemini.aio.models.embed_content(model="gemini-embedding-001", contents="hi")
    assert embedded.embeddings and embedded.embeddings[0].values


def test_sdk_stream_chunks_conform(gemini: genai.Client) -> None:
    contract = load_contracts().get("gemini_stream_generate_content")
    config = types.GenerateContentConfig(
        tools=[types.Tool(google_search=types.GoogleSearch())],
        thinking_config=types.ThinkingConfig(include_thoughts=True),
    )
    count = 0
    for chunk in gemini.models.generate_content_stream(model=FLASH, contents="Who won the euro 2024?", config=config):
        data = chunk.model_dump(mode="json", by_alias=True, exclude_none=True)
        assert not contract.validate_event(None, data), data
        count += 1
    assert count > 2


def test_candidate_count_and_a_cut_json_array_stream(raw: TestClient) -> None:
    body = text_body(generationConfig={"candidateCount": 2, "thinkingConfig": {"thinkingBudget": 0}})
    answer = raw.post(f"/v1beta/models/{FLASH}:generateContent", json=body, headers=KEY).json()
    assert [c["index"] for c in answer["candidates"]] == [0, 1]
    texts = [c["content"]["parts"][0]["text"] for c in answer["candidates"]]
    assert texts[0] != texts[1]
    fault = {"operation": "gemini_stream_generate_content", "stream_cut_after": 2}
    assert raw.post("/__mock/faults", json=fault).status_code in (200, 201)
    # Outside a real server the dropped connection surfaces as ConnectionDropped (a socket sees it cut).
    with pytest.raises(ConnectionDropped, match="middle of the response body"):
        raw.post(f"/v1beta/models/{FLASH}:streamGenerateContent", json=text_body(), headers=KEY)
    raw.delete("/__mock/faults")
    fault = {"operation": "gemini_stream_generate_content", "malformed": 1}
    assert raw.post("/__mock/faults", json=fault).status_code == 201
    broken = raw.post(f"/v1beta/models/{FLASH}:streamGenerateContent", json=text_body(), headers=KEY)
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)  # the second element is cut in half
    assert broken.text.startswith("[{")


def test_tts_length_is_bounded_and_oversized_prompts_refused(raw: TestClient) -> None:
    config = {"responseModalities": ["AUDIO"], "maxOutputTokens": 64}  # 64 tokens = 2 seconds of audio
    body = text_body("word " * 200, generationConfig=config)
    answer = raw.post("/v1beta/models/gemini-2.5-flash-preview-tts:generateContent", json=body, headers=KEY).json()
    pcm = base64.b64decode(answer["candidates"][0]["content"]["parts"][0]["inlineData"]["data"])
    assert len(pcm) <= 2 * 24000 * 2 and answer["candidates"][0]["finishReason"] == "MAX_TOKENS"
    huge = text_body("word " * 9000, generationConfig={"responseModalities": ["AUDIO"]})
    refused = raw.post("/v1beta/models/gemini-2.5-flash-preview-tts:generateContent", json=huge, headers=KEY)
    assert refused.status_code == 400 and "exceeds the maximum number of tokens" in refused.json()["error"]["message"]
