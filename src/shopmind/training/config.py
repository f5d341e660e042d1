"""What ``shopmind train`` fits into a bundle, and the defaults every command shares."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shopmind.profiles import ProfileConfig
from shopmind.profiles.segments import SegmentConfig
from shopmind.relations.complements import RelationsConfig

#: The models a bundle blends unless told otherwise (``shopmind train``, the demo's bundle,
#: a retrain), with their parameters: name (see ``shopmind.models.registry``) -> parameters.
SERVED_MODELS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "pop": {},
        "itemknn": {"neighbors": 100, "shrink": 20.0, "recency_decay": 0.2},
        "ease": {},
        "content": {"recency_decay": 0.3},
        "sasrec": {"patience": 3, "dropout": 0.5},
    }
)
#: Seconds ``shopmind train`` may spend choosing and fitting (``--budget``).
BUDGET_SECONDS = 25 * 60
#: The models ``shopmind evaluate`` and ``shopmind demo`` compare unless told otherwise.
COMPARED_MODELS: tuple[str, ...] = ("pop", "itemknn", "userknn", "ease", "als", "content")
#: The cutoffs a bundle's validation reports, and so the demo's tables.
METRIC_KS: tuple[int, ...] = (10, 20)
#: The cutoffs the published protocols report: the benchmarks' and ``shopmind evaluate``'s.
PROTOCOL_KS: tuple[int, ...] = (10, 50)


def default_params(name: str) -> dict[str, Any]:
    """A model's parameters in a default bundle (none for a model the bundle does not serve)."""
    return copy.deepcopy(dict(SERVED_MODELS.get(name, {})))


class SearchConfig(BaseModel):
    """How training builds the bundle's search."""

    model_config = ConfigDict(extra="forbid")

    #: Validation purchases whose queries choose the settings, at most.
    validation_queries: int = Field(default=600, ge=10)
    #: Build the semantic side (the language model over the catalogue).
    semantic: bool = True
    #: Candidates each side proposes.
    per_source: int = Field(default=100, ge=10, le=1000)


class TrainConfig(BaseModel):
    """What ``shopmind train`` fits into a bundle (round-trips through JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Model name (see ``shopmind.models.registry``) -> its hyper-parameters.
    models: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {name: default_params(name) for name in SERVED_MODELS}
    )
    #: Choose on validation (the given split, else leave-last-out): each model's parameters,
    #: which models to keep, and the ranker. False: each model's defaults on everything.
    validate_models: bool = True
    #: Try each model's points (False: its given parameters only).
    tune: bool = True
    #: Seconds to spend in all (tuning, fitting, the ranker); each stage takes a share.
    budget_seconds: float = Field(default=BUDGET_SECONDS, gt=0)
    #: "auto": the scorer that does best on the held-out validation shoppers.
    scorer: Literal["auto", "blend", "logistic", "lightgbm"] = "auto"
    #: Items each model proposes per request, and the trending source's (0: none).
    per_source: int = Field(default=100, ge=1, le=2_000)
    trending: int = Field(default=20, ge=0, le=2_000)
    #: A model is kept when its validation NDCG@10 reaches this share of the best model's.
    keep_ratio: float = Field(default=0.2, ge=0.0, le=1.0)
    #: Validation shoppers the ranker learns from at most, and the share held out to choose.
    max_ranker_rows: int = Field(default=30_000, ge=10)
    holdout_share: float = Field(default=0.2, gt=0.0, lt=1.0)
    seed: int = 0
    #: Event types that count as validation targets (all item events when none has enough).
    target_types: tuple[str, ...] = ("purchase",)
    #: Validation shoppers each tuning point is scored on at most (a seeded sample past it).
    max_validation_rows: int = Field(default=5_000, ge=1)
    ks: tuple[int, ...] = METRIC_KS
    #: Bundles kept on disk (the active one is always kept too).
    keep: int = Field(default=5, ge=1)
    #: How shoppers' profiles are read (the same at training and serving time).
    profiles: ProfileConfig = Field(default_factory=ProfileConfig)
    #: How segments are found among the profiles; None: no segments.
    segments: SegmentConfig | None = Field(default_factory=SegmentConfig)
    #: How complements and the category graph are mined (None: not at all).
    relations: RelationsConfig | None = Field(default_factory=RelationsConfig)
    #: How product search is built and tuned (None: no search in the bundle).
    search: SearchConfig | None = Field(default_factory=SearchConfig)

    @classmethod
    def for_models(cls, names: Iterable[str], **settings: Any) -> TrainConfig:
        """A config fitting these models, each with its default parameters."""
        return cls(models={name: default_params(name) for name in names}, **settings)
