"""The journal: bounded in bytes, large bodies kept as size + hash, refused requests without bodies, secrets masked."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.journal import Journal
from mockserver.settings import Settings

MiB = 1024 * 1024


@pytest.fixture
def keyed() -> Iterator[TestClient]:
    settings = Settings(speed=0.0, start_time=1_750_000_000.0, api_key=("sk-good",), journal_max_bytes=8 * MiB)
    with TestClient(create_app(settings)) as c:
        yield c


def _record(journal: Journal, raw: bytes) -> None:
    journal.record(method="POST", path="/v1/x", query=b"", headers=[], raw=raw, operation="x", at=0.0)


def test_the_journal_is_bounded_in_bytes_not_only_in_count() -> None:
    journal = Journal(1000, max_bytes=4 * MiB, body_bytes=2 * MiB)
    for _ in range(40):
        _record(journal, b"x" * (MiB + 1))
    assert journal.bytes <= 4 * MiB
    assert 1 <= len(journal) <= 4
    asyncio.run(journal.clear())
    assert journal.bytes == 0


def test_bodies_beyond_the_body_limit_are_kept_as_size_and_hash() -> None:
    journal = Journal(10, max_bytes=64 * MiB, body_bytes=1024)
    raw = b'{"a": "' + b"z" * 5000 + b'"}'
    _record(journal, raw)
    (entry,) = asyncio.run(journal.entries())
    assert entry["body"] == {"size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    assert journal.bytes < 2048


def test_refused_requests_are_journaled_without_their_bodies(keyed: TestClient) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "y" * 200_000}]}
    for headers in ({}, {"Authorization": "Bearer sk-wrong"}):
        assert keyed.post("/v1/chat/completions", json=body, headers=headers).status_code == 401
    entries = keyed.get("/__mock/requests").json()["requests"]
    assert [e["status"] for e in entries[-2:]] == [401, 401]
    assert all(e["body"] == "<body not kept: refused with 401>" for e in entries[-2:])
    journal = keyed.app.state.mock.journal  # type: ignore[attr-defined]
    assert journal.bytes < 10_000
    ok = keyed.post("/v1/chat/completions", json=body, headers={"Authorization": "Bearer sk-good"})
    assert ok.status_code == 200
    assert keyed.get("/__mock/requests").json()["requests"][-1]["body"]["model"] == "gpt-4o"


def test_secrets_are_masked_in_headers_query_json_urls_and_forms(keyed: TestClient) -> None:
    headers = {"api-key": "sk-good-header-secret", "Authorization": "Bearer sk-good"}
    body = {
        "prompt": "a cat",
        "notifyHook": "https://hooks.example/cb?token=hooksecret123&x=1",
        "api_key": "fieldsecret456",
    }
    keyed.post("/mj/submit/imagine?api-key=querysecret789&signature=sigsecret000", json=body, headers=headers)
    keyed.post(
        "/v1/audio/transcriptions",
        data={"model": "whisper-1", "api_key": "formsecret321"},
        files={"file": ("a.wav", b"RIFF0000WAVE", "audio/wav")},
        headers={"Authorization": "Bearer sk-good"},
    )
    text = str(keyed.get("/__mock/requests").json()["requests"])
    for secret in (
        "header-secret",
        "hooksecret123",
        "fieldsecret456",
        "querysecret789",
        "sigsecret000",
        "formsecret321",
    ):
        assert secret not in text, secret
    assert "https://hooks.example/cb?token=" in text and "&x=1" in text
