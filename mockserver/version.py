"""The package's version, read once from its installed metadata (pyproject.toml is where it is written)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("yescale-mockserver")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
