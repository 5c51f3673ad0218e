"""`KeyedRandom`: cheap first draws from a hash, a Mersenne Twister after, deterministic throughout."""

from __future__ import annotations

import copy
import pickle
import random
from collections.abc import Callable
from typing import Any

import pytest

from mockserver.keyed_random import POOL_BYTES, KeyedRandom

DRAWS: list[Callable[[random.Random], Any]] = [
    lambda r: r.getrandbits(64),
    lambda r: r.randbytes(24),
    lambda r: r.random(),
    lambda r: r.randint(1, 6),
    lambda r: r.choice("abcdef"),
    lambda r: r.choices("abcdef", k=40),
    lambda r: r.uniform(2.0, 3.0),
    lambda r: r.gauss(0.0, 1.0),
    lambda r: r.sample(range(100), 5),
]


def sequence(key: bytes, rounds: int = 30) -> list[Any]:
    rng = KeyedRandom(key)
    return [draw(rng) for _ in range(rounds) for draw in DRAWS]


def test_same_key_same_sequence_and_other_keys_differ() -> None:
    assert sequence(b"a") == sequence(b"a")
    assert sequence(b"a") != sequence(b"b")


def test_first_draws_come_from_the_pool_then_the_twister_takes_over() -> None:
    rng = KeyedRandom(b"k")
    rng.getrandbits(64)
    rng.randbytes(32)
    assert rng._mt is None  # 320 bits: still served by the hash
    rng.getrandbits(POOL_BYTES * 8)  # more than is left
    assert rng._mt is not None
    assert 0 <= rng.random() < 1


def test_exotic_calls_switch_to_the_twister_first() -> None:
    for method in ("getstate", "seed"):
        rng = KeyedRandom(b"k")
        getattr(rng, method)()
        assert rng._mt is not None


def test_bound_methods_taken_before_the_switch_keep_working() -> None:
    rng = KeyedRandom(b"k")
    draw = rng.random
    values = [draw() for _ in range(200)]  # 200 × 53 bits: switches on the way
    assert rng._mt is not None
    assert all(0 <= v < 1 for v in values) and len(set(values)) == 200


@pytest.mark.parametrize("k", [0, 1, 7, 53, 64, 2047, 2048, 2049])
def test_getrandbits_stays_in_range(k: int) -> None:
    rng = KeyedRandom(b"range")
    for _ in range(5):
        assert 0 <= rng.getrandbits(k) < 2**k


def test_pool_bits_look_uniform() -> None:
    values = [KeyedRandom(i.to_bytes(4, "big")).random() for i in range(4000)]
    buckets = [0] * 10
    for v in values:
        buckets[int(v * 10)] += 1
    assert all(320 <= b <= 480 for b in buckets), buckets


@pytest.mark.parametrize("drawn", [10, POOL_BYTES * 8 + 10])  # before and after the twister takes over
def test_copies_and_pickles_continue_the_same_sequence(drawn: int) -> None:
    rng = KeyedRandom(b"copy")
    rng.getrandbits(drawn)
    twin = copy.deepcopy(rng)
    again = pickle.loads(pickle.dumps(rng))
    expected = [rng.random() for _ in range(50)]
    assert [twin.random() for _ in range(50)] == [again.random() for _ in range(50)] == expected


def test_every_method_of_random_is_there() -> None:
    public = {name for name in dir(random.Random) if not name.startswith("_") and name != "VERSION"}
    assert public <= set(dir(KeyedRandom))
    rng = KeyedRandom(b"api")
    assert rng.randrange(10, 20, 2) in range(10, 20, 2)
    assert sorted(rng.sample(range(10), 10)) == list(range(10))
    deck = list(range(20))
    rng.shuffle(deck)
    assert sorted(deck) == list(range(20))
    assert 1 <= rng.triangular(1, 3) <= 3 and rng.expovariate(1.0) >= 0 and rng.betavariate(2, 3) <= 1
