"""YEScale's own System API (`/yescale/...`): the user, API keys, logs."""

from __future__ import annotations

from mockserver.families.base import Family
from mockserver.families.yescale import system

FAMILY = Family.collect("yescale", [system])
