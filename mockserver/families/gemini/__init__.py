"""Google Gemini's native API (`/v1beta/models/...`): generate, stream, count tokens, embed, models."""

from __future__ import annotations

from mockserver.families.base import Family
from mockserver.families.gemini import generate

FAMILY = Family.collect("gemini", [generate])
