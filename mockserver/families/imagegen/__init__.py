"""Image generation vendors beyond OpenAI's `/v1/images`: Ideogram, Recraft and Replicate's Flux."""

from __future__ import annotations

from mockserver.families.base import Family
from mockserver.families.imagegen import ideogram, recraft, replicate

FAMILY = Family.collect("imagegen", [ideogram, recraft, replicate])
