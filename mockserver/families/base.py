"""`Family`: what one API family contributes to the emulator, declared once in its package's `__init__`.

A family package lists its modules in `Family.collect(name, modules)`; each module may define
`ROUTES` (endpoints), `MODELS` (catalog entries), `ENVELOPES` (error shapes by vendor name),
`TASK_VENDORS` (task renderers) and `setup(state)`. Nothing registers itself when imported:
`mockserver.registry.load_families()` reads these declarations, and every table (routes, envelopes,
task vendors, models) is built from what it returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from mockserver.errors import Envelope
from mockserver.models import Model
from mockserver.pipeline import Endpoint
from mockserver.tasks.engine import Vendor

if TYPE_CHECKING:
    from mockserver.state import MockState

Setup = Callable[["MockState"], None]


@dataclasses.dataclass(frozen=True)
class Family:
    """One API family: its name (= its `contracts/<name>/` folder = its package) and what it serves."""

    name: str
    routes: Sequence[Endpoint]
    models: Sequence[Model] = ()
    envelopes: Mapping[str, Envelope] = dataclasses.field(default_factory=dict)
    task_vendors: Sequence[Vendor] = ()
    setups: Sequence[Setup] = ()

    @classmethod
    def collect(cls, name: str, modules: Iterable[ModuleType]) -> Family:
        """The family made of `modules`' declarations (`ROUTES`, `MODELS`, `ENVELOPES`, `TASK_VENDORS`, `setup`)."""
        routes: list[Endpoint] = []
        models: list[Model] = []
        envelopes: dict[str, Envelope] = {}
        vendors: list[Vendor] = []
        setups: list[Setup] = []
        for module in modules:
            routes.extend(getattr(module, "ROUTES", ()))
            models.extend(getattr(module, "MODELS", ()))
            envelopes.update(getattr(module, "ENVELOPES", {}))
            vendors.extend(getattr(module, "TASK_VENDORS", ()))
            setup = getattr(module, "setup", None)
            if setup is not None:
                setups.append(setup)
        return cls(name, tuple(routes), tuple(models), envelopes, tuple(vendors), tuple(setups))
