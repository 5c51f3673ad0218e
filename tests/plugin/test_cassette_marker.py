"""`@pytest.mark.cassette`: record through the proxy (`once`), replay offline (`none`), for in-process and
live clients; the settings merge; a miss fails the test with its explanation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testing import ThreadedServer, serve_in_thread
from pytest_plugin.cassettes import CassetteUsageError, resolve

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

USER_TESTS = """
import httpx, openai, pytest

@pytest.mark.cassette
def test_sdk_in_process():
    # No fixture at all: the marker alone routes the SDK's traffic through the cassette. The code calls
    # the real base URL; --mockserver-upstream (a loopback gateway here) is where the recording comes from.
    client = openai.OpenAI(base_url="https://api.yescale.io/v1", api_key="sk-secret-key-123", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{{"role": "user", "content": "hello there"}}]
    )
    assert raw.parse().choices[0].message.content
    print("SOURCE", raw.headers.get("x-mockserver-cassette", "network"))

@pytest.mark.cassette
def test_live_client(mockserver):
    r = httpx.get(mockserver.base_url + "/models", headers=mockserver.headers)
    assert r.status_code == 200 and r.json()["data"]
    print("SOURCE", r.headers.get("x-mockserver-cassette", "network"))
"""


@pytest.fixture
def upstream() -> Iterator[ThreadedServer]:
    """A stand-in for the real service: the emulator on a loopback port."""
    with serve_in_thread(create_app(Settings(speed=0.0))) as server:
        yield server


def test_record_once_then_replay_offline(pytester: pytest.Pytester, upstream: ThreadedServer) -> None:
    pytester.makepyfile(test_chat=USER_TESTS.format())
    flags = ["-p", "no:randomly", "-s", "--mockserver-upstream", upstream.url]
    recorded = pytester.runpytest(*flags, "--record-mode", "once")
    recorded.assert_outcomes(passed=2)
    assert recorded.stdout.str().count("SOURCE network") == 2
    folder = pytester.path / "cassettes" / "test_chat"
    sdk_cassette = (folder / "test_sdk_in_process.yaml").read_text()
    assert "/v1/chat/completions" in sdk_cassette
    assert "sk-secret-key-123" not in sdk_cassette  # redacted before it touched the disk
    assert (folder / "test_live_client.yaml").is_file()

    upstream.stop()  # replay must not need the network
    replayed = pytester.runpytest(*flags)
    replayed.assert_outcomes(passed=2)
    replayed.stdout.fnmatch_lines(["*SOURCE *test_sdk_in_process.yaml#0*", "*SOURCE *test_live_client.yaml#0*"])


def test_a_missing_recording_fails_with_the_explanation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import openai, pytest

        @pytest.mark.cassette
        def test_nothing_recorded():
            client = openai.OpenAI(base_url="https://api.yescale.io/v1", api_key="sk-test", max_retries=0)
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*NotFoundError*No recorded interaction matches POST /v1/chat/completions*"])


def test_name_dir_and_match_on(pytester: pytest.Pytester, upstream: ThreadedServer, tmp_path: Path) -> None:
    pytester.makepyfile(
        test_named=f"""
        import httpx, pytest

        @pytest.mark.cassette("shared", match_on=["method", "path"])
        def test_named():
            # With match_on method+path, a different body still replays the recording.
            r = httpx.post({upstream.url!r} + "/v1/chat/completions", headers={{"Authorization": "Bearer k"}},
                           json={{"model": "gpt-4o", "messages": [{{"role": "user", "content": "x"}}]}})
            assert r.status_code == 200
        """
    )
    store = tmp_path / "store"
    flags = ["-p", "no:randomly", "--mockserver-base-url", upstream.url, "--cassette-dir", str(store)]
    pytester.runpytest(*flags, "--record-mode", "once").assert_outcomes(passed=1)
    assert (store / "test_named" / "shared.yaml").is_file()
    upstream.stop()
    source = (pytester.path / "test_named.py").read_text().replace('"content": "x"', '"content": "different"')
    (pytester.path / "test_named.py").write_text(source)
    pytester.runpytest(*flags).assert_outcomes(passed=1)


def test_config_fixture_then_marker_then_command_line(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def mockserver_cassette_config():
            return {"record_mode": "new_episodes", "match_on": ["method", "path", "body"]}
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cassette
        def test_config_only(mockserver_cassette):
            assert mockserver_cassette.record_mode == "new_episodes"
            assert mockserver_cassette.match_on == ("method", "path", "body")

        @pytest.mark.cassette(record_mode="once")
        def test_marker_beats_config(mockserver_cassette, request):
            cli = request.config.getoption("record_mode")
            assert mockserver_cassette.record_mode == (cli or "once")

        def test_unmarked(mockserver_cassette):
            assert mockserver_cassette is None
        """
    )
    pytester.runpytest("-p", "no:randomly", "-k", "not config_only").assert_outcomes(passed=2, deselected=1)
    # The command line beats both (checked without starting anything: the fixture only resolves).
    result = pytester.runpytest("-p", "no:randomly", "-k", "marker_beats", "--record-mode", "all")
    result.assert_outcomes(passed=1)


def test_resolve_merge_order(tmp_path: Path) -> None:
    test_file = tmp_path / "tests" / "test_api.py"
    spec = resolve(
        test_path=test_file,
        test_name="test_chat[gpt-4o]",
        config={"record_mode": "all", "match_on": ["method"], "redact_headers": ["X-Token"]},
        marker={"record_mode": "once"},
        cli={"record_mode": None, "upstream": "https://staging.example", "cassette_dir": None},
    )
    assert spec.record_mode == "once"
    assert spec.match_on == ("method",)
    assert spec.upstream == "https://staging.example"
    assert spec.path == tmp_path / "tests" / "cassettes" / "test_api" / "test_chat[gpt-4o].yaml"
    assert spec.extra == {"redact_headers": ["X-Token"]}
    cli_wins = resolve(
        test_path=test_file, test_name="t", config={}, marker={"record_mode": "once"}, cli={"record_mode": "none"}
    )
    assert cli_wins.record_mode == "none"
    with pytest.raises(CassetteUsageError, match="record_mode must be one of"):
        resolve(test_path=test_file, test_name="t", config={"record_mode": "always"}, marker={}, cli={})


def test_base_url_and_upstream_are_apart(tmp_path: Path) -> None:
    test_file = tmp_path / "test_api.py"
    both = resolve(test_path=test_file, test_name="t", config={}, marker={}, cli={"base_url": "http://gw.local:9/"})
    assert (both.base_url, both.upstream) == ("http://gw.local:9", "http://gw.local:9")  # upstream defaults to it
    cli = {"upstream": "http://127.0.0.1:5", "base_url": None}
    apart = resolve(test_path=test_file, test_name="t", config={}, marker={}, cli=cli)
    assert (apart.base_url, apart.upstream) == ("https://api.yescale.io", "http://127.0.0.1:5")
    with pytest.raises(CassetteUsageError, match="upstream must be an http"):
        resolve(test_path=test_file, test_name="t", config={}, marker={}, cli={"upstream": "staging"})


def test_unknown_config_key_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def mockserver_cassette_config():
            return {"redact_everything": True}
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cassette
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mockserver_cassette_config has unknown keys: redact_everything*"])
