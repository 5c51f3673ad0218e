"""Dashboard fixtures: one headless Chromium per test module, the emulator on a live port per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, free_port, serve_in_thread

AUTH = {"Authorization": "Bearer sk-test-dashboard"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while it is open,
    which tests that call `asyncio.run` after it must not see."""
    from tests.ui.browser import launch

    yield from launch()


@pytest.fixture
def emulator() -> Iterator[ThreadedServer]:
    """The emulator on a free port, its public URL that port (so media links resolve), clock stopped."""
    port = free_port()
    settings = Settings(port=port, speed=0.0, start_time=1_750_000_000.0, strict_responses=True)
    with serve_in_thread(create_app(settings), port=port) as server:
        yield server


@pytest.fixture
def api(emulator: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, headers=AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; closed before the server stops, so its live stream ends with it."""
    # bypass_csp: Playwright's polling evaluates strings, which the page's policy forbids; it also means
    # the escaping tests pass on escaping alone, without the policy's help.
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    yield page
    context.close()
