"""Embeddings: sizes per model, `dimensions`, float/base64, batch order, unit length, meaningful similarity."""

from __future__ import annotations

import math
from typing import Any

import openai
import pytest

from mockserver.content.embeddings import cosine, embed, from_base64, shorten, to_base64


def _norm(vec: list[float]) -> float:
    return math.sqrt(sum(v * v for v in vec))


@pytest.mark.parametrize(
    ("model", "dims"),
    [("text-embedding-ada-002", 1536), ("text-embedding-3-small", 1536), ("text-embedding-3-large", 3072)],
)
def test_native_dimensions_and_unit_length(raw: Any, model: str, dims: int) -> None:
    r = raw.post("/v1/embeddings", json={"model": model, "input": "The food was delicious and the waiter..."})
    assert r.status_code == 200
    body = r.json()
    vec = body["data"][0]["embedding"]
    assert len(vec) == dims and abs(_norm(vec) - 1) < 1e-5
    assert body["model"] == model and body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0


def test_sdk_default_base64_decodes_to_the_float_answer(sdk: openai.OpenAI) -> None:
    # The SDK asks for base64 unless told otherwise and decodes it itself.
    via_base64 = sdk.embeddings.create(model="text-embedding-3-small", input="hello world").data[0].embedding
    as_floats = (
        sdk.embeddings.create(model="text-embedding-3-small", input="hello world", encoding_format="float")
        .data[0]
        .embedding
    )
    assert via_base64 == as_floats and len(as_floats) == 1536


def test_base64_is_little_endian_float32(raw: Any) -> None:
    body = {"model": "text-embedding-3-small", "input": "abc", "encoding_format": "base64", "dimensions": 8}
    encoded = raw.post("/v1/embeddings", json=body).json()["data"][0]["embedding"]
    floats = raw.post("/v1/embeddings", json={**body, "encoding_format": "float"}).json()["data"][0]["embedding"]
    import base64
    import struct

    assert list(struct.unpack("<8f", base64.b64decode(encoded))) == floats


def test_dimensions_shortens_and_renormalises(raw: Any) -> None:
    full = raw.post("/v1/embeddings", json={"model": "text-embedding-3-large", "input": "hi there"}).json()
    short = raw.post(
        "/v1/embeddings", json={"model": "text-embedding-3-large", "input": "hi there", "dimensions": 256}
    ).json()
    vec = short["data"][0]["embedding"]
    assert len(vec) == 256 and abs(_norm(vec) - 1) < 1e-5
    assert vec == shorten(full["data"][0]["embedding"], 256)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "text-embedding-ada-002", "input": "x", "dimensions": 256}, "dimensions"),
        ({"model": "text-embedding-3-small", "input": "x", "dimensions": 4096}, "dimensions"),
        ({"model": "text-embedding-3-small", "input": ""}, "input"),
        ({"model": "text-embedding-3-small", "input": []}, "input"),
        ({"model": "text-embedding-3-small", "input": ["ok", ""]}, "input[1]"),  # the item that broke
        ({"model": "text-embedding-3-small"}, "input"),
        ({"model": "text-embedding-3-small", "input": "x", "encoding_format": "hex"}, "encoding_format"),
    ],
)
def test_bad_embedding_requests(raw: Any, body: dict[str, Any], param: str) -> None:
    r = raw.post("/v1/embeddings", json=body)
    assert r.status_code == 400 and r.json()["error"]["param"] == param


@pytest.mark.anyio
async def test_batch_keeps_order_and_is_deterministic(asdk: openai.AsyncOpenAI) -> None:
    texts = ["first text", "second text", "third one entirely different"]
    batch = await asdk.embeddings.create(model="text-embedding-3-small", input=texts, encoding_format="float")
    assert [d.index for d in batch.data] == [0, 1, 2]
    for i, text in enumerate(texts):
        single = await asdk.embeddings.create(model="text-embedding-3-small", input=text, encoding_format="float")
        assert single.data[0].embedding == batch.data[i].embedding


@pytest.mark.anyio
async def test_token_arrays(asdk: openai.AsyncOpenAI) -> None:
    out = await asdk.embeddings.create(
        model="text-embedding-3-small", input=[[1, 2, 3], [1, 2, 4]], encoding_format="float"
    )
    assert out.usage.prompt_tokens == 6 and len(out.data) == 2


def test_similarity_ranks_related_texts_first(raw: Any) -> None:
    query = "how do I bake sourdough bread at home"
    docs = [
        "Python asyncio tutorial for beginners",
        "A guide to baking sourdough bread with a starter",
        "Stock market news for the week",
        "Bread recipes you can bake at home",
    ]
    body = {"model": "text-embedding-3-small", "input": [query, *docs], "encoding_format": "float"}
    vectors = [d["embedding"] for d in raw.post("/v1/embeddings", json=body).json()["data"]]
    scores = [cosine(vectors[0], v) for v in vectors[1:]]
    ranked = sorted(range(len(docs)), key=lambda i: -scores[i])
    assert set(ranked[:2]) == {1, 3} and max(scores[0], scores[2]) < min(scores[1], scores[3])


def test_content_generator_properties() -> None:
    a, b, c = embed("the cat sat on the mat", 512), embed("a cat sat on a mat", 512), embed("quarterly revenue", 512)
    assert cosine(a, b) > cosine(a, c) + 0.1
    assert embed("same text", 64) == embed("same text", 64)
    assert embed("same text", 64) != embed("same text", 64, space="other-model")
    prefix = shorten(embed("prefix stable", 1024), 100)
    assert max(abs(x - y) for x, y in zip(prefix, embed("prefix stable", 100), strict=True)) < 1e-6
    assert from_base64(to_base64(a)) == a
