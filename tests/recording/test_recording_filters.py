"""Redaction filters: every placement of a secret, configured extras, chunk boundaries, idempotence."""

from __future__ import annotations

import orjson
import pytest

from mockserver.recording import Chunk, Interaction, RecordedRequest, RecordedResponse
from mockserver.recording.filters import (
    REDACTED,
    RedactionRules,
    redact_interaction,
    redact_request,
    redact_response,
)

KEY = "sk-live0123456789abcdefABCDEF"
GOOGLE = "AIzaSyD-0123456789abcdefghijklmnopqrstu"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
RULES = RedactionRules.build()


def req(
    body: bytes | None = None, headers: dict[str, list[str]] | None = None, uri: str = "https://h/v1/x"
) -> RecordedRequest:
    return RecordedRequest("POST", uri, headers or {"content-type": ["application/json"]}, body)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Authorization", f"Bearer {KEY}", "Bearer REDACTED"),
        ("x-api-key", "anthropic-key-123456", "REDACTED"),
        ("x-goog-api-key", GOOGLE, "REDACTED"),
        ("mj-api-secret", "mj-secret-value", "REDACTED"),
        ("Cookie", "session=abcdef123456", "REDACTED"),
        ("api-key", "azure-key-123456", "REDACTED"),
    ],
)
def test_secret_headers(name: str, value: str, expected: str) -> None:
    out = redact_request(req(headers={name: [value], "Accept": ["*/*"]}), RULES)
    assert out.headers[name] == [expected]
    assert out.headers["Accept"] == ["*/*"]


def test_query_keys_keep_order_and_other_params() -> None:
    out = redact_request(req(uri=f"https://h/v1beta/models/g:generateContent?alt=sse&key={GOOGLE}&x=1"), RULES)
    assert out.uri == "https://h/v1beta/models/g:generateContent?alt=sse&key=REDACTED&x=1"
    assert out.query == [("alt", "sse"), ("key", REDACTED), ("x", "1")]


def test_json_body_fields_and_key_shapes_formatting_kept() -> None:
    body = (
        b'{\n  "api_key": "plain-secret-value",\n  "nested": {"password": "hunter22"},\n'
        b'  "prompt": "use ' + KEY.encode() + b' please",\n  "key": "abcdefghijABCDEFGHIJ0123",\n'
        b'  "token_count": 3, "keyword": "short"\n}'
    )
    out = redact_request(req(body), RULES)
    assert out.body is not None
    text = out.body.decode()
    for secret in ("plain-secret-value", "hunter22", KEY, "abcdefghijABCDEFGHIJ0123"):
        assert secret not in text
    assert text.startswith('{\n  "api_key": "REDACTED",\n')  # edited in place: formatting kept
    assert '"prompt": "use REDACTED please"' in text
    assert '"keyword": "short"' in text and '"token_count": 3' in text


@pytest.mark.parametrize("secret", [GOOGLE, JWT, KEY])
def test_key_shapes_in_plain_text(secret: str) -> None:
    out = redact_request(req(f"text {secret} end".encode(), {"content-type": ["text/plain"]}), RULES)
    assert out.body == b"text REDACTED end"


def test_bearer_token_inside_a_body() -> None:
    out = redact_request(req(b'{"headers": {"X-Upstream": "Bearer abcdefghijklmnop123"}}'), RULES)
    assert out.body == b'{"headers": {"X-Upstream": "Bearer REDACTED"}}'


def test_form_bodies_are_redacted_like_queries() -> None:
    body = b"model=whisper-1&api_key=abcdef123456&prompt=hi"
    out = redact_request(req(body, {"content-type": ["application/x-www-form-urlencoded"]}), RULES)
    assert out.body == b"model=whisper-1&api_key=REDACTED&prompt=hi"


def test_configured_headers_paths_and_patterns() -> None:
    rules = RedactionRules.build(
        headers=["X-Team-Token"], json_paths=["user.email", "items[*].id", "meta.n"], patterns=[r"acct_[0-9]+"]
    )
    body = (
        b'{"user": {"email": "a@b.c", "name": "A"}, "items": [{"id": "i1"}, {"id": "i2"}],'
        b' "meta": {"n": 42}, "note": "acct_991"}'
    )
    out = redact_request(req(body, {"X-Team-Token": ["t"], "content-type": ["application/json"]}), rules)
    assert out.headers["X-Team-Token"] == [REDACTED]
    doc = orjson.loads(out.body or b"")
    assert doc == {
        "user": {"email": REDACTED, "name": "A"},
        "items": [{"id": REDACTED}, {"id": REDACTED}],
        "meta": {"n": REDACTED},  # a non-string value: the JSON is rewritten
        "note": REDACTED,
    }
    with pytest.raises(ValueError, match="not a valid regex"):
        RedactionRules.build(patterns=["(unclosed"])
    with pytest.raises(ValueError, match="bad JSON path"):
        RedactionRules.build(json_paths=["a..[x"])


def test_secrets_from_the_request_are_scrubbed_from_the_response() -> None:
    item = Interaction(
        request=req(None, {"Authorization": ["Bearer my-custom-gateway-key"], "mj-api-secret": ["mjsecret99"]}),
        response=RecordedResponse(
            401,
            {"Set-Cookie": ["s=1"], "X-Debug": ["key my-custom-gateway-key rejected"]},
            b'{"error": {"message": "Invalid token my-custom-gateway-key / mjsecret99"}}',
        ),
    )
    out = redact_interaction(item, RULES)
    assert out.response.body == b'{"error": {"message": "Invalid token REDACTED / REDACTED"}}'
    assert out.response.headers == {"Set-Cookie": [REDACTED], "X-Debug": ["key REDACTED rejected"]}


def test_stream_chunks_follow_the_edits() -> None:
    pieces = [b'data: {"k": "sk-abc', b"defghijklmnopqrstu" + b'"}\n\n', b'data: {"ok": 1}\n\n']
    body = b"".join(pieces)
    resp = RecordedResponse(
        200,
        {"content-type": ["text/event-stream"]},
        body,
        chunks=[Chunk(i * 0.1, len(p)) for i, p in enumerate(pieces)],
    )
    out = redact_response(resp, RULES)
    assert out.body == b'data: {"k": "REDACTED"}\n\ndata: {"ok": 1}\n\n'
    assert out.chunks is not None and sum(c.size for c in out.chunks) == len(out.body)
    got = [p for _, p in out.pieces()]
    # the secret straddled the first boundary: that boundary moves to the end of the replacement
    assert got == [b'data: {"k": "REDACTED', b'"}\n\n', b'data: {"ok": 1}\n\n']
    assert [c.at for c in out.chunks] == [0.0, 0.1, 0.2]


def test_redaction_is_idempotent() -> None:
    body = b'{"api_key": "plain-secret-value", "p": "' + KEY.encode() + b'", "n": {"password": 5}}'
    rules = RedactionRules.build(json_paths=["n.password"])
    once = redact_request(
        req(body, {"Authorization": [f"Bearer {KEY}"], "content-type": ["application/json"]}, "https://h/?key=zz"),
        rules,
    )
    twice = redact_request(once, rules)
    assert (twice.body, twice.headers, twice.uri) == (once.body, once.headers, once.uri)
    assert twice.uri.endswith("key=REDACTED")


def test_binary_bodies_only_lose_key_shapes() -> None:
    audio = bytes(range(256)) + b"sk-" + b"A" * 20 + bytes(range(256))
    out = redact_request(req(audio, {"content-type": ["audio/mpeg"]}), RULES)
    assert out.body == bytes(range(256)) + b"REDACTED" + bytes(range(256))
