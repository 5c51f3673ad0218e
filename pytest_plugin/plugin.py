"""The pytest11 entry point `mockserver`: options, the `cassette` marker, and the fixtures.

This module is imported by every pytest run wherever the package is installed, so it imports nothing
heavy: the emulator, respx and the recording layer are imported inside the fixtures that need them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_plugin.callbacks import CallbackReceiver
    from pytest_plugin.cassettes import CassetteSpec
    from pytest_plugin.checks import ContractChecker
    from pytest_plugin.control import Emulator
    from pytest_plugin.servers import ServerPool

_RECORD_MODES = ("none", "once", "new_episodes", "all")
_IN_PROCESS_FIXTURES = ("mockserver", "mockserver_respx")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "mockserver: YEScale emulator, cassettes and contracts")
    options: list[tuple[str, dict[str, Any]]] = [
        (
            "--record-mode",
            {
                "dest": "record_mode",
                "choices": _RECORD_MODES,
                "help": "cassette record mode for @pytest.mark.cassette tests: none (default: replay only, "
                "no network), once, new_episodes or all",
            },
        ),
        (
            "--mockserver-base-url",
            {
                "dest": "mockserver_base_url",
                "metavar": "URL",
                "help": "what your code calls and what mockserver_respx intercepts (default https://api.yescale.io)",
            },
        ),
        (
            "--mockserver-upstream",
            {
                "dest": "mockserver_upstream",
                "metavar": "URL",
                "help": "where cassettes are recorded from (default: the base URL), e.g. a staging or loopback gateway",
            },
        ),
        (
            "--cassette-dir",
            {
                "dest": "mockserver_cassette_dir",
                "metavar": "DIR",
                "help": "folder holding <test module>/<test name>.yaml cassettes "
                "(default: cassettes/ next to each test module)",
            },
        ),
    ]
    for name, kwargs in options:
        # Another plugin (pytest-recording has --record-mode) may own the flag: then we share its value.
        with contextlib.suppress(ValueError):
            group.addoption(name, action="store", default=None, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    from pytest_plugin.cassettes import MARKER_HELP

    config.addinivalue_line("markers", MARKER_HELP)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse malformed `cassette` markers before anything runs."""
    marked = [(item, item.get_closest_marker("cassette")) for item in items]
    marked = [(item, m) for item, m in marked if m is not None]
    if not marked:
        return
    from pytest_plugin.cassettes import CassetteUsageError, marker_arguments

    for item, marker in marked:
        assert marker is not None
        try:
            marker_arguments(marker.args, marker.kwargs)
        except CassetteUsageError as exc:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.cassette {exc}") from None


# ---------------------------------------------------------------------------------------------
# Configuration fixtures (override them in a conftest.py)


@pytest.fixture(scope="session")
def mockserver_settings() -> Any:
    """The `mockserver.Settings` the emulator fixtures use. Override (session scope) to change them,
    e.g. `return Settings(seed=7, instant=True, strict_responses=True)`."""
    from pytest_plugin.servers import default_settings

    return default_settings()


@pytest.fixture
def mockserver_cassette_config() -> dict[str, Any]:
    """Defaults for `@pytest.mark.cassette` (record_mode, match_on, cassette_dir, upstream, and recording
    settings such as redact_headers); the marker and then the command line override them."""
    return {}


# ---------------------------------------------------------------------------------------------
# Emulator fixtures


@pytest.fixture(scope="session")
def _mockserver_pool() -> Iterator[ServerPool]:
    from pytest_plugin.servers import ServerPool

    pool = ServerPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def mockserver_cassette(request: pytest.FixtureRequest, mockserver_cassette_config: Any) -> CassetteSpec | None:
    """This test's cassette (file, record mode, matchers), or None when the test has no cassette marker."""
    marker = request.node.get_closest_marker("cassette")
    if marker is None:
        return None
    from pytest_plugin import cassettes

    config = request.config
    cli = {
        "record_mode": config.getoption("record_mode", None),
        "base_url": config.getoption("mockserver_base_url", None),
        "upstream": config.getoption("mockserver_upstream", None),
        "cassette_dir": _cli_path(config, config.getoption("mockserver_cassette_dir", None)),
    }
    try:
        return cassettes.resolve(
            test_path=Path(str(request.node.path)),
            test_name=request.node.name,
            config=mockserver_cassette_config,
            marker=cassettes.marker_arguments(marker.args, marker.kwargs),
            cli=cli,
        )
    except cassettes.CassetteUsageError as exc:
        raise pytest.UsageError(f"{request.node.nodeid}: @pytest.mark.cassette {exc}") from None


