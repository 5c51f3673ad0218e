"""How request bodies are compared when matching: multipart written by different clients, forms, broken JSON,
binary bodies, and the one-line explanations of a miss."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.recording import RecordedRequest
from mockserver.recording.matchers import MatchOptions, canonical_body, explain, json_differences, multipart_parts

OPTIONS = MatchOptions.build(["model"])


def request(body: bytes, ctype: str, uri: str = "https://api.yescale.io/v1/x") -> RecordedRequest:
    return RecordedRequest("POST", uri, {"content-type": [ctype]}, body)


CRLF = (
    b"--xyz\r\n"
    b'Content-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
    b"--xyz\r\n"
    b'Content-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\nRIFF\x00\xff\r\n'
    b"--xyz\r\n"
    b'Content-Disposition: form-data; name="blob"\r\n\r\n\xff\xfe\r\n'
    b"--xyz--\r\n"
)


def test_multipart_parts_with_crlf_and_with_bare_newlines_read_the_same() -> None:
    lf = CRLF.replace(b"\r\n", b"\n")
    crlf_parts = multipart_parts(CRLF, 'multipart/form-data; boundary="xyz"')
    assert crlf_parts is not None
    names = [(p[0], p[1], p[2]) for p in crlf_parts]
    assert names == [("model", None, ""), ("file", "a.wav", "audio/wav"), ("blob", None, "")]
    assert crlf_parts[0][3] == "whisper-1"
    assert crlf_parts[1][3].startswith("sha:") and crlf_parts[2][3].startswith("sha:")  # files and binary by digest
    lf_parts = multipart_parts(lf, "multipart/form-data; boundary=xyz")
    assert lf_parts is not None and [p[:3] for p in lf_parts] == [p[:3] for p in crlf_parts]
    assert lf_parts[0][3] == "whisper-1"


@pytest.mark.parametrize(
    ("raw", "ctype"),
    [(CRLF, "multipart/form-data"), (b"no delimiter here", "multipart/form-data; boundary=xyz")],
)
def test_unreadable_multipart_is_none(raw: bytes, ctype: str) -> None:
    assert multipart_parts(raw, ctype) is None


def test_canonical_bodies() -> None:
    multipart = canonical_body(request(CRLF, "multipart/form-data; boundary=xyz"), OPTIONS)
    assert [p[0] for p in multipart] == ["blob", "file"]  # sorted, the ignored `model` field left out
    form = canonical_body(request(b"b=2&model=x&a=1&a=0", "application/x-www-form-urlencoded"), OPTIONS)
    assert form == [["a", "0"], ["a", "1"], ["b", "2"]]
    assert canonical_body(request(b'{"model": "x", "n": 1}', "application/json"), OPTIONS) == {"json": {"n": 1}}
    assert canonical_body(request(b"{broken", "application/json"), OPTIONS) == {"text": "{broken"}
    binary = canonical_body(request(b"\xff\xd8\xff", "image/jpeg"), OPTIONS)
    assert set(binary) == {"bytes"} and len(binary["bytes"]) == 32
    # multipart without a usable boundary is compared as text
    assert canonical_body(request(b"plain", "multipart/form-data"), OPTIONS) == {"text": "plain"}
    assert canonical_body(RecordedRequest("GET", "https://h/x"), OPTIONS) is None


def test_json_differences_stop_at_the_limit_and_name_each_place() -> None:
    recorded: dict[str, Any] = {"a": 1, "b": {"c": [1, 2]}, "d": "x" * 100, "only": True}
    incoming: dict[str, Any] = {"a": 2, "b": {"c": [1, 3]}, "d": "y" * 100, "new": None}
    assert json_differences(recorded, incoming, limit=10) == [
        "a: recorded 1, got 2",
        "b.c[1]: recorded 2, got 3",
        f"d: recorded '{'x' * 58}…, got '{'y' * 58}…",
        "new: only in this request",
        "only: only in the recorded request",
    ]
    assert len(json_differences(recorded, incoming)) == 3
    assert json_differences([1, 2], [1, 2, 3]) == ["(whole body): recorded [1,2], got [1,2,3]"]


def test_explanations_of_a_miss() -> None:
    a = request(b'{"n": 1}', "application/json", "https://api.yescale.io/v1/x?page=1&page=2")
    b = request(b"n=1", "application/x-www-form-urlencoded", "https://api.yescale.io/v1/x?page=2&page=2")
    assert explain("body", a, b, OPTIONS) == 'body differs: recorded {"json":{"n":1}}, got [["n","1"]]'
    assert explain("query", a, b, OPTIONS) == "query differs: repeated parameters differ"
    c = request(b"", "application/json", "https://other.example:8443/v2/x")
    assert explain("host", a, c, OPTIONS) == "host differs: recorded 'api.yescale.io', got 'other.example'"
    assert explain("raw_body", a, c, OPTIONS) == "raw_body differs"
