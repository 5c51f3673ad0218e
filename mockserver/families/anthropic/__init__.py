"""Anthropic's Messages API (`/v1/messages`), streaming and extended thinking included."""

from __future__ import annotations

from mockserver.families.anthropic import messages
from mockserver.families.base import Family

FAMILY = Family.collect("anthropic", [messages])
