"""The registry: every API family, loaded in one place, and the tables built from their declarations.

The emulator (`app.create_app`), the replay server, the verifier and the fuzzer all take their tables
from `load_families()`, so what a request meets never depends on which modules happened to be imported.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Mapping

from mockserver.errors import Envelope, openai_envelope
from mockserver.families.base import Family
from mockserver.models import Model
from mockserver.tasks.engine import Vendor

# Every family package under `mockserver/families/`; a family's name is also its `contracts/` folder.
FAMILY_NAMES = ("openai", "anthropic", "gemini", "midjourney", "suno", "video", "imagegen", "yescale")


@dataclasses.dataclass(frozen=True)
class Registry:
    """The families and the tables made from them: error envelopes and task vendors by vendor name, models."""

    families: tuple[Family, ...]
    envelopes: Mapping[str, Envelope]
    task_vendors: Mapping[str, Vendor]
    models: tuple[Model, ...]

    def envelope(self, vendor: str) -> Envelope:
        """The error envelope of `vendor` (the gateway's OpenAI shape for vendors without their own)."""
        return self.envelopes.get(vendor, openai_envelope)


@functools.cache
def load_families() -> Registry:
    """Import every family package and build the registry (once per process)."""
    families = tuple(importlib.import_module(f"mockserver.families.{name}").FAMILY for name in FAMILY_NAMES)
    envelopes: dict[str, Envelope] = {}
    vendors: dict[str, Vendor] = {}
    models: list[Model] = []
    for family in families:
        if family.name not in FAMILY_NAMES:
            raise RuntimeError(f"family package declares the name {family.name!r}")
        envelopes.update(family.envelopes)
        for vendor in family.task_vendors:
            if vendor.name in vendors:
                raise RuntimeError(f"task vendor {vendor.name!r} is declared twice")
            vendors[vendor.name] = vendor
        models.extend(family.models)
    return Registry(families, envelopes, vendors, tuple(models))
