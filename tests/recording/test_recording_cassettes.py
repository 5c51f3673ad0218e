"""Cassette model: YAML round trips (text, binary, streams), VCR.py cassettes, errors, atomic writes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.contracts import Contracts
from mockserver.recording import (
    Cassette,
    CassetteError,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    create_replay_app,
    load_cassette,
    save_cassette,
)
from mockserver.recording.cassettes import cassette_files, parse_cassette, render_cassette
from mockserver.recording.persist import write_atomic
from mockserver.settings import Settings
from tests.recording.recording_helpers import JSON, call

FIXTURES = Path(__file__).parent / "fixtures"


def _interaction(body: bytes, req_body: bytes | None = b'{"a":1}', chunks: list[Chunk] | None = None) -> Interaction:
    return Interaction(
        request=RecordedRequest(
            "POST", "https://api.yescale.io/v1/x?b=2&a=1", {"Content-Type": ["application/json"]}, req_body
        ),
        response=RecordedResponse(
            200, {"Content-Type": ["text/event-stream"], "Set-Cookie": ["a=1", "b=2"]}, body, "OK", chunks
        ),
        operation="x",
        recorded_at="2025-01-01T00:00:00.000Z",
    )


def _roundtrip(cassette: Cassette, tmp_path: Path) -> Cassette:
    path = save_cassette(tmp_path / "c.yaml", cassette)
    return load_cassette(path)


def test_text_stream_and_chunks_round_trip_readably(tmp_path: Path) -> None:
    sse = b'data: {"x":"h\xc3\xa9"}\n\ndata: {"x":2}\n\ndata: [DONE]\n\n'
    item = _interaction(sse, chunks=[Chunk(0.0, 15), Chunk(0.05, 14), Chunk(0.1, len(sse) - 29)])
    loaded = _roundtrip(Cassette([item]), tmp_path)
    got = loaded.interactions[0]
    assert got.response.body == sse
    assert got.response.chunks == item.response.chunks
    assert [p for _, p in got.response.pieces()] == [sse[:15], sse[15:29], sse[29:]]
    assert got.response.headers["Set-Cookie"] == ["a=1", "b=2"]
    assert got.request.query == [("b", "2"), ("a", "1")]
    assert (got.operation, got.recorded_at) == ("x", "2025-01-01T00:00:00.000Z")
    text = (tmp_path / "c.yaml").read_text()
    assert "string: |" in text  # SSE as a readable literal block, not an escaped one-liner
    assert "hé" in text
    assert "{at: 0.05, size: 14}" in text
    assert text.startswith("version: 1\n")


def test_binary_bodies_are_base64_and_exact(tmp_path: Path) -> None:
    audio = bytes(range(256)) * 3
    item = _interaction(audio, req_body=b"\x00\x01binary\xff")
    loaded = _roundtrip(Cassette([item]), tmp_path)
    assert loaded.interactions[0].response.body == audio
    assert loaded.interactions[0].request.body == b"\x00\x01binary\xff"
    assert (tmp_path / "c.yaml").read_text().count("!!binary") == 2


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=300), text=st.text(max_size=200), header=st.text(min_size=0, max_size=40))
def test_any_body_round_trips(body: bytes, text: str, header: str) -> None:
    item = Interaction(
        request=RecordedRequest("PUT", "http://h/p", {"X": [header]}, text.encode()),
        response=RecordedResponse(201, {}, body),
    )
    other = Interaction(RecordedRequest("GET", "http://h/q"), RecordedResponse(200, {}, text.encode() + b"\n\n"))
    loaded, second, third = parse_cassette(render_cassette(Cassette([item, other, item]))).interactions
    assert second.response.body == text.encode() + b"\n\n"
    assert third.response.body == body
    assert loaded.response.body == body
    assert loaded.request.body == text.encode()
    assert loaded.request.headers == {"X": [header]}


def test_unknown_keys_are_kept(tmp_path: Path) -> None:
    text = (
        "version: 1\ninteractions:\n"
        "- request: {method: GET, uri: 'http://h/'}\n  response: {status: {code: 204}}\n  note: hi\n"
    )
    cassette = parse_cassette(text)
    assert cassette.interactions[0].extra == {"note": "hi"}
    assert "note: hi" in (tmp_path / save_cassette(tmp_path / "k.yaml", cassette)).read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("interactions: {}", "interactions` list"),
        ("version: 2\ninteractions: []", "version 2"),
        ("interactions:\n- request: {method: GET}\n  response: {status: 200}", "interaction 0: request needs"),
        ("interactions:\n- request: {method: GET, uri: /}\n  response: {status: {code: x}}", "must be an integer"),
        ("interactions: [\n", "not valid YAML"),
    ],
)
def test_bad_cassettes_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(CassetteError, match=message):
        parse_cassette(text, "bad.yaml")


def test_missing_file_is_an_empty_cassette(tmp_path: Path) -> None:
    assert len(load_cassette(tmp_path / "nope.yaml")) == 0


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "c.yaml"
    write_atomic(path, "version: 1\ninteractions: []\n")
    write_atomic(path, "version: 1\ninteractions: []\n# second\n")
    assert path.read_text().endswith("# second\n")
    assert [p.name for p in path.parent.iterdir()] == ["c.yaml"]
    (tmp_path / "sub" / ".c.yaml.123.tmp").write_text("half a cass")  # what a killed writer leaves
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.yaml").write_text("interactions: []")
    assert cassette_files(tmp_path) == [path]


# ---------------------------------------------------------------------------------------------
# VCR.py cassettes recorded against api.yescale.io


def test_vcr_cassette_loads_with_gzip_and_httpx_flavours() -> None:
    cassette = load_cassette(FIXTURES / "vcr_yescale.yaml")
    assert [i.response.status for i in cassette] == [200, 200, 200, 404]
    models = cassette.interactions[1]
    assert "Content-Encoding" not in models.response.headers  # decoded on load
    assert orjson.loads(models.response.body)["data"][0]["id"] == "gpt-4o"
    assert cassette.interactions[2].response.body.startswith(b'{"id":"chatcmpl-XyZ"')  # old httpx `content:` form


def test_vcr_cassette_replays_as_it_is(tmp_path: Path, test_contracts: Contracts) -> None:
    app = create_replay_app(Settings(cassettes=str(FIXTURES / "vcr_yescale.yaml")), contracts=test_contracts)
    # Same request, keys in another order and whitespace: the canonical body matches.
    body = b'{"temperature":0,"messages":[{"content":"Say hi","role":"user"}],"model":"gpt-4o-mini"}'
    first = call(app, "POST", "/v1/chat/completions", body=body, headers={**JSON, "authorization": "Bearer sk-real"})
    assert first.status == 200
    assert first.json()["choices"][0]["message"]["content"] == "Hi!"
    assert "transfer-encoding" not in first.headers
    assert first.headers["x-oneapi-request-id"] == "20240922100000123456789AbCdEfGh"
    models = call(app, "GET", "/v1/models", query="limit=2")
    assert models.status == 200 and "content-encoding" not in models.headers
    assert models.json()["object"] == "list"
    bye = call(
        app,
        "POST",
        "/v1/chat/completions",
        body=b'{"messages":[{"role":"user","content":"Say bye"}],"model":"gpt-4o-mini"}',
    )
    assert bye.json()["choices"][0]["message"]["content"] == "Bye!"
    missing = call(
        app, "POST", "/v1/chat/completions", body=b'{"model":"nope","messages":[{"role":"user","content":"x"}]}'
    )
    assert missing.status == 404
    assert missing.json()["error"]["code"] == "model_not_found"  # the recorded 404, not a miss


def test_our_cassettes_are_plain_yaml_for_other_tools(tmp_path: Path) -> None:
    item = _interaction(b"data: 1\n\n", chunks=[Chunk(0.0, 9)])
    path = save_cassette(tmp_path / "c.yaml", Cassette([item]))
    data = yaml.safe_load(path.read_text())
    assert data["version"] == 1
    assert data["interactions"][0]["response"]["body"]["string"] == "data: 1\n\n"
    assert data["interactions"][0]["response"]["status"] == {"code": 200, "message": "OK"}


def test_parse_cache_is_used_and_invalidated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver.recording import cache

    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    path = save_cassette(tmp_path / "c.yaml", Cassette([_interaction(b"one")]))
    assert load_cassette(path).interactions[0].response.body == b"one"
    (entry,) = (tmp_path / "cache").glob("*.marshal")
    # A cached parse is used as long as the file is unchanged (prove it by planting a different one).
    planted = yaml.safe_load(render_cassette(Cassette([_interaction(b"from cache")])))
    import marshal

    entry.write_bytes(marshal.dumps(planted))
    assert load_cassette(path).interactions[0].response.body == b"from cache"
    # Any change to the file misses the cache, and the stale entry is replaced.
    save_cassette(path, Cassette([_interaction(b"two"), _interaction(b"three")]))
    assert [i.response.body for i in load_cassette(path)] == [b"two", b"three"]
    assert len(list((tmp_path / "cache").glob("*.marshal"))) == 1
    # A broken cache entry is ignored; `off` disables the cache.
    for stale in (tmp_path / "cache").glob("*.marshal"):
        stale.write_bytes(b"garbage")
    assert len(load_cassette(path)) == 2
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", "off")
    assert cache.cache_dir() is None


def test_the_example_cassette_replays(test_contracts: Contracts) -> None:
    example = Path(__file__).parents[2] / "cassettes" / "example.yaml"
    app = create_replay_app(Settings(cassettes=str(example)), contracts=test_contracts)
    models = call(app, "GET", "/v1/models", headers={"authorization": "Bearer sk-anything"})
    assert models.status == 200 and models.json()["object"] == "list"
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}],"stream":true}'
    stream = call(app, "POST", "/v1/chat/completions", body=body, headers=JSON)
    recorded = load_cassette(example).interactions[2].response
    assert recorded.chunks is not None and len(stream.chunks) == len(recorded.chunks) > 1
