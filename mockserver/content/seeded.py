"""`seeded_rng`: a `random.Random` seeded by a name, so generated content depends on the name alone."""

from __future__ import annotations

import hashlib
import random


def seeded_rng(name: str | bytes) -> random.Random:
    """An RNG seeded by the BLAKE2b digest of `name`: the same name always draws the same values."""
    data = name.encode() if isinstance(name, str) else name
    return random.Random(int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big"))
