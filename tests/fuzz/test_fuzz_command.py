"""`mockserver fuzz --target URL`: passes against the emulator, fails with a reproducible example otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mockserver.app import create_app
from mockserver.cli import main
from mockserver.contracts import load_contracts
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, serve_in_thread

CHAT = "chat_completions"


def valid_completion() -> dict[str, Any]:
    """The docs' own 200 example of chat_completions."""
    contract = load_contracts().get(CHAT)
    return next(ex["response"] for ex in contract.examples if ex.get("status", 200) == 200 and ex.get("response"))


def fake_target(answer: Any) -> Starlette:
    """A server whose /v1/chat/completions answers `answer(request, body)` -> (status, JSON)."""
    seen: list[dict[str, Any]] = []

    async def chat(request: Request) -> JSONResponse:
        seen.append({"authorization": request.headers.get("authorization")})
        status, body = answer(await request.body())
        return JSONResponse(body, status)

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    app.state.seen = seen
    return app


@pytest.fixture
def emulator() -> Iterator[ThreadedServer]:
    with serve_in_thread(create_app(Settings(strict_responses=True, speed=0.0))) as server:
        yield server


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["fuzz", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_emulator_passes(capsys: pytest.CaptureFixture[str], emulator: ThreadedServer) -> None:
    code, out, err = run(
        capsys,
        "--target",
        emulator.url,
        "--operation",
        CHAT,
        "--operation",
        "embeddings_create",
        "--operation",
        "audio_transcriptions",  # multipart: a real client streams it
        "--max-examples",
        "5",
        "--negative",
    )
    assert code == 0, err
    for line in (
        "ok   audio_transcriptions (negative)",
        "ok   chat_completions (positive)",
        "ok   chat_completions (negative)",
        "ok   embeddings_create (positive)",
    ):
        assert line in out


def test_a_server_error_is_reported_with_a_reproducible_example(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOCKSERVER_API_KEY", "sk-from-env")
    app = fake_target(lambda body: (500, {"error": {"message": "boom", "type": "server_error"}}))
    with serve_in_thread(app) as server:
        code, out, err = run(capsys, "--target", server.url, "--operation", CHAT, "--max-examples", "3", "--seed", "7")
    assert code == 1
    assert "FAIL chat_completions (positive): 500×" in out
    assert "FAILED chat_completions (positive case) — not_a_server_error: server error 500" in err
    assert f"reproduce: mockserver fuzz --target {server.url} --operation {CHAT} --seed 7" in err
    assert f"curl -X POST {server.url}/v1/chat/completions" in err and "--data-raw" in err
    assert "body: {" in err
    assert app.state.seen[0]["authorization"] == "Bearer sk-from-env"


def test_a_nonconforming_answer_names_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    app = fake_target(lambda body: (200, {"id": "x", "object": "chat.completion"}))
    with serve_in_thread(app) as server:
        code, _, err = run(capsys, "--target", server.url, "--operation", CHAT, "--max-examples", "3")
    assert code == 1
    assert "response_schema_conformance: 200 answer does not conform:" in err
    assert "choices: field required" in err


def test_accepting_invalid_requests_fails_the_negative_run(capsys: pytest.CaptureFixture[str]) -> None:
    completion = valid_completion()
    app = fake_target(lambda body: (200, completion))
    with serve_in_thread(app) as server:
        code, out, err = run(capsys, "--target", server.url, "--operation", CHAT, "--max-examples", "10", "--negative")
    assert code == 1
    assert "ok   chat_completions (positive)" in out
    assert "FAILED chat_completions (negative case) — invalid_request_refused" in err
    assert "--negative" in err


def test_unknown_operation(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--target", "http://127.0.0.1:9", "--operation", "chat")
    assert code == 2
    assert "unknown operation(s): 'chat'" in err
