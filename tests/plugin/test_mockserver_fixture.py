"""The `mockserver` fixture: a live emulator per session, reset before each test, with control helpers."""

from __future__ import annotations

import pytest

CHAT = '{"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}'


def test_live_emulator_helpers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import httpx

        CHAT = {CHAT!r}

        def test_url_and_key(mockserver):
            assert mockserver.url.startswith("http://127.0.0.1:")
            assert mockserver.base_url == mockserver.url + "/v1"
            assert mockserver.api_key
            health = httpx.get(mockserver.url + "/__mock/health").json()
            assert health["status"] == "ok" and health["operations"] > 0

        def test_journal_and_chat(mockserver):
            r = httpx.post(mockserver.base_url + "/chat/completions", content=CHAT,
                           headers={{**mockserver.headers, "Content-Type": "application/json"}})
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["message"]["role"] == "assistant"
            [entry] = mockserver.requests
            assert entry["operation"] == "chat_completions"
            assert mockserver.requests_for("chat_completions") == [entry]

        def test_state_is_reset_between_tests(mockserver):
            assert mockserver.requests == []

        def test_fault(mockserver):
            rule = mockserver.fault(operation="chat_completions", status=429, retry_after=3, times=1)
            assert rule["status"] == 429
            r = httpx.post(mockserver.base_url + "/chat/completions", content=CHAT,
                           headers={{**mockserver.headers, "Content-Type": "application/json"}})
            assert r.status_code == 429 and r.headers["retry-after"] == "3"
            again = httpx.post(mockserver.base_url + "/chat/completions", content=CHAT,
                               headers={{**mockserver.headers, "Content-Type": "application/json"}})
            assert again.status_code == 200

        def test_stub(mockserver):
            mockserver.stub(match="hello", content="Stubbed reply.")
            r = httpx.post(mockserver.base_url + "/chat/completions", content=CHAT,
                           headers={{**mockserver.headers, "Content-Type": "application/json"}})
            assert r.json()["choices"][0]["message"]["content"] == "Stubbed reply."

        def test_clock(mockserver):
            before = mockserver.clock["now"]
            after = mockserver.advance(90)
            assert after["now"] == before + 90

        def test_faults_and_stubs_are_gone_after_reset(mockserver):
            assert mockserver.control("GET", "faults") == {{"faults": []}}
            assert mockserver.control("GET", "stubs") == {{"stubs": []}}
        """
    )
    pytester.runpytest("-p", "no:randomly", "-v").assert_outcomes(passed=7)


def test_one_server_per_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        URLS = []

        def test_first(mockserver):
            URLS.append(mockserver.url)

        def test_second(mockserver):
            URLS.append(mockserver.url)
            assert URLS[0] == URLS[1]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_a_bad_control_request_names_the_field(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_plugin.control import ControlError

        def test_bad_fault(mockserver):
            with pytest.raises(ControlError, match="probability: must be a number above 0 and at most 1"):
                mockserver.fault(operation="chat_completions", status=500, probability=7)
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_settings_fixture_is_honoured(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from mockserver import Settings

        @pytest.fixture(scope="session")
        def mockserver_settings():
            return Settings(api_key=("sk-only-this",), strict_responses=True, speed=0.0)
        """
    )
    pytester.makepyfile(
        """
        import httpx

        def test_only_the_configured_key_passes(mockserver):
            assert mockserver.api_key == "sk-only-this"
            ok = httpx.get(mockserver.base_url + "/models", headers=mockserver.headers)
            assert ok.status_code == 200
            bad = httpx.get(mockserver.base_url + "/models", headers={"Authorization": "Bearer nope"})
            assert bad.status_code == 401
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_a_wrong_expectation_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx

        def test_wrong(mockserver):
            r = httpx.get(mockserver.base_url + "/models", headers=mockserver.headers)
            assert r.status_code == 404
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 200 == 404*"])


def test_no_thread_outlives_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses_it(mockserver):
            assert mockserver.url
        """
    )
    pytester.makeconftest(
        """
        import threading

        def pytest_unconfigure(config):
            left = [t.name for t in threading.enumerate() if t.name.startswith("mockserver")]
            assert not left, left
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