def _cli_path(config: pytest.Config, value: str | None) -> str | None:
    if not value:
        return None
    path = Path(value)
    return str(path if path.is_absolute() else Path(str(config.invocation_params.dir)) / path)


@pytest.fixture
def mockserver(
    _mockserver_pool: ServerPool, mockserver_settings: Any, mockserver_cassette: CassetteSpec | None
) -> Iterator[Emulator]:
    """A live emulator on a free loopback port (one per session, reset before each test).

    `.url`, `.base_url` (url + "/v1"), `.api_key`, `.advance(seconds)`, `.requests`, `.tasks`,
    `.callbacks`, `.fault(...)`, `.stub(...)`. With `@pytest.mark.cassette` it serves the test's
    cassette instead (replaying, or recording through the proxy).
    """
    if mockserver_cassette is not None:
        from pytest_plugin.recording import live_cassette_server

        with live_cassette_server(mockserver_cassette, mockserver_settings) as handle:
            yield handle
        return
    handle = _mockserver_pool.emulator(mockserver_settings)
    handle.reset()
    yield handle


@pytest.fixture
def mockserver_app(request: pytest.FixtureRequest, mockserver_settings: Any) -> Any:
    """A fresh emulator as an ASGI app: `httpx.AsyncClient(transport=httpx.ASGITransport(app=mockserver_app),
    base_url="https://api.yescale.io")`. Media links it hands out point at the base URL
    (`--mockserver-base-url`, default https://api.yescale.io)."""
    from mockserver.app import create_app

    settings = mockserver_settings
    if not settings.public_url:
        settings = settings.replace(public_url=_base_url(request.config))
    return create_app(settings)


def _base_url(config: pytest.Config) -> str:
    from pytest_plugin.cassettes import check_url

    value = config.getoption("mockserver_base_url", None) or "https://api.yescale.io"
    try:
        return check_url("--mockserver-base-url", value)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture
def mockserver_respx(
    request: pytest.FixtureRequest,
    mockserver_app: Any,
    mockserver_settings: Any,
    mockserver_cassette: CassetteSpec | None,
) -> Iterator[Emulator]:
    """In-process, no sockets: every httpx or httpx2 request (sync or async) to the base URL
    (`--mockserver-base-url`, default https://api.yescale.io) is answered by the emulator (or the test's
    cassette, recorded from `--mockserver-upstream`); anything else passes through.

    Unmodified `openai.OpenAI(base_url="https://api.yescale.io/v1")`, `anthropic.Anthropic(...)` and
    `genai.Client(...)` work. The handle has the helpers of `mockserver` plus `.app` and `.router`
    (the respx router, with its `calls`).
    """
    from pytest_plugin.recording import in_process

    base_url = mockserver_cassette.base_url if mockserver_cassette is not None else _base_url(request.config)
    with in_process(mockserver_app, mockserver_settings, mockserver_cassette, base_url) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _mockserver_cassette_autouse(request: pytest.FixtureRequest) -> None:
    """A `cassette`-marked test that uses neither emulator fixture still gets its traffic replayed in-process."""
    if request.node.get_closest_marker("cassette") is None:
        return
    if not any(name in request.fixturenames for name in _IN_PROCESS_FIXTURES):
        request.getfixturevalue("mockserver_respx")


# ---------------------------------------------------------------------------------------------
# Callbacks and contracts


@pytest.fixture(scope="session")
def _mockserver_callback_server() -> Iterator[CallbackReceiver]:
    from pytest_plugin.callbacks import running_receiver

    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def callback_receiver(_mockserver_callback_server: CallbackReceiver) -> CallbackReceiver:
    """A live loopback endpoint for notifyHook / callback URLs: `.url`, `.received`,
    `.wait_for(task_id, status=..., timeout=...)`. Emptied before each test."""
    _mockserver_callback_server.clear()
    _mockserver_callback_server.status_code = 200
    return _mockserver_callback_server


@pytest.fixture(scope="session")
def mockserver_contracts() -> ContractChecker:
    """`.validate_request(op, body)` and `.validate_response(op, status, body)`: an AssertionError names
    the JSON path of each problem."""
    from pytest_plugin.checks import ContractChecker

    return ContractChecker()
