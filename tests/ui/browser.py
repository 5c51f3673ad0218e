"""Playwright driving the system's Chromium (Debian `chromium`), for the dashboard tests.

Playwright's own browser download is not used: `.ci/run` installs the `chromium` package and the
tests launch that binary (`$CHROMIUM` overrides where it is). Without Playwright or a Chromium the
tests skip, saying which one is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """The Chromium binary to drive: `$CHROMIUM`, else the first of `CANDIDATES` on the PATH."""
    given = os.environ.get("CHROMIUM")
    if given:
        return given if Path(given).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def launch() -> Iterator[Any]:
    """A headless browser for the test session (skips with the reason when it cannot be had)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[test]')")
    binary = chromium_path()
    if binary is None:
        pytest.skip("no Chromium found: install the Debian package `chromium` (.ci/run does) or set $CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """Save a full-page screenshot of the current view under `folder` (the test's tmp folder), and also
    under `$MOCKSERVER_UI_SCREENSHOTS` when set (how docs/img/ is refreshed)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    docs = os.environ.get("MOCKSERVER_UI_SCREENSHOTS")
    if docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(docs) / path.name)
    return path
