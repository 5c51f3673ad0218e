"""Settings merge defaults ← pyproject ← environment ← CLI flags, and bad values are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.settings import Settings, SettingsError, load_settings


def test_defaults() -> None:
    s = load_settings(environ={}, pyproject=Path("/nonexistent/pyproject.toml"))
    assert s == Settings()
    assert s.base_url == "http://127.0.0.1:8080"


def test_precedence(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.mockserver]\nseed = 1\nport = 9000\napi-key = ["a", "b"]\nstrict_models = true\n')
    s = load_settings(environ={"MOCKSERVER_SEED": "2"}, pyproject=pyproject)
    assert (s.seed, s.port, s.api_key, s.strict_models) == (2, 9000, ("a", "b"), True)
    s = load_settings({"seed": 3, "port": None}, environ={"MOCKSERVER_SEED": "2"}, pyproject=pyproject)
    assert (s.seed, s.port) == (3, 9000)


def test_env_lists_and_booleans() -> None:
    s = load_settings(
        environ={"MOCKSERVER_API_KEY": "k1, k2", "MOCKSERVER_INSTANT": "yes", "MOCKSERVER_SPEED": "0"},
        pyproject=Path("/nonexistent"),
    )
    assert s.api_key == ("k1", "k2") and s.instant is True and s.speed == 0.0


@pytest.mark.parametrize(
    ("env", "named"),
    [({"MOCKSERVER_PORT": "eighty"}, "MOCKSERVER_PORT"), ({"MOCKSERVER_INSTANT": "maybe"}, "MOCKSERVER_INSTANT")],
)
def test_bad_values_name_their_source(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ=env, pyproject=Path("/nonexistent"))


def test_unknown_pyproject_key(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.mockserver]\nsede = 1\n")
    with pytest.raises(SettingsError, match="sede"):
        load_settings(environ={}, pyproject=pyproject)


def test_public_url_wins_for_links() -> None:
    assert Settings(host="0.0.0.0", port=1).base_url == "http://127.0.0.1:1"
    assert Settings(public_url="https://mock.example/").base_url == "https://mock.example"
