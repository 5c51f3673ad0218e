"""`mockserver fuzz` against broken targets: each way a server can be wrong is reported as its own check."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.cli import main
from mockserver.testing import free_port, serve_in_thread

CHAT = "chat_completions"


def target(status: int, body: bytes, content_type: str) -> Starlette:
    """A server whose /v1/chat/completions always answers `status` with `body` as `content_type`."""

    async def chat(request: Request) -> Response:
        await request.body()
        return Response(body, status, media_type=content_type)

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def fuzz(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str, str]:
    code = main(["fuzz", "--target", url, "--operation", CHAT, "--max-examples", "3", "--timeout", "10"])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_undocumented_status_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with serve_in_thread(target(302, b"{}", "application/json")) as server:
        code, out, err = fuzz(capsys, server.url)
    assert code == 1 and "FAIL chat_completions (positive): 302×" in out
    assert "status_documented: status 302 is not documented for chat_completions" in err


def test_a_stream_event_that_breaks_the_contract_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    events = b'data: {"id": 5, "object": "chat.completion.chunk"}\n\ndata: [DONE]\n\n'
    with serve_in_thread(target(200, events, "text/event-stream")) as server:
        code, _, err = fuzz(capsys, server.url)
    assert code == 1
    assert "response_schema_conformance: stream event message does not conform" in err


def test_an_answer_labelled_json_that_is_not_json_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with serve_in_thread(target(200, b"<html>oops</html>", "application/json")) as server:
        code, _, err = fuzz(capsys, server.url)
    assert code == 1
    assert "response_schema_conformance: 200 answer does not conform" in err and "<html>oops</html>" in err


def test_an_unreachable_target_is_a_transport_failure_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = fuzz(capsys, url)
    assert code == 1
    assert err.startswith(f"mockserver fuzz: cannot reach --target {url}: connection failed")
    assert err.count("\n") == 1 and "Traceback" not in err  # one line, checked before any case runs
