"""Plugin tests run inner pytest sessions with `pytester` (enabled by `pytest_plugins` in tests/conftest.py).

The HTTP stacks and the recording layer are imported once up front: pytester's in-process runs forget
modules first imported inside them, and a re-imported httpcore2 (or YAML representer table) would no
longer be the one the rest of the process uses.
"""

from __future__ import annotations

import anthropic  # noqa: F401
import httpcore2  # noqa: F401
import httpx2  # noqa: F401
import openai  # noqa: F401
from google import genai  # noqa: F401

import mockserver.recording.server  # noqa: F401  (its YAML representers must survive inner runs too)
