"""`AppThread`, which answers in-process requests: apps without a lifespan, apps that fail to start, use after stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pytest_plugin.inprocess import AppThread


async def hello(request: Any) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def no_lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app that refuses the lifespan protocol by raising, as many small apps do."""
    if scope["type"] != "http":
        raise RuntimeError("only http here")
    await PlainTextResponse("bare")(scope, receive, send)


def test_an_app_without_a_lifespan_is_served_all_the_same() -> None:
    with AppThread(no_lifespan, timeout=10) as thread:
        answer = thread.handle(httpx.Request("GET", "http://mock.test/"))
        assert answer.status_code == 200 and answer.text == "bare"
        assert not thread.in_app_thread


def test_async_callers_are_answered_without_blocking_their_loop() -> None:
    with AppThread(Starlette(routes=[Route("/", hello)]), timeout=10) as thread:

        async def both() -> list[str]:
            answers = await asyncio.gather(
                *(thread.ahandle(httpx.Request("GET", "http://mock.test/")) for _ in range(3))
            )
            return [a.text for a in answers]

        assert asyncio.run(both()) == ["hello"] * 3


def test_an_app_that_fails_to_start_says_why() -> None:
    @contextlib.asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    thread = AppThread(Starlette(routes=[Route("/", hello)], lifespan=broken), timeout=10)
    with pytest.raises(RuntimeError, match=r"the in-process app failed to start: .*no database"):
        thread.start()
    thread.stop()


def test_a_request_after_the_fixture_ended_is_a_clear_error() -> None:
    thread = AppThread(Starlette(routes=[Route("/", hello)]), timeout=10).start()
    thread.stop()
    with pytest.raises(RuntimeError, match="not running"):
        thread.handle(httpx.Request("GET", "http://mock.test/"))
