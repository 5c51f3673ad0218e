"""Midjourney test fixtures (helpers live in tests/midjourney/mj_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.midjourney.mj_helpers import Mj, mj_client


@pytest.fixture
def mj() -> Iterator[Mj]:
    with mj_client() as api:
        yield api
