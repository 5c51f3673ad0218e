"""The gateway as a client meets it over the network: the official openai SDK's error classes when a key
runs out, its retry honouring `Retry-After` on a rate limit, and many threads never overspending a key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, serve_in_thread

openai = pytest.importorskip("openai")

HELLO = [{"role": "user", "content": "hello there, tell me about tides"}]


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    app = create_app(Settings(speed=0.0, start_time=1_750_000_000.0, api_key=("sk-admin",)))
    with serve_in_thread(app) as running:
        yield running


def new_key(server: ThreadedServer, **fields: Any) -> str:
    r = httpx.post(server.url + "/__mock/keys", json=fields)
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def usage(server: ThreadedServer, key: str) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(server.url + "/__mock/usage", params={"key": key}).json()
    return result


def test_a_small_quota_runs_out_mid_conversation(server: ThreadedServer) -> None:
    key = new_key(server, quota=2000)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
    messages = list(HELLO)
    answered = 0
    with pytest.raises((openai.PermissionDeniedError, openai.AuthenticationError)) as refused:
        for _ in range(50):
            reply = client.chat.completions.create(model="gpt-4o", messages=messages)
            answered += 1
            messages += [{"role": "assistant", "content": reply.choices[0].message.content}, HELLO[0]]
    assert answered >= 1
    error = refused.value
    body = error.body if isinstance(error.body, dict) else {}
    if isinstance(error, openai.PermissionDeniedError):  # less left than the next call's pre-consumption
        assert error.code == "pre_consume_token_quota_failed" and "token quota is not enough" in error.message
    else:
        assert "该令牌额度已用尽" in error.message
    assert body.get("type") == "new_api_error"
    spent = usage(server, key)
    assert spent["calls"] == answered and spent["quota"] + spent["remain_quota"] == 2000


def test_the_sdk_retry_honours_retry_after(server: ThreadedServer) -> None:
    key = new_key(server, rpm=1, rate_window=2)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=3)
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    second = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
    assert second.retries_taken >= 1  # refused with 429 + Retry-After, then answered on a retry
    assert second.parse().choices[0].message.content
    log = httpx.get(server.url + "/__mock/requests", params={"operation": "chat_completions"}).json()["requests"]
    mine = [r["status"] for r in log if r["headers"].get("authorization", "").endswith(key[-4:])]
    assert mine[0] == 200 and mine[1] == 429 and mine[-1] == 200


def test_a_rate_limit_answer_says_when_to_retry(server: ThreadedServer) -> None:
    key = new_key(server, rpm=1)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    headers = limited.value.response.headers
    assert 1 <= int(headers["retry-after"]) <= 60 and headers["x-ratelimit-limit-requests"] == "1"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert "您已达到请求数限制：1分钟内最多请求1次" in limited.value.message


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quota=st.integers(min_value=0, max_value=6000), threads=st.integers(min_value=2, max_value=8))
def test_concurrent_calls_never_overspend_a_key(server: ThreadedServer, quota: int, threads: int) -> None:
    key = new_key(server, quota=quota, unlimited_quota=False)
    statuses: list[int] = []
    lock = threading.Lock()

    def spend() -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as http:
            for _ in range(6):
                body = {"model": "gpt-4o-mini", "messages": HELLO, "max_tokens": 40}
                status = http.post("/v1/chat/completions", json=body).status_code
                with lock:
                    statuses.append(status)

    workers = [threading.Thread(target=spend) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    spent = usage(server, key)
    assert set(statuses) <= {200, 401, 403}
    assert spent["remain_quota"] >= 0
    assert spent["quota"] + spent["remain_quota"] == quota
    assert spent["calls"] == statuses.count(200)
