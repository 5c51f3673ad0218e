"""Record modes (VCR semantics), misses explained in the family's envelope, the emulator fallback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mockserver.contracts import Contracts
from mockserver.recording import CassetteApp, RecordMode, create_proxy_app, create_replay_app, load_cassette
from mockserver.recording.modes import plan_for
from mockserver.settings import Settings
from tests.recording.recording_helpers import JSON, Answer, FakeGateway, call, chat_body

Proxy = Callable[[Path, str], CassetteApp]


@pytest.fixture
def proxy(gateway: FakeGateway, test_contracts: Contracts) -> Proxy:
    """`proxy(cassette, mode)`: the recording proxy in-process, its upstream the fake gateway (no sockets)."""

    def make(cassette: Path, mode: str) -> CassetteApp:
        settings = Settings(upstream="http://gateway.test", cassettes=str(cassette), record_mode=mode)
        transport = httpx.ASGITransport(app=gateway.app)
        return create_proxy_app(settings, contracts=test_contracts, upstream_transport=transport)

    return make


def _chat(app: CassetteApp, content: str) -> Answer:
    return call(app, "POST", "/v1/chat/completions", body=chat_body(content), headers=JSON)


@pytest.fixture
def recorded(tmp_path: Path, proxy: Proxy, gateway: FakeGateway) -> Path:
    """A cassette holding the chats 'one' and 'two'."""
    path = tmp_path / "chat.yaml"
    app = proxy(path, "all")
    _chat(app, "one")
    _chat(app, "two")
    gateway.calls.clear()
    return path


def test_record_mode_parsing_and_plans() -> None:
    assert RecordMode.parse("NEW-EPISODES") is RecordMode.NEW_EPISODES
    with pytest.raises(ValueError, match="not one of none, once, new_episodes, all"):
        RecordMode.parse("sometimes")
    assert plan_for(RecordMode.NONE, False) == plan_for(RecordMode.NONE, True)
    assert not plan_for(RecordMode.NONE, True).record
    assert plan_for(RecordMode.ONCE, True).replay and not plan_for(RecordMode.ONCE, True).record
    assert plan_for(RecordMode.ONCE, False).record and plan_for(RecordMode.ONCE, False).fresh
    assert plan_for(RecordMode.NEW_EPISODES, True).replay and plan_for(RecordMode.NEW_EPISODES, True).record
    assert not plan_for(RecordMode.ALL, True).replay and plan_for(RecordMode.ALL, True).fresh


def test_none_replays_and_never_calls_the_upstream(recorded: Path, gateway: FakeGateway, proxy: Proxy) -> None:
    app = proxy(recorded, "none")
    assert _chat(app, "one").json()["choices"][0]["message"]["content"] == "echo: one"
    miss = _chat(app, "three")
    assert miss.status == 404 and miss.json()["error"]["code"] == "cassette_miss"
    assert gateway.calls == []
    assert len(load_cassette(recorded)) == 2


def test_once_records_a_new_cassette_then_only_replays(tmp_path: Path, gateway: FakeGateway, proxy: Proxy) -> None:
    path = tmp_path / "once.yaml"
    first = proxy(path, "once")
    _chat(first, "a")
    _chat(first, "a")  # recorded twice: nothing is replayed while recording a new cassette
    assert gateway.calls == ["POST /v1/chat/completions"] * 2
    second = proxy(path, "once")
    assert _chat(second, "a").status == 200
    assert _chat(second, "b").status == 404  # the cassette exists: a miss, not a recording
    assert len(gateway.calls) == 2 and len(load_cassette(path)) == 2


def test_new_episodes_replays_known_and_records_new(recorded: Path, gateway: FakeGateway, proxy: Proxy) -> None:
    app = proxy(recorded, "new_episodes")
    assert _chat(app, "one").status == 200
    assert gateway.calls == []
    _chat(app, "three")
    _chat(app, "three")  # recorded in this session: forwarded again, not answered from the first
    assert gateway.calls == ["POST /v1/chat/completions"] * 2
    contents = [i.request.body for i in load_cassette(recorded)]
    assert len(contents) == 4 and all(b"three" in (c or b"") for c in contents[2:])


def test_recordings_say_which_redaction_rules_wrote_them(recorded: Path, tmp_path: Path, proxy: Proxy) -> None:
    from mockserver.recording.filters import RedactionRules

    assert load_cassette(recorded).meta["redacted_with"] == RedactionRules.build().fingerprint
    assert RedactionRules.build(patterns=["x+"]).fingerprint != RedactionRules.build().fingerprint
    # Appending to a cassette written otherwise (here: by VCR.py) cannot claim the whole file is redacted.
    vcr = tmp_path / "vcr.yaml"
    vcr.write_bytes((Path(__file__).parent / "fixtures" / "vcr_yescale.yaml").read_bytes())
    _chat(proxy(vcr, "new_episodes"), "new one")
    assert "redacted_with" not in load_cassette(vcr).meta and len(load_cassette(vcr)) == 5


def test_all_records_afresh(recorded: Path, gateway: FakeGateway, proxy: Proxy) -> None:
    _chat(proxy(recorded, "all"), "one")
    assert gateway.calls == ["POST /v1/chat/completions"]
    cassette = load_cassette(recorded)
    assert len(cassette) == 1 and b"one" in (cassette.interactions[0].request.body or b"")


def test_a_miss_explains_the_nearest_requests_in_the_family_envelope(recorded: Path, test_contracts: Contracts) -> None:
    app = create_replay_app(Settings(cassettes=str(recorded)), contracts=test_contracts)
    miss = call(app, "POST", "/v1/chat/completions", body=chat_body("twoo"), headers=JSON)
    assert miss.status == 404
    error = miss.json()["error"]
    assert error["type"] == "cassette_miss"
    message = error["message"]
    assert "No recorded interaction matches POST /v1/chat/completions" in message
    assert "matching on method, path, query, body" in message
    assert f"1) {recorded}#1 POST /v1/chat/completions — failed body" in message  # 'two' is nearer than 'one'
    assert "messages[0].content: recorded 'two', got 'twoo'" in message
    assert app.stats.misses[0].explanation in message
    # Another family's path gets that family's envelope; another path says what failed too.
    anthropic = call(app, "POST", "/v1/messages", body=b"{}", headers=JSON)
    assert anthropic.status == 404 and anthropic.json()["type"] == "error"
    assert "failed path" in anthropic.json()["error"]["message"]
    query = call(app, "POST", "/v1/chat/completions", body=chat_body("one"), headers=JSON, query="x=1")
    assert (
        "failed query" in query.json()["error"]["message"]
        and "x: only in this request" in query.json()["error"]["message"]
    )


def test_an_empty_library_says_so(tmp_path: Path, test_contracts: Contracts) -> None:
    app = create_replay_app(Settings(cassettes=str(tmp_path)), contracts=test_contracts)
    miss = call(app, "GET", "/mj/task/1/fetch")
    assert miss.status == 404 and "Nothing was recorded to compare with" in miss.json()["error"]["message"]


def test_match_on_can_be_narrowed(recorded: Path, test_contracts: Contracts) -> None:
    app = create_replay_app(Settings(cassettes=str(recorded), match_on=("method", "path")), contracts=test_contracts)
    answers = [
        call(app, "POST", "/v1/chat/completions", body=chat_body(c), headers=JSON).json() for c in ("x", "y", "z")
    ]
    assert [a["choices"][0]["message"]["content"] for a in answers] == ["echo: one", "echo: two", "echo: two"]
    with pytest.raises(ValueError, match="unknown matcher"):
        create_replay_app(Settings(cassettes=str(recorded), match_on=("nope",)), contracts=test_contracts)


def test_fallback_emulate_hands_misses_to_the_emulator(recorded: Path) -> None:
    app = create_replay_app(Settings(cassettes=str(recorded), fallback="emulate"))
    hit = call(app, "POST", "/v1/chat/completions", body=chat_body("one"), headers=JSON)
    assert hit.headers["x-mockserver-cassette"].endswith("#0")
    models = call(app, "GET", "/v1/models", headers={"authorization": "Bearer sk-x"})
    assert models.status == 200 and models.json()["object"] == "list"  # the emulator answered
    assert app.stats.fallbacks == 1 and app.stats.played == 1
    with pytest.raises(ValueError, match="fallback"):
        create_replay_app(Settings(cassettes=str(recorded), fallback="maybe"))


def test_status_endpoint_reports_what_happened(recorded: Path, test_contracts: Contracts) -> None:
    app = create_replay_app(Settings(cassettes=str(recorded)), contracts=test_contracts)
    call(app, "POST", "/v1/chat/completions", body=chat_body("one"), headers=JSON)
    call(app, "POST", "/v1/chat/completions", body=chat_body("nine"), headers=JSON)
    status = call(app, "GET", "/__mock/cassettes").json()
    assert status["mode"] == "none" and status["interactions"] == 2
    assert (status["played"], status["recorded"], len(status["misses"])) == (1, 0, 1)
    assert call(app, "GET", "/__mock/health").json()["status"] == "ok"
    assert call(app, "GET", "/__mock/nothing").status == 404


def test_head_request_and_oversized_body(recorded: Path, test_contracts: Contracts) -> None:
    app = create_replay_app(Settings(cassettes=str(recorded), max_body_bytes=10), contracts=test_contracts)
    big = call(app, "POST", "/v1/chat/completions", body=chat_body("one"), headers=JSON)
    assert big.status == 413 and "exceeds the 10-byte limit" in big.json()["error"]["message"]


def test_proxy_in_none_mode_builds_without_network(recorded: Path, test_contracts: Contracts) -> None:
    app = create_proxy_app(Settings(cassettes=str(recorded), record_mode="none"), contracts=test_contracts)
    assert app.forwarder is None and app.plan.replay
    assert call(app, "POST", "/v1/chat/completions", body=chat_body("two"), headers=JSON).status == 200
