"""Pacing from the plugin: `mockserver.latency(...)` for one test, and the marker's `replay_timing`."""

from __future__ import annotations

import pytest


def test_latency_lasts_one_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import time
        import openai
        from pytest_plugin.timing import measure_stream

        BODY = dict(model="gpt-4o-mini", messages=[{"role": "user", "content": "Tell me a story"}], max_tokens=12)

        def test_paced(mockserver):
            assert mockserver.latency("realistic", scale=0.5)["overridden"] is True
            client = openai.OpenAI(base_url=mockserver.base_url, api_key=mockserver.api_key)
            started = time.perf_counter()
            timing = measure_stream(client.chat.completions.create(**BODY, stream=True), started=started)
            assert timing.first_event >= 0.17  # gpt-4o-mini's 400 ms TTFT, halved, less its jitter

        def test_back_to_none(mockserver):
            assert mockserver.latency.__self__.control("GET", "latency")["overridden"] is False
            client = openai.OpenAI(base_url=mockserver.base_url, api_key=mockserver.api_key)
            started = time.perf_counter()
            client.chat.completions.create(**BODY)
            assert time.perf_counter() - started < 0.17
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_the_marker_checks_replay_timing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.cassette(replay_timing="slowly")
        def test_marked(mockserver_cassette):
            pass
        """,
        test_good="""
        import pytest

        @pytest.mark.cassette(replay_timing="scale:0.5")
        def test_fine(mockserver_cassette):
            assert mockserver_cassette.extra["replay_timing"] == "scale:0.5"
        """,
    )
    bad = pytester.runpytest("-p", "no:randomly", "test_bad.py")
    assert bad.ret != 0
    bad.stderr.fnmatch_lines(["*replay_timing must be none, recorded or scale:X*(got 'slowly')*"])
    pytester.runpytest("-p", "no:randomly", "test_good.py").assert_outcomes(passed=1)
