"""The model catalog: every model a family declares (its module's `MODELS`) plus `--model` extras."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mockserver.errors import ApiError

if TYPE_CHECKING:
    from mockserver.pipeline import Call

# new-api reports this creation time for most models.
DEFAULT_CREATED = 1626777600


@dataclasses.dataclass(frozen=True)
class Model:
    """One model id as /v1/models lists it."""

    id: str
    owned_by: str
    endpoint_types: tuple[str, ...] = ("openai",)
    created: int = DEFAULT_CREATED


class ModelCatalog:
    """Ordered, de-duplicated models; lookups are O(1)."""

    def __init__(self, models: Iterable[Model] = ()) -> None:
        self._by_id: dict[str, Model] = {}
        for model in models:
            self.add(model)

    def add(self, model: Model) -> None:
        self._by_id.setdefault(model.id, model)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._by_id

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, model_id: str) -> Model | None:
        return self._by_id.get(model_id)


def ensure_model(call: Call, model: str | None, *, field: str = "model") -> None:
    """With --strict-models, refuse a model outside the catalog as the gateway refuses a model no channel
    serves (503, code model_not_found); otherwise accept anything."""
    if not call.state.settings.strict_models or model is None:
        return
    catalog: ModelCatalog = call.state.ext["models"]
    if model not in catalog:
        raise ApiError(
            503,
            f"No available channel for model {model} under group default",
            code="model_not_found",
            param=field,
        )
