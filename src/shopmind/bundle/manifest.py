"""The bundle's manifest: what a bundle is, written as ``manifest.json`` and read back validated.

The JSON keeps the keys of format 1 as the first bundles wrote them, so a bundle written
before the manifest was typed loads unchanged (``similar_blend`` may be absent there).
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from shopmind.catalog.erasures import SnapshotMark
from shopmind.training.config import TrainConfig

FORMAT_VERSION: Final = 1
#: A version name: UTC time (to the microsecond) and a short hash, so names sort by age.
VERSION_PATTERN = r"^\d{8}T\d{6}(\d{6})?Z-[0-9a-f]{6}$"
#: Libraries whose versions a manifest records (what the bundle was built with).
_LIBRARIES = ("shopmind", "numpy", "scipy", "torch", "sentence-transformers", "faiss-cpu")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataStats(_Part):
    """The snapshot a bundle was trained on."""

    users: int
    items: int
    events: int
    searches: int
    items_with_events: int
    #: The store's URL, password masked.
    store: str


class SimilarBlend(_Part):
    """The similar items' co-interaction weight validation chose, and what each scored."""

    model_config = ConfigDict(populate_by_name=True)

    weight: float
    #: Candidate weight (as text) -> NDCG@10 of the next item among the last one's similar.
    ndcg_by_weight: dict[str, float] = Field(alias="ndcg@10_by_weight")


class RankingSpec(_Part):
    """How the bundle ranks: its sources, the features' sources and the scorer it chose."""

    #: The scorer served (``ranker/`` holds it): "blend", "logistic" or "lightgbm".
    scorer: str
    #: Source -> items it proposes per request.
    per_source: dict[str, int]
    #: The sources whose columns the features hold, in order (what the scorer reads).
    feature_sources: list[str]
    #: Scorer kind -> its metrics on the ranker's held-out validation shoppers.
    metrics: dict[str, dict[str, float]] = Field(default_factory=dict)
    #: Feature -> share of the served ranker's total split gain (LightGBM).
    importances: dict[str, float] = Field(default_factory=dict)
    #: What training chose and why (per model parameters, dropped models, timings).
    chosen: dict[str, Any] = Field(default_factory=dict)


class Manifest(_Part):
    """Everything a bundle says about itself (``manifest.json``)."""

    format: Literal[1] = FORMAT_VERSION
    version: str = Field(pattern=VERSION_PATTERN)
    #: ISO-8601 UTC time the bundle was written, to the second.
    created: str
    config: TrainConfig
    data: DataStats
    #: The fitted models, in the order the config names them.
    models: list[str]
    #: Model -> blend weight (proportional to validation NDCG@k; equal without validation).
    blend: dict[str, float]
    #: None when there was nothing to choose (written as ``{}``).
    similar_blend: SimilarBlend | None = None
    #: Model (and "blend") -> validation metric -> value; "rows" is how many shoppers.
    metrics: dict[str, dict[str, float]] = Field(default_factory=dict)
    #: The served ranking (None in bundles written before it: the blend of ``blend``).
    ranking: RankingSpec | None = None
    libraries: dict[str, str] = Field(default_factory=dict)
    #: Where the store stood when the training snapshot was taken: which erasures the bundle
    #: may hold, and which of two bundles is newer. None in bundles written before it was kept
    #: (then left out of the JSON, so they are written back as they were).
    snapshot: SnapshotMark | None = None

    @field_validator("created")
    @classmethod
    def _iso(cls, value: str) -> str:
        datetime.fromisoformat(value)  # raises ValueError, which names the field
        return value

    @field_validator("similar_blend", mode="before")
    @classmethod
    def _none_when_empty(cls, value: Any) -> Any:
        return None if value == {} else value

    @field_serializer("similar_blend")
    def _empty_when_none(self, value: SimilarBlend | None) -> dict[str, Any]:
        return {} if value is None else value.model_dump(mode="json", by_alias=True)

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON data, with the keys ``manifest.json`` and the API use."""
        out = self.model_dump(mode="json", by_alias=True)
        for key in ("snapshot", "ranking"):  # absent from bundles written before them
            if out.get(key, {}) is None:
                del out[key]
        return out


def library_versions() -> dict[str, str]:
    out = {}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def new_version(seed: str = "") -> str:
    """A version name: UTC time to the microsecond and a short hash (sorts by age)."""
    now = datetime.now(UTC)
    digest = hashlib.sha256(f"{now.isoformat()}{seed}{os.getpid()}".encode()).hexdigest()[:6]
    return f"{now:%Y%m%dT%H%M%S%f}Z-{digest}"


def now_created() -> str:
    """The ``created`` stamp of a manifest written now."""
    return datetime.now(UTC).isoformat(timespec="seconds")
