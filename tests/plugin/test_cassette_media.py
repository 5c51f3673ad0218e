"""In-process recording from a loopback upstream (base URL and upstream apart), then offline replay with media."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, free_port, serve_in_thread

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

USER_TEST = """
import pathlib, httpx, pytest

@pytest.mark.cassette
def test_mj_grid(request):
    # The code calls the real base URL; --mockserver-upstream says where the recording comes from.
    h = {"Authorization": "Bearer sk-plugin-media"}
    base = "https://api.yescale.io"
    task = httpx.post(base + "/mj/submit/imagine", json={"prompt": "fox", "botType": "MID_JOURNEY"}, headers=h)
    url = httpx.get(base + "/mj/task/" + task.json()["result"] + "/fetch", headers=h).json()["imageUrl"]
    image = httpx.get(url, headers=h)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    mode = request.config.getoption("record_mode") or "none"
    pathlib.Path(mode + ".png").write_bytes(image.content)
    pathlib.Path(mode + ".url").write_text(url)
"""


@pytest.fixture
def upstream() -> Iterator[ThreadedServer]:
    port = free_port()
    with serve_in_thread(create_app(Settings(instant=True, port=port)), port=port) as server:
        yield server


def test_record_in_process_from_a_loopback_upstream_then_replay_media(
    pytester: pytest.Pytester, upstream: ThreadedServer
) -> None:
    pytester.makepyfile(test_mj=USER_TEST)
    flags = ["-p", "no:randomly", "--mockserver-upstream", upstream.url]
    pytester.runpytest(*flags, "--record-mode", "once").assert_outcomes(passed=1)
    assert (pytester.path / "once.url").read_text().startswith(upstream.url)  # recorded live from the upstream
    assert list((pytester.path / "cassettes" / "test_mj" / "media").glob("*.png"))

    upstream.stop()
    pytester.runpytest(*flags).assert_outcomes(passed=1)
    assert (pytester.path / "none.url").read_text().startswith("https://api.yescale.io/__mock/cassettes/media/")
    assert (pytester.path / "none.png").read_bytes() == (pytester.path / "once.png").read_bytes()
