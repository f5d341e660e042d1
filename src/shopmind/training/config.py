"""What ``shopmind train`` fits into a bundle, and the defaults every command shares."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: The models a bundle blends unless told otherwise (``shopmind train``, the demo's bundle,
#: a retrain), with their parameters: name (see ``shopmind.models.registry``) -> parameters.
SERVED_MODELS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "pop": {},
        "itemknn": {"neighbors": 100, "shrink": 20.0, "recency_decay": 0.2},
        "content": {"recency_decay": 0.3},
    }
)
#: The models ``shopmind evaluate`` and ``shopmind demo`` compare unless told otherwise.
COMPARED_MODELS: tuple[str, ...] = ("pop", "itemknn", "userknn", "ease", "als", "content")
#: The cutoffs a bundle's validation reports, and so the demo's tables.
METRIC_KS: tuple[int, ...] = (10, 20)
#: The cutoffs the published protocols report: the benchmarks' and ``shopmind evaluate``'s.
PROTOCOL_KS: tuple[int, ...] = (10, 50)


def default_params(name: str) -> dict[str, Any]:
    """A model's parameters in a default bundle (none for a model the bundle does not serve)."""
    return copy.deepcopy(dict(SERVED_MODELS.get(name, {})))


class TrainConfig(BaseModel):
    """What ``shopmind train`` fits into a bundle (round-trips through JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Model name (see ``shopmind.models.registry``) -> its hyper-parameters.
    models: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {name: default_params(name) for name in SERVED_MODELS}
    )
    #: Measure every model (and the blend) on a leave-last-out validation split first.
    validate_models: bool = True
    #: Event types that count as validation targets (all item events when none has enough).
    target_types: tuple[str, ...] = ("purchase",)
    #: Validation shoppers evaluated at most (a random, seeded sample past it).
    max_validation_rows: int = Field(default=2_000, ge=1)
    ks: tuple[int, ...] = METRIC_KS
    #: Bundles kept on disk (the active one is always kept too).
    keep: int = Field(default=5, ge=1)

    @classmethod
    def for_models(cls, names: Iterable[str], **settings: Any) -> TrainConfig:
        """A config fitting these models, each with its default parameters."""
        return cls(models={name: default_params(name) for name in names}, **settings)
