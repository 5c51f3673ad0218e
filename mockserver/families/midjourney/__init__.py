"""Midjourney, as YEScale serves it (midjourney-proxy behind new-api): jobs, buttons, tasks, images."""

from __future__ import annotations

from mockserver.families.base import Family
from mockserver.families.midjourney import routes

FAMILY = Family.collect("midjourney", [routes])
