"""The gateway's keys in Redis through HTTP: two servers on one prefix share keys, quota and usage; what
is read back from Redis is checked, never unpickled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.gateway import core
from mockserver.settings import Settings
from mockserver.stores.key_codec import decode_row, decode_state, encode_state
from mockserver.stores.key_rules import KeyRules
from mockserver.stores.keys import GatewayKey
from mockserver.stores.redis_keys import RedisKeyStore
from tests.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]  # the fixtures

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there"}]}


def make(**settings: Any) -> TestClient:
    return TestClient(create_app(Settings(strict_responses=True, speed=0.0, start_time=1_750_000_000.0, **settings)))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_two_servers_on_one_redis_prefix_share_keys_and_quota(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The gateway's key store on Redis, as `--store redis://` will open it once every store is wired.
    monkeypatch.setattr(core, "open_key_store", lambda url: RedisKeyStore.from_url(redis_url))
    with make(api_key=("sk-admin",)) as first, make(api_key=("sk-admin",)) as second:
        made = first.post("/__mock/keys", json={"quota": 700})
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        assert second.post("/v1/chat/completions", json=CHAT, headers=bearer(key)).status_code == 200
        refused = first.post("/v1/chat/completions", json=CHAT, headers=bearer(key))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "pre_consume_token_quota_failed"
        usage = first.get("/__mock/usage", params={"key": key, "rows": "1"}).json()
        assert usage["calls"] == 1 and usage["quota"] + usage["remain_quota"] == 700 and len(usage["rows"]) == 1
        assert second.post("/__mock/reset").status_code == 200  # one reset for both
        assert first.get("/__mock/usage").json()["calls"] == 0
        assert [k["key"] for k in first.get("/__mock/keys").json()["keys"]] == ["sk-admin"]


def test_a_second_server_keeps_the_state_the_first_began(redis_url: str) -> None:
    async def main() -> None:
        first, second = RedisKeyStore.from_url(redis_url), RedisKeyStore.from_url(redis_url)
        try:
            await first.initialize([GatewayKey(id=0, secret="one")])
            await first.add(GatewayKey(id=0, secret="two"))
            await second.initialize([GatewayKey(id=0, secret="one")])  # another replica starting: keeps it
            assert [k.secret for k in await second.all_keys()] == ["one", "two"]
            assert await second.remove(2) and await first.find("two") is None
        finally:
            await first.close()
            await second.close()

    asyncio.run(main())


def test_state_read_back_is_checked_json() -> None:
    rules = KeyRules()
    rules.reset([GatewayKey(id=0, secret="abc", model_limits=("gpt-4o",), unlimited_quota=False, remain_quota=5)])
    state = decode_state(encode_state(rules.dump()))
    assert state["keys"][0].model_limits == ("gpt-4o",) and state["keys"][0].remain_quota == 5
    with pytest.raises(ValueError, match="gateway key store state"):
        decode_state(b"\x80\x04\x95 not json")  # e.g. a pickle: refused, never loaded
    with pytest.raises(ValueError, match="gateway key store state"):
        decode_state(b'{"keys": [{"id": 1, "secret": "x", "evil": 1}]}')
    with pytest.raises(ValueError, match="gateway log row"):
        decode_row(b"[1, 2]")
