"""The pytest11 entry point `mockserver` (fixtures and options arrive with the plugin issue)."""

from __future__ import annotations
