"""Deterministic text embeddings whose geometry means something: shared words ⇒ higher cosine similarity.

Each text is turned into hashed features (lower-cased words, word bigrams and character trigrams), every
feature adds ±weight at a few positions, plus a small dense background drawn from the text's hash so the
vector looks like a real, dense embedding. Positions are drawn at several scales (the first 32, 128, 512,
... components), so every prefix carries the signal: `embed(t, d)` equals the first `d` components of
`embed(t, D)` re-normalised, which is how OpenAI's `dimensions` shortening behaves. Vectors have unit
length and are float32-exact, so the float and base64 encodings carry the same numbers.
"""

from __future__ import annotations

import array
import base64
import hashlib
import itertools
import math
import random
import re
import sys
from functools import lru_cache

_WORD = re.compile(r"\w+", re.UNICODE)
# Every feature lands twice at each scale; positions at or beyond the vector's length are dropped.
_SCALES = (32, 128, 512, 2048, 8192)
_PER_SCALE = 2
_WORD_WEIGHT = 1.0
_SHORT_WORD_WEIGHT = 0.35
_BIGRAM_WEIGHT = 0.5
_TRIGRAM_WEIGHT = 0.2
# Amplitude of the dense background per component, relative to the norm of the feature weights.
_BACKGROUND = 0.08


@lru_cache(maxsize=65536)
def _slots(feature: str, space: str) -> tuple[tuple[int, float], ...]:
    """The (position, sign) pairs one feature adds to (cached: vocabularies repeat)."""
    digest = hashlib.blake2b(f"{space}\0{feature}".encode(), digest_size=4 * len(_SCALES) * _PER_SCALE).digest()
    out: list[tuple[int, float]] = []
    for i, scale in enumerate(_SCALES):
        for j in range(_PER_SCALE):
            k = (i * _PER_SCALE + j) * 4
            value = int.from_bytes(digest[k : k + 4], "little")
            out.append((value % scale, 1.0 if value & 0x80000000 else -1.0))
    return tuple(out)


def features(text: str) -> dict[str, float]:
    """Weighted features of a text: words, word bigrams and character trigrams."""
    words = [w.lower() for w in _WORD.findall(text)]
    feats: dict[str, float] = {}
    for word in words:
        weight = _WORD_WEIGHT if len(word) > 3 else _SHORT_WORD_WEIGHT
        feats["w:" + word] = feats.get("w:" + word, 0.0) + weight
        padded = f"<{word}>"
        for i in range(len(padded) - 2):
            key = "c:" + padded[i : i + 3]
            feats[key] = feats.get(key, 0.0) + _TRIGRAM_WEIGHT
    for a, b in itertools.pairwise(words):
        key = f"b:{a} {b}"
        feats[key] = feats.get(key, 0.0) + _BIGRAM_WEIGHT
    if not feats and text:
        feats["raw:" + text] = 1.0
    return feats


def embed(text: str, dims: int, *, space: str = "") -> list[float]:
    """A unit-length, float32-exact vector of `dims` components for `text`; `space` salts the hashing
    (different models give different but equally meaningful vectors)."""
    if dims < 1:
        raise ValueError("dims must be at least 1")
    feats = features(text)
    vec = [0.0] * dims
    for feature, weight in feats.items():
        for pos, sign in _slots(feature, space):
            if pos < dims:
                vec[pos] += sign * weight
    # The background depends on the text only (never on `dims`) and is a prefix-stable sequence, so a
    # shorter vector is exactly a re-normalised prefix of a longer one.
    amplitude = _BACKGROUND * math.sqrt(sum(w * w for w in feats.values()))
    seed = hashlib.blake2b(f"{space}\0{text}".encode(), digest_size=8).digest()
    rnd = random.Random(int.from_bytes(seed, "big")).random
    return _unit_float32([v + (rnd() - 0.5) * amplitude for v in vec])


def _unit_float32(vec: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return array.array("f", [v / norm for v in vec]).tolist()


def shorten(vec: list[float], dims: int) -> list[float]:
    """The first `dims` components re-normalised to unit length (OpenAI's `dimensions` behaviour)."""
    return _unit_float32(vec[:dims])


def to_base64(vec: list[float]) -> str:
    """Little-endian float32 bytes, base64-encoded, as OpenAI's `encoding_format=base64` sends them."""
    packed = array.array("f", vec)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def from_base64(data: str) -> list[float]:
    """Decode what `to_base64` produced."""
    packed = array.array("f")
    packed.frombytes(base64.b64decode(data))
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tolist()


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two vectors of the same length."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0
