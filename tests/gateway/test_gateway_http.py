"""The gateway through HTTP (in-process): exact keys, refusals with new-api's statuses and messages,
every family refused for a disabled key, charging, refunds of failed tasks, the control API and logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.gateway import KeySpecError
from mockserver.settings import Settings

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there"}]}
START = 1_750_000_000.0
MJ = {"prompt": "a cat", "botType": "MID_JOURNEY"}


def make(**settings: Any) -> TestClient:
    return TestClient(create_app(Settings(strict_responses=True, speed=0.0, start_time=START, **settings)))


@pytest.fixture
def gw() -> Iterator[TestClient]:
    with make(api_key=("sk-admin",)) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_key(client: TestClient, **fields: Any) -> str:
    r = client.post("/__mock/keys", json=fields)
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def gateway_error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert err["type"] == "new_api_error" and "(request id: " in err["message"]
    assert "param" not in err  # abortWithOpenAiMessage has no param slot
    return err


def test_a_rate_limited_key_gets_the_gateways_own_429(gw: TestClient) -> None:
    key = new_key(gw, rpm=1, rate_window=60)
    assert gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)).status_code == 200
    refused = gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key))
    gateway_error(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("sent", ["sk-proj-ATTACKER", "proj", "proj-anything", "sk-proj-GOO", "sk-proj-GOODX", " "])
def test_keys_are_compared_exactly(sent: str) -> None:
    with make(api_key=("sk-proj-GOOD",)) as client:
        assert client.post("/v1/chat/completions", json=CHAT, headers=bearer("sk-proj-GOOD")).status_code == 200
        assert client.post("/v1/chat/completions", json=CHAT, headers=bearer("proj-GOOD")).status_code == 200
        r = client.post("/v1/chat/completions", json=CHAT, headers=bearer(sent))
        assert r.status_code == 401
        assert client.get("/yescale/user", headers=bearer(sent)).status_code == 401


def test_without_keys_any_key_passes_and_is_still_priced() -> None:
    with make() as client:
        assert client.post("/v1/chat/completions", json=CHAT, headers=bearer("sk-whatever")).status_code == 200
        usage = client.get("/__mock/usage", params={"key": "sk-whatever"}).json()
        assert usage["calls"] == 1 and usage["quota"] > 0 and usage["prompt_tokens"] > 0


def test_the_price_follows_new_apis_formula(gw: TestClient) -> None:
    key = new_key(gw, key="sk-priced", group="claude")
    answer = gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)).json()
    usage = answer["usage"]
    # gpt-4o: ratio 1.25, completion ratio 4; group claude 1.75
    expected = int((usage["prompt_tokens"] + usage["completion_tokens"] * 4) * 1.25 * 1.75 + 0.5)
    assert gw.get("/__mock/usage", params={"key": key}).json()["quota"] == expected
    prices = gw.get("/__mock/prices").json()
    assert prices["quota_per_unit"] == 500_000 and prices["groups"]["claude"] == 1.75 and prices["sources"]


def test_refusals_carry_the_gateways_status_and_message(gw: TestClient) -> None:
    disabled = new_key(gw, status="disabled")
    expired = new_key(gw, expired_time=int(START) - 1)
    limited = new_key(gw, model_limits=["gpt-4o-mini"])
    fenced = new_key(gw, allow_ips=["10.1.0.0/16"])
    post = gw.post
    assert gateway_error(post("/v1/chat/completions", json=CHAT, headers=bearer(disabled)), 401)["message"].startswith(
        "该令牌状态不可用"
    )
    assert gateway_error(post("/v1/chat/completions", json=CHAT, headers=bearer(expired)), 401)["message"].startswith(
        "该令牌已过期"
    )
    err = gateway_error(post("/v1/chat/completions", json=CHAT, headers=bearer(limited)), 403)
    assert err["message"].startswith("该令牌无权访问模型 gpt-4o")
    mini = {**CHAT, "model": "gpt-4o-mini"}
    assert post("/v1/chat/completions", json=mini, headers=bearer(limited)).status_code == 200
    err = gateway_error(post("/v1/chat/completions", json=CHAT, headers=bearer(fenced)), 403)
    assert err["code"] == "access_denied"
    assert gateway_error(post("/v1/chat/completions", json=CHAT, headers=bearer("sk-admin-7")), 403)[
        "message"
    ].startswith("普通用户不支持指定渠道")


def test_an_expiry_is_reached_on_the_virtual_clock(gw: TestClient) -> None:
    key = new_key(gw, expired_time=int(START) + 60)
    assert gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)).status_code == 200
    gw.post("/__mock/clock/advance", json={"seconds": 61})
    assert gateway_error(gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)), 401)["message"].startswith(
        "该令牌已过期"
    )
    assert [k["status"] for k in gw.get("/__mock/keys").json()["keys"] if k["key"] == key] == ["expired"]


def test_quota_runs_out_first_as_pre_consumption_then_as_exhausted(gw: TestClient) -> None:
    key = new_key(gw, quota=700)  # gpt-4o pre-consumes (500 + 0) x 1.25 = 625; a reply costs a few hundred
    assert gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)).status_code == 200
    err = gateway_error(gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)), 403)
    assert err["code"] == "pre_consume_token_quota_failed"
    assert err["message"].startswith("token quota is not enough, token remain quota: ＄0.000")
    cheap = {**CHAT, "model": "gpt-4o-mini"}  # 500 x 0.075 = 37: fits until nothing is left
    for _ in range(200):
        if gw.post("/v1/chat/completions", json=cheap, headers=bearer(key)).status_code != 200:
            break
    r = gw.post("/v1/chat/completions", json=cheap, headers=bearer(key))
    assert r.status_code in (401, 403)
    left = gw.get("/__mock/usage", params={"key": key}).json()
    assert left["remain_quota"] >= 0 and left["quota"] + left["remain_quota"] == 700


def test_an_exhausted_key_reports_it(gw: TestClient) -> None:
    key = new_key(gw, quota=0, unlimited_quota=False)
    err = gateway_error(gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)), 401)
    assert "该令牌额度已用尽 !token.UnlimitedQuota && token.RemainQuota = 0" in err["message"]
    err = gateway_error(gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)), 401)
    assert "该令牌额度已用尽 TokenStatusExhausted[sk-" in err["message"]


FAMILY_CALLS = [
    ("openai", "POST", "/v1/chat/completions", CHAT, {}),
    (
        "anthropic",
        "POST",
        "/v1/messages",
        {"model": "claude-3-5-sonnet-20241022", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
        {"x-api-key": "{key}"},
    ),
    (
        "gemini",
        "POST",
        "/v1beta/models/gemini-2.0-flash:generateContent",
        {"contents": [{"parts": [{"text": "hi"}]}]},
        {"x-goog-api-key": "{key}"},
    ),
    (
        "midjourney",
        "POST",
        "/mj/submit/imagine",
        {"prompt": "a cat", "botType": "MID_JOURNEY"},
        {"mj-api-secret": "{key}"},
    ),
    ("suno", "POST", "/suno/submit/music", {"prompt": "a song", "mv": "chirp-v3-5"}, {}),
    ("video", "POST", "/kling/v1/videos/text2video", {"prompt": "a cat"}, {}),
    ("imagegen", "POST", "/recraft/v1/images/generations", {"prompt": "a cat"}, {}),
    ("openai-read", "GET", "/v1/models", None, {}),
]


@pytest.mark.parametrize(
    ("family", "method", "path", "body", "headers"), FAMILY_CALLS, ids=[c[0] for c in FAMILY_CALLS]
)
def test_a_disabled_key_is_refused_on_every_familys_routes(
    gw: TestClient, family: str, method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    key = new_key(gw, status="disabled")
    sent = {k: v.format(key=key) for k, v in headers.items()} or bearer(key)
    r = gw.request(method, path, json=body, headers=sent)
    assert gateway_error(r, 401)["message"].startswith("该令牌状态不可用")
    good = new_key(gw)
    sent = {k: v.format(key=good) for k, v in headers.items()} or bearer(good)
    assert gw.request(method, path, json=body, headers=sent).status_code < 400, family


def test_a_failed_midjourney_task_is_refunded_when_it_fails(gw: TestClient) -> None:
    key = new_key(gw, quota=500_000)
    ok = gw.post("/mj/submit/imagine", json=MJ, headers=bearer(key)).json()
    failing = gw.post("/mj/submit/imagine", json={**MJ, "prompt": "a cat [mock:fail]"}, headers=bearer(key)).json()
    assert ok["code"] == 1 and failing["code"] == 1
    price = 50_000  # mj_imagine $0.1
    usage = gw.get("/__mock/usage", params={"key": key}).json()
    assert (usage["quota"], usage["remain_quota"]) == (2 * price, 500_000 - 2 * price)
    gw.post("/__mock/clock/advance", json={"seconds": 3600})
    assert gw.get(f"/mj/task/{failing['result']}/fetch", headers=bearer(key)).json()["status"] == "FAILURE"
    usage = gw.get("/__mock/usage", params={"key": key}).json()
    assert (usage["quota"], usage["refunded"], usage["remain_quota"]) == (price, price, 500_000 - price)
    logs = gw.get("/yescale/logs", headers=bearer("admin")).json()["data"]["items"]
    refund = [row for row in logs if row["type"] == 6]
    assert len(refund) == 1 and refund[0]["quota"] == price and failing["result"] in refund[0]["content"]


def test_relax_and_turbo_modes_are_priced_by_their_factor(gw: TestClient) -> None:
    for mode, factor in (("mj-relax", 0.5), ("mj-turbo", 2)):
        key = new_key(gw)
        assert gw.post(f"/{mode}/mj/submit/imagine", json=MJ, headers=bearer(key)).status_code == 200
        assert gw.get("/__mock/usage", params={"key": key}).json()["quota"] == 50_000 * factor


def test_an_error_answer_costs_nothing_and_is_logged(gw: TestClient) -> None:
    key = new_key(gw, quota=100_000)
    assert (
        gw.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": "bad"}, headers=bearer(key)).status_code
        == 400
    )
    gw.post("/__mock/faults", json={"operation": "chat_completions", "status": 500, "times": 1})
    assert gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)).status_code == 500
    usage = gw.get("/__mock/usage", params={"key": key, "rows": "1"}).json()
    assert (usage["quota"], usage["errors"], usage["remain_quota"]) == (0, 2, 100_000)
    assert [row["type"] for row in usage["rows"]] == [5, 5]


def test_logs_filter_and_page_like_new_api(gw: TestClient) -> None:
    a = new_key(gw, name="alpha")
    b = new_key(gw, name="beta")
    gw.post("/v1/chat/completions", json=CHAT, headers=bearer(a))
    gw.post("/v1/chat/completions", json={**CHAT, "model": "gpt-4o-mini", "stream": True}, headers=bearer(b))
    gw.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"}, headers=bearer(a))
    access = bearer("admin")
    everything = gw.get("/yescale/logs", headers=access).json()["data"]
    assert everything["total"] == 3
    newest = everything["items"][0]
    assert newest["model_name"] == "text-embedding-3-small" and newest["token_name"] == "alpha"
    alpha = gw.get("/yescale/logs", headers=access, params={"token_name": "alpha"}).json()["data"]
    assert alpha["total"] == 2
    streamed = gw.get("/yescale/logs", headers=access, params={"model_name": "gpt-4o-mini"}).json()["data"]["items"]
    assert len(streamed) == 1 and streamed[0]["is_stream"] is True and streamed[0]["quota"] > 0
    page = gw.get("/yescale/logs", headers=access, params={"p": 2, "page_size": 2}).json()["data"]
    assert (page["page"], page["total"], len(page["items"])) == (2, 3, 1)
    for row in everything["items"]:
        assert row["request_id"] and row["use_time"] >= 0 and row["key"].startswith("sk-")


def test_the_system_api_edits_the_same_keys(gw: TestClient) -> None:
    key = new_key(gw, name="edit-me", quota=1)
    access = bearer("admin")
    listed = [k for k in gw.get("/yescale/apikeylist", headers=access).json()["data"] if k["name"] == "edit-me"]
    assert len(listed) == 1 and listed[0]["remain_quota"] == 1
    gw.put(f"/yescale/editquota/{listed[0]['id']}", headers=access, json={"remain_quota": 100_000})
    assert gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)).status_code == 200
    assert gw.delete(f"/yescale/deletekey/{listed[0]['id']}", headers=access).status_code == 200
    assert gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)).status_code == 401


def test_control_api_validates_and_edits_keys(gw: TestClient) -> None:
    bad = gw.post("/__mock/keys", json={"key": "sk-x", "rpm": "fast"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "rpm"
    assert gw.post("/__mock/keys", json={"key": "sk-x", "colour": 1}).json()["error"]["param"] == "colour"
    assert gw.post("/__mock/keys", json={"allow_ips": ["nope"]}).status_code == 400
    assert gw.post("/__mock/keys", json={"key": "sk-admin"}).status_code == 409
    made = gw.post("/__mock/keys", json=[{"name": "one"}, {"name": "two"}]).json()
    assert [k["name"] for k in made] == ["one", "two"] and all(len(k["key"]) == 51 for k in made)
    edited = gw.patch(f"/__mock/keys/{made[0]['id']}", json={"status": "disabled", "quota": 5})
    assert edited.json()["status"] == "disabled" and edited.json()["remain_quota"] == 5
    assert gw.patch(f"/__mock/keys/{made[0]['id']}", json={"key": "sk-new"}).status_code == 400
    # an unlimited key disabled as docs/gateway.md shows it (its remain_quota of 0 is no limit to keep)
    disabled = gw.patch(f"/__mock/keys/{made[1]['id']}", json={"status": "disabled"})
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert disabled.json()["unlimited_quota"] is True
    assert gw.get("/__mock/keys/999999").status_code == 404
    assert gw.delete(f"/__mock/keys/{made[1]['id']}").json() == {"deleted": made[1]["id"]}
    gw.delete("/__mock/keys")
    assert [k["name"] for k in gw.get("/__mock/keys").json()["keys"]] == ["api-key-1"]
    assert gw.get("/__mock/usage", params={"key": ""}).status_code == 400


def test_reset_restores_keys_and_forgets_usage(gw: TestClient) -> None:
    key = new_key(gw)
    gw.post("/v1/chat/completions", json=CHAT, headers=bearer("sk-admin"))
    gw.post("/__mock/reset")
    assert gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key)).status_code == 401
    assert gw.get("/__mock/usage").json()["calls"] == 0


def test_a_keys_file_declares_keys_and_a_bad_one_fails_at_start(tmp_path: Path) -> None:
    good = tmp_path / "keys.json"
    good.write_text(json.dumps({"keys": [{"key": "sk-file", "quota": 10, "name": "from-file"}]}))
    with make(keys=str(good)) as client:
        assert client.post("/v1/chat/completions", json=CHAT, headers=bearer("sk-other")).status_code == 401
        r = client.post("/v1/chat/completions", json=CHAT, headers=bearer("sk-file"))
        assert r.status_code == 403  # 10 quota cannot cover the pre-consumption
        assert [k["name"] for k in client.get("/__mock/keys").json()["keys"]] == ["from-file"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"key": "sk-a", "tpm": -1}]))
    with pytest.raises(KeySpecError, match=r"keys\[0\]\.tpm"):
        create_app(Settings(keys=str(bad)))
    with pytest.raises(KeySpecError, match="cannot read"):
        create_app(Settings(keys=str(tmp_path / "missing.json")))


def test_serve_refuses_a_bad_keys_file_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "keys.json"
    bad.write_text('[{"key": "sk-a", "rpm": "fast"}]')
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--keys", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "listening" not in done.stdout
    assert done.stderr.strip().splitlines() == [
        f"mockserver serve: --keys {bad}: keys[0].rpm: must be a whole number in 0..1000000000 (got 'fast')"
    ]


def test_each_kind_of_call_is_priced_its_way() -> None:
    with make(mj_concurrency=1, mj_queue_size=1) as client:

        def spent(key: str) -> int:
            return int(client.get("/__mock/usage", params={"key": key}).json()["quota"])

        claude = {
            "model": "claude-3-5-sonnet-20241022",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "hi"}],
        }
        usage = client.post("/v1/messages", json=claude, headers={"x-api-key": "sk-a"}).json()["usage"]
        # new-api rounds half away from zero (decimal.Round), not to even
        assert spent("sk-a") == int((usage["input_tokens"] + usage["output_tokens"] * 5) * 1.5 + 0.5)
        assert (
            client.post(
                "/suno/submit/music", json={"prompt": "a song", "mv": "chirp-v3-5"}, headers=bearer("sk-s")
            ).status_code
            == 200
        )
        assert spent("sk-s") == 50_000  # suno_music $0.1
        client.post("/kling/v1/videos/text2video", json={"prompt": "a cat", "duration": "10"}, headers=bearer("sk-v"))
        assert spent("sk-v") == 140_000  # $0.028 a second x 10 s
        codes = [client.post("/mj/submit/imagine", json=MJ, headers=bearer("sk-m")).json()["code"] for _ in range(3)]
        assert codes[0] == 1 and codes[1] in (1, 22) and codes[2] == 23
        assert spent("sk-m") == 2 * 50_000  # the refused submit (queue full) costs nothing


def test_two_servers_on_one_sqlite_store_share_keys_and_quota(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    with make(api_key=("sk-admin",), store=store) as first, make(api_key=("sk-admin",), store=store) as second:
        key = new_key(first, quota=700)
        assert second.post("/v1/chat/completions", json=CHAT, headers=bearer(key)).status_code == 200
        err = gateway_error(first.post("/v1/chat/completions", json=CHAT, headers=bearer(key)), 403)
        assert err["code"] == "pre_consume_token_quota_failed"  # the other server's charge counts here
        usage = first.get("/__mock/usage", params={"key": key, "rows": "1"}).json()
        assert usage["calls"] == 1 and usage["quota"] + usage["remain_quota"] == 700 and len(usage["rows"]) == 1


def test_the_docs_keys_file_example_loads(tmp_path: Path) -> None:
    import re

    from mockserver.gateway.keys import load_keys_file

    doc = (Path(__file__).resolve().parents[2] / "docs" / "gateway.md").read_text(encoding="utf-8")
    example = tmp_path / "keys.json"
    example.write_text(re.search(r"```json\n(.*?)```", doc, re.S).group(1))  # type: ignore[union-attr]
    keys = load_keys_file(str(example))
    assert [(k.name, k.rpm, k.model_limits) for k in keys][:2] == [("ci", 0, ("gpt-4o-mini",)), ("", 60, ())]


def test_a_spoken_chat_answer_is_charged_at_the_audio_ratio() -> None:
    with make() as client:
        body = {
            "model": "gpt-4o-audio-preview",
            "modalities": ["text", "audio"],
            "audio": {"voice": "alloy", "format": "pcm16"},
            "messages": [{"role": "user", "content": "Say hello"}],
        }
        usage = client.post("/v1/chat/completions", json=body, headers=bearer("sk-audio")).json()["usage"]
        audio = usage["completion_tokens_details"]["audio_tokens"]
        assert audio > 0
        text = usage["completion_tokens"] - audio
        row = client.get("/__mock/usage", params={"key": "sk-audio", "rows": 1}).json()["rows"][-1]
        assert row["quota"] == int((usage["prompt_tokens"] + text * 4 + audio * 16) * 1.25 + 0.5)
        assert "音频倍率 16.00" in row["content"]
