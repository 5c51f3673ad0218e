"""Suno through the gateway (`/suno/...`): songs, lyrics and task fetches."""

from __future__ import annotations

from mockserver.families.base import Family
from mockserver.families.suno import songs

FAMILY = Family.collect("suno", [songs])
