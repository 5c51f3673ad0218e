"""Matchers: every one in the table, canonical bodies, the configured list, and the explanations."""

from __future__ import annotations

import pytest

from mockserver.recording import MATCHERS, RecordedRequest
from mockserver.recording.matchers import (
    DEFAULT_MATCH_ON,
    MatchOptions,
    canonical_body,
    check_match_on,
    explain,
    match_key,
)

OPTS = MatchOptions.build()
JSON = {"content-type": ["application/json"]}


def r(
    method: str = "POST",
    uri: str = "https://api.yescale.io/v1/chat/completions?a=1&b=2",
    body: bytes | None = b'{"model": "m", "n": 1}',
    headers: dict[str, list[str]] | None = None,
) -> RecordedRequest:
    return RecordedRequest(method, uri, headers if headers is not None else dict(JSON), body)


def same(name: str, a: RecordedRequest, b: RecordedRequest, options: MatchOptions = OPTS) -> bool:
    return MATCHERS[name](a, options) == MATCHERS[name](b, options)


def test_the_table_names_every_matcher() -> None:
    assert set(MATCHERS) == {"method", "scheme", "host", "port", "path", "query", "uri", "body", "raw_body", "headers"}
    assert set(DEFAULT_MATCH_ON) <= set(MATCHERS)


def test_method_scheme_host_port_path() -> None:
    assert same("method", r("post"), r("POST")) and not same("method", r("GET"), r("POST"))
    assert not same("scheme", r(uri="http://h/x"), r(uri="https://h/x"))
    assert same("host", r(uri="https://API.yescale.io/x"), r(uri="https://api.yescale.io/y"))
    assert not same("host", r(uri="https://a/x"), r(uri="https://b/x"))
    assert same("port", r(uri="https://h/x"), r(uri="https://h:443/x"))
    assert not same("port", r(uri="http://h:8080/x"), r(uri="http://h/x"))
    assert same("path", r(uri="https://h/mj/task/a%20b/fetch"), r(uri="http://other/mj/task/a b/fetch"))
    assert not same("path", r(uri="https://h/v1/a"), r(uri="https://h/v1/b"))


def test_query_ignores_order_but_not_values_or_repeats() -> None:
    assert same("query", r(uri="https://h/x?a=1&b=2"), r(uri="https://h/x?b=2&a=1"))
    assert not same("query", r(uri="https://h/x?a=1"), r(uri="https://h/x?a=2"))
    assert not same("query", r(uri="https://h/x?a=1"), r(uri="https://h/x?a=1&a=1"))


def test_uri_combines_everything_but_the_body() -> None:
    assert same("uri", r(uri="https://h/x?a=1&b=2"), r(uri="https://h:443/x?b=2&a=1"))
    assert not same("uri", r(uri="https://h/x"), r(uri="https://g/x"))


def test_body_is_canonical_json() -> None:
    a = r(body=b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}')
    b = r(body=b'{"messages":[{"content":"hi","role":"user"}],"model":"m"}')
    assert same("body", a, b)
    assert not same("raw_body", a, b)
    assert not same("body", a, r(body=b'{"model": "m", "messages": [{"role": "user", "content": "ho"}]}'))
    assert not same("body", r(body=b'{"a": [1, 2]}'), r(body=b'{"a": [2, 1]}'))  # list order matters


def test_body_ignores_configured_and_callback_fields() -> None:
    a = r(body=b'{"prompt": "cat", "notifyHook": "http://127.0.0.1:5000/hook", "meta": {"rid": "1", "k": 2}}')
    b = r(body=b'{"prompt": "cat", "notifyHook": "http://127.0.0.1:6000/hook", "meta": {"rid": "2", "k": 2}}')
    assert not same("body", a, b)
    assert same("body", a, b, MatchOptions.build(["meta.rid"]))
    assert not same(
        "body", a, r(body=b'{"prompt": "dog", "meta": {"rid": "1", "k": 2}}'), MatchOptions.build(["meta.rid"])
    )
    items = MatchOptions.build(["messages[*].id"])
    assert same(
        "body", r(body=b'{"messages": [{"id": 1, "t": "a"}]}'), r(body=b'{"messages": [{"id": 2, "t": "a"}]}'), items
    )


def _multipart(boundary: str, field_order: tuple[str, str] = ("model", "file")) -> RecordedRequest:
    parts = {
        "model": f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n',
        "file": (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\n'
            "Content-Type: audio/mpeg\r\n\r\n\x00\x01\x02\r\n"
        ),
    }
    body = ("".join(parts[f] for f in field_order) + f"--{boundary}--\r\n").encode("latin-1")
    return r(body=body, headers={"content-type": [f"multipart/form-data; boundary={boundary}"]})


def test_multipart_bodies_match_without_their_boundary() -> None:
    a, b = _multipart("aaa111"), _multipart("zzz999", ("file", "model"))
    assert same("body", a, b)
    assert not same("raw_body", a, b)
    parts = canonical_body(a, OPTS)
    assert ["model", None, "", "whisper-1"] in parts
    assert any(p[0] == "file" and p[1] == "a.mp3" and p[3].startswith("sha:") for p in parts)
    other = _multipart("aaa111")
    other.body = (other.body or b"").replace(b"whisper-1", b"whisper-2")
    assert not same("body", a, other)


def test_form_and_text_bodies() -> None:
    form = {"content-type": ["application/x-www-form-urlencoded"]}
    assert same("body", r(body=b"a=1&b=2", headers=form), r(body=b"b=2&a=1", headers=form))
    assert not same("body", r(body=b"hello", headers={}), r(body=b"hellO", headers={}))
    assert same("body", r("GET", body=None), r("GET", body=b""))


def test_headers_ignore_volatile_ones() -> None:
    a = r(headers={"User-Agent": ["x/1"], "X-Stainless-Os": ["Linux"], "OpenAI-Beta": ["assistants=v2"], **JSON})
    b = r(headers={"user-agent": ["y/2"], "openai-beta": ["assistants=v2"]})
    assert same("headers", a, b)
    assert not same("headers", a, r(headers={"OpenAI-Beta": ["assistants=v1"]}))


def test_match_on_is_validated() -> None:
    assert check_match_on(["method", " path "]) == ("method", "path")
    with pytest.raises(ValueError, match=r"unknown matcher.*bogus.*known: method"):
        check_match_on(["method", "bogus"])
    with pytest.raises(ValueError, match="at least one"):
        check_match_on([])
    assert match_key(r(), ("method", "path"), OPTS) == ("POST", "/v1/chat/completions")


def test_explanations_say_what_differs() -> None:
    a = r(body=b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}')
    b = r(body=b'{"model": "gpt-4o", "temperature": 1, "messages": [{"role": "user", "content": "Hi"}]}')
    text = explain("body", a, b, OPTS)
    assert "messages[0].content: recorded 'Hello', got 'Hi'" in text
    assert "temperature: only in this request" in text
    assert "a: recorded '1', got '3'" in explain("query", r(uri="https://h/x?a=1"), r(uri="https://h/x?a=3"), OPTS)
    assert explain("method", r("GET"), r("POST"), OPTS) == "method differs: recorded 'GET', got 'POST'"
    assert explain("raw_body", r(body=b"a"), r(body=b"b"), OPTS) == "raw_body differs"
