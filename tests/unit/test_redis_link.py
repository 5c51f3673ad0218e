"""`--store redis://...` URLs and the asyncio client, against a real Redis server."""

from __future__ import annotations

import asyncio

import pytest

from mockserver.stores.redis_link import RedisLink, RedisUrlError, parse_redis_url
from tests.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]


def test_prefix_and_client_options_are_read() -> None:
    assert parse_redis_url("redis://h:6380/2?prefix=team-a") == ("redis://h:6380/2", "team-a")
    assert parse_redis_url("redis://h") == ("redis://h/0", "mockserver")
    client_url, _ = parse_redis_url("rediss://h:1/0?socket_timeout=5&prefix=x")
    assert client_url == "rediss://h:1/0?socket_timeout=5"


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("http://h:1/0", "redis://"),
        ("redis://:1/0", "no host"),
        ("redis://h:99999/0", "port"),
        ("redis://h:1/zero", "database"),
        ("redis://h:1/0?prefix=a b", "prefix"),
        ("redis://h:1/0?prefx=a", "unknown parameter 'prefx'"),
    ],
)
def test_bad_urls_name_the_part(url: str, names: str) -> None:
    with pytest.raises(RedisUrlError, match=names):
        parse_redis_url(url)


def test_the_password_is_never_shown() -> None:
    link = RedisLink("redis://:s3cret@h:1/0?prefix=a")
    assert link.url == "redis://:***@h:1/0?prefix=a" and "s3cret" in link.client_url
    assert RedisLink("redis://user:pw@h:1/0").url == "redis://user:***@h:1/0"
    assert RedisLink("redis://h:1/0").url == "redis://h:1/0"


def test_keys_carry_the_prefix_and_reach_a_real_server(redis_url: str) -> None:
    link = RedisLink(redis_url)
    key = link.key("probe")
    assert key.startswith(link.prefix + ":")

    async def roundtrip() -> bytes | None:
        client = link.client()
        assert link.client() is client  # one client per loop
        await client.set(key, b"ok")
        value = await client.get(key)
        await client.delete(key)
        await link.aclose()
        return value

    assert asyncio.run(roundtrip()) == b"ok"
    assert asyncio.run(roundtrip()) == b"ok"  # a second loop gets a client of its own
