"""Registration: the option group, the `cassette` marker and its validation, and a cheap import."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_options_are_in_one_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    out = result.stdout.str()
    group = out[out.index("mockserver: YEScale emulator") :]
    for flag in ("--record-mode={none,once,new_episodes,all}", "--mockserver-upstream=URL", "--cassette-dir=DIR"):
        assert flag in group, flag


def test_cassette_marker_is_registered_with_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.cassette(name=None, *, record_mode=None, match_on=None, replay_timing=None): replay*"]
    )


def test_marker_passes_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cassette
        def test_marked():
            pass
        """
    )
    pytester.runpytest("--strict-markers", "-p", "no:randomly").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('record_mode="sometimes"', "record_mode must be one of none, once, new_episodes, all, got 'sometimes'"),
        ('mode="once"', "unknown argument mode (takes name, record_mode, match_on, replay_timing)"),
        ('match_on="body"', "match_on must be a non-empty list of matcher names, got 'body'"),
        ('match_on=["body", "colour"]', "match_on has an unknown matcher 'colour'"),
        ('"a", "b"', "takes at most one positional argument (the cassette name), got 2"),
        ('"../escape"', "name must be a relative file name"),
        ('"a", name="b"', "the cassette name was given twice"),
    ],
)
def test_bad_marker_arguments_are_a_usage_error(pytester: pytest.Pytester, arguments: str, message: str) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.cassette({arguments})
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*test_bad_marker_arguments_are_a_usage_error.py::test_marked: @pytest.mark.cassette*"]
    )
    assert message in result.stderr.str()


def test_unknown_record_mode_on_the_command_line_is_refused(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--record-mode", "sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "invalid choice: 'sometimes'" in result.stderr.str()


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    heavy = ("respx", "schemathesis", "hypothesis", "mockserver.app", "mockserver.contracts", "starlette", "httpx")
    code = f"import sys; import pytest_plugin.plugin; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_a_session_without_mockserver_fixtures_starts_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys, threading

        def test_plain():
            heavy = ("mockserver.app", "mockserver.contracts", "pytest_plugin.inprocess")
            assert not [m for m in heavy if m in sys.modules]
            assert not [t for t in threading.enumerate() if t.name.startswith("mockserver")]
        """
    )
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)
