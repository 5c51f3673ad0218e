"""Reading cassettes written by hand or by VCR.py: every malformed part is named, encoded bodies are decoded."""

from __future__ import annotations

import base64
import gzip
import zlib
from pathlib import Path

import pytest

from mockserver.recording import Cassette, CassetteError, load_cassette, save_cassette
from mockserver.recording.cassettes import parse_cassette

REQUEST = "request: {method: GET, uri: 'https://api.yescale.io/v1/models'}"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ("5", "interaction 0: response is a mapping"),
        ("{status: 200, body: [1, 2]}", "a body is text, !!binary or null, not list"),
        ("{status: 200, headers: [a, b]}", "headers are a mapping of name to values"),
        ("{status: 200, body: x, chunks: [{at: soon, size: 1}]}", r"response.chunks items are \{at: seconds"),
        ("{status: 200, body: x, chunks: [{size: 1}]}", r"response.chunks items are \{at: seconds"),
    ],
)
def test_a_malformed_response_names_the_interaction_and_the_part(response: str, message: str) -> None:
    with pytest.raises(CassetteError, match=message):
        parse_cassette(f"interactions:\n- {REQUEST}\n  response: {response}\n", "bad.yaml")


def test_an_interaction_without_a_response_is_refused() -> None:
    with pytest.raises(CassetteError, match="an interaction has `request` and `response`"):
        parse_cassette(f"interactions:\n- {REQUEST}\n", "bad.yaml")


def test_an_unreadable_cassette_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "looks-like.yaml"
    folder.mkdir()
    with pytest.raises(CassetteError, match=r"looks-like\.yaml: cannot read cassette"):
        load_cassette(folder)


def vcr_cassette(encoding: str, body: bytes) -> str:
    return (
        "interactions:\n"
        f"- {REQUEST}\n"
        "  response:\n"
        "    status: {code: 200, message: OK}\n"
        f"    headers: {{Content-Encoding: [{encoding}], Content-Length: '{len(body)}', X-One: single, X-None: null}}\n"
        f"    body: {{string: !!binary '{base64.b64encode(body).decode()}'}}\n"
    )


PLAIN = b'{"object": "list", "data": []}'


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("gzip", gzip.compress(PLAIN)),
        ("deflate", zlib.compress(PLAIN)),
        ("deflate", zlib.compress(PLAIN)[2:-4]),  # raw deflate, as some servers send it
    ],
)
def test_vcr_bodies_recorded_compressed_are_decoded(encoding: str, encoded: bytes) -> None:
    (item,) = parse_cassette(vcr_cassette(encoding, encoded)).interactions
    assert item.response.body == PLAIN
    assert {k.lower() for k in item.response.headers} == {"x-one"}  # encoding and length no longer apply
    assert item.response.headers["X-One"] == ["single"]


def test_a_body_that_only_claims_to_be_compressed_is_kept_as_it_is() -> None:
    (item,) = parse_cassette(vcr_cassette("gzip", b"not gzip at all")).interactions
    assert item.response.body == b"not gzip at all"
    assert item.response.headers["Content-Encoding"] == ["gzip"]


def test_an_empty_cassette_round_trips(tmp_path: Path) -> None:
    path = save_cassette(tmp_path / "empty.yaml", Cassette(meta={"note": "kept"}))
    assert path.read_text().endswith("interactions: []\n")
    again = load_cassette(path)
    assert len(again) == 0 and again.meta.get("note") == "kept"
