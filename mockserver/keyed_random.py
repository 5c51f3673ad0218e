"""`KeyedRandom`: the `random.Random` API for one call, whose first draws come straight from a hash.

Every call gets its own generator, keyed by (seed, operation, body, repeat count). Creating a
`random.Random` seeds a Mersenne Twister, which costs about 5 µs — more than the rest of a simple
answer — even for a subclass (its C constructor seeds before any `__init__` runs), while most
handlers draw only a few hundred bits. So `KeyedRandom` is a plain class: `getrandbits`, `random`
and `randbytes` serve the first 2,048 bits from BLAKE2b digests of the key (one 512-bit block at a
time, as needed), and every other method
(`choice`, `randint`, `gauss`, ...) is `random.Random`'s own Python code running on top of those
two. When the pool runs out, or for `seed`/`getstate`/`setstate`, a twister seeded from the key
takes over and its C methods are bound on the instance, so long draws run at C speed. The sequence
depends only on the key and the order of draws: deterministic, as answers must be.
"""

from __future__ import annotations

import hashlib
import random
import types
from random import Random
from typing import Any

BLOCK_BITS = 512  # one BLAKE2b digest
POOL_BLOCKS = 4
POOL_BYTES = BLOCK_BITS * POOL_BLOCKS // 8
_TWO_53 = 1.0 / (1 << 53)
_blake2b = hashlib.blake2b
# Methods the twister provides once it has taken over (bound on the instance, shadowing ours).
_TWISTER_METHODS = ("getrandbits", "random", "seed", "getstate", "setstate")


class KeyedRandom:
    """`random.Random`'s interface over a hash pool first, then over a twister seeded from the key."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._bits = int.from_bytes(_blake2b(key).digest(), "little")
        self._left = BLOCK_BITS
        self._blocks = 1
        self._mt: Random | None = None
        self.gauss_next: float | None = None  # used by the borrowed gauss()

    def getrandbits(self, k: int, /) -> int:
        if 0 <= k <= self._left:
            bits = self._bits & ((1 << k) - 1)
            self._bits >>= k
            self._left -= k
            return bits
        return self._more(k)

    def _more(self, k: int) -> int:
        """Draw `k` bits when the pool holds fewer: add blocks while the budget lasts, else the twister."""
        while k > self._left and self._blocks < POOL_BLOCKS and self._mt is None:
            block = _blake2b(self._key + self._blocks.to_bytes(1, "big")).digest()
            self._bits |= int.from_bytes(block, "little") << self._left
            self._left += BLOCK_BITS
            self._blocks += 1
        if 0 <= k <= self._left:
            return self.getrandbits(k)
        return self._twister().getrandbits(k)

    def random(self) -> float:
        if self._mt is None:
            return self.getrandbits(53) * _TWO_53
        value: float = self._mt.random()
        return value

    def randbytes(self, n: int) -> bytes:
        return self.getrandbits(n * 8).to_bytes(n, "little")

    def seed(self, a: Any = None, version: int = 2) -> None:
        self._twister().seed(a, version)

    def getstate(self) -> Any:
        return self._twister().getstate()

    def setstate(self, state: Any) -> None:
        self._twister().setstate(state)

    def _twister(self) -> Random:
        """The Mersenne Twister seeded from the key, created once; from then on it serves every draw."""
        mt = self._mt
        if mt is None:
            mt = Random(int.from_bytes(_blake2b(self._key + b"twister", digest_size=32).digest(), "big"))
            self._mt, self._left, self._bits = mt, -1, 0
            for name in _TWISTER_METHODS:  # instance attributes shadow the class's methods
                setattr(self, name, getattr(mt, name))
        return mt

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in vars(self).items() if k not in _TWISTER_METHODS}
        state["_mt"] = self._mt.getstate() if self._mt is not None else None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        mt_state = state.pop("_mt")
        vars(self).update(state, _mt=None)
        if mt_state is not None:
            self._twister().setstate(mt_state)


# Everything else (`randrange`, `choice`, `choices`, `shuffle`, `sample`, `uniform`, `gauss`, ...) is
# random.Random's pure-Python code, which only calls `random()`, `getrandbits()` and `_randbelow()`.
for _name, _value in vars(random.Random).items():
    if isinstance(_value, types.FunctionType) and not _name.startswith("__") and _name not in vars(KeyedRandom):
        setattr(KeyedRandom, _name, _value)
KeyedRandom._randbelow = random.Random._randbelow_with_getrandbits  # type: ignore[attr-defined]
del _name, _value
