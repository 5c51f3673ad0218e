"""mockserver: an offline, contract-driven stand-in for the YEScale AI API gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.version import __version__

__all__ = ["Settings", "__version__", "create_app", "load_contracts"]

if TYPE_CHECKING:
    from mockserver.app import create_app
    from mockserver.contracts import load_contracts
    from mockserver.settings import Settings


def __getattr__(name: str) -> Any:
    # Imported lazily so `import mockserver` (e.g. by the pytest plugin) stays cheap.
    if name == "create_app":
        from mockserver.app import create_app

        return create_app
    if name == "load_contracts":
        from mockserver.contracts import load_contracts

        return load_contracts
    if name == "Settings":
        from mockserver.settings import Settings

        return Settings
    raise AttributeError(name)
