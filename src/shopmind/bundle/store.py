"""The Bundle: one trained, versioned, self-describing directory that an Engine serves.

Layout of ``$SHOPMIND_HOME/bundles/<version>/`` (no pickle anywhere)::

    manifest.json        version, created, config, data snapshot stats, validation metrics,
                         blend weights, library versions
    items.json           the item IdMap and the side data filters and answers need
    items.npz            price, availability, popularity and trending counts per item
    models/<name>/       each model, written by its own ``save()`` (model.json + state.npz)
    similar/             the SimilarItems index (text + co-interaction), when built

``bundles/active`` names the active version; it is replaced atomically. Versions are a UTC
timestamp and a short hash, so they sort by age; the newest ``keep`` are kept (and the active
one always).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopmind.config import data_home
from shopmind.data.dataset import Dataset, ItemSide
from shopmind.data.idmap import IdMap

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ACTIVE = "active"
_VERSION = re.compile(r"^\d{8}T\d{6}(\d{6})?Z-[0-9a-f]{6}$")
#: Libraries whose versions a manifest records (what the bundle was built with).
_LIBRARIES = ("shopmind", "numpy", "scipy", "torch", "sentence-transformers", "faiss-cpu")
#: The image of an item is read from the first of these attributes it has.
IMAGE_ATTRIBUTES = ("image", "image_url")
#: "Trending" counts the distinct shoppers of each item in this many last days of the snapshot.
TRENDING_DAYS = 7
DAY_MS = 86_400_000


class TrainConfig(BaseModel):
    """What ``shopmind train`` fits into a bundle (round-trips through JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Model name (see ``shopmind.models.registry``) -> its hyper-parameters.
    models: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {
            "pop": {},
            "itemknn": {"neighbors": 100, "shrink": 20.0, "recency_decay": 0.2},
            "content": {"recency_decay": 0.3},
        }
    )
    #: Measure every model (and the blend) on a leave-last-out validation split first.
    validate_models: bool = True
    #: Event types that count as validation targets (all item events when none has enough).
    target_types: tuple[str, ...] = ("purchase",)
    #: Validation shoppers evaluated at most (a random, seeded sample past it).
    max_validation_rows: int = Field(default=2_000, ge=1)
    ks: tuple[int, ...] = (10, 20)
    #: Bundles kept on disk (the active one is always kept too).
    keep: int = Field(default=5, ge=1)


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


@dataclass(frozen=True)
class ItemTable:
    """The item IdMap and side data a bundle carries (aligned by index)."""

    ids: IdMap
    side: ItemSide
    image: list[str | None]
    popularity: np.ndarray  # distinct shoppers per item, float32
    trending: np.ndarray  # distinct shoppers per item over the last TRENDING_DAYS, float32

    @classmethod
    def from_dataset(cls, data: Dataset) -> ItemTable:
        key = data.user * max(data.n_items, 1) + data.item
        first = np.unique(key, return_index=True)[1]
        popularity = np.bincount(data.item[first], minlength=data.n_items).astype(np.float32)
        recent = np.zeros(data.n_items, dtype=np.float32)
        if data.n_events:
            cutoff = int(data.timestamp.max()) - TRENDING_DAYS * DAY_MS
            late = first[data.timestamp[first] >= cutoff]
            recent = np.bincount(data.item[late], minlength=data.n_items).astype(np.float32)
        return cls(data.items, data.item_side, image_of(data.item_side), popularity, recent)

    def save(self, folder: Path) -> None:
        side = self.side
        columns = {
            "ids": self.ids.to_list(),
            "title": side.title,
            "description": side.description,
            "brand": side.brand,
            "category": [list(path) for path in side.category],
            "image": self.image,
        }
        (folder / "items.json").write_text(json.dumps(columns, ensure_ascii=False))
        np.savez(
            folder / "items.npz",
            price=side.price,
            available=side.available,
            popularity=self.popularity,
            trending=self.trending,
        )

    @classmethod
    def load(cls, folder: Path) -> ItemTable:
        columns = json.loads((folder / "items.json").read_text())
        with np.load(folder / "items.npz", allow_pickle=False) as arrays:
            a = {k: arrays[k] for k in arrays.files}
        n = len(columns["ids"])
        side = ItemSide(
            title=columns["title"],
            description=columns["description"],
            brand=columns["brand"],
            category=[tuple(path) for path in columns["category"]],
            price=a["price"].astype(np.float64),
            available=a["available"].astype(bool),
            attributes=[{} for _ in range(n)],
        )
        return cls(
            IdMap.from_list(columns["ids"]), side, columns["image"], a["popularity"], a["trending"]
        )


def image_of(side: ItemSide) -> list[str | None]:
    out: list[str | None] = []
    for attributes in side.attributes:
        found = next((attributes[k] for k in IMAGE_ATTRIBUTES if attributes.get(k)), None)
        out.append(None if found is None else str(found))
    return out


@dataclass(frozen=True)
class Bundle:
    """A bundle directory on disk and its manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def created(self) -> str:
        return str(self.manifest["created"])

    @property
    def model_names(self) -> list[str]:
        return list(self.manifest["models"])

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        found: dict[str, dict[str, float]] = self.manifest.get("metrics", {})
        return found

    @property
    def blend(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.manifest["blend"].items()}

    def model_folder(self, name: str) -> Path:
        return self.path / "models" / name

    @property
    def similar_folder(self) -> Path | None:
        folder = self.path / "similar"
        return folder if folder.exists() else None

    @classmethod
    def load(cls, path: str | Path) -> Bundle:
        folder = Path(path)
        manifest_file = folder / MANIFEST
        if not manifest_file.exists():
            raise FileNotFoundError(f"{folder}: no {MANIFEST}; is this a bundle directory?")
        manifest = json.loads(manifest_file.read_text())
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{folder}: bundle format {manifest.get('format')!r}, this shopmind reads "
                f"{FORMAT_VERSION}; retrain with `shopmind train`"
            )
        return cls(folder, manifest)

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created": self.created,
            "models": self.model_names,
            "metrics": self.metrics,
        }


class BundleStore:
    """The bundles directory: write, list, activate, roll back, prune."""

    def __init__(self, home: str | Path | None = None, keep: int = 5) -> None:
        self.root = Path(home if home is not None else data_home()) / "bundles"
        self.root.mkdir(parents=True, exist_ok=True)
        self.keep = keep

    def versions(self) -> list[str]:
        """Complete bundles, oldest first."""
        return sorted(
            p.name
            for p in self.root.iterdir()
            if _VERSION.match(p.name) and (p / MANIFEST).exists()
        )

    def bundles(self) -> list[Bundle]:
        return [Bundle.load(self.root / v) for v in self.versions()]

    def get(self, version: str) -> Bundle:
        if not _VERSION.match(version) or not (self.root / version / MANIFEST).exists():
            raise KeyError(f"no bundle {version!r} in {self.root}")
        return Bundle.load(self.root / version)

    def active_version(self) -> str | None:
        pointer = self.root / ACTIVE
        if not pointer.exists():
            return None
        version = pointer.read_text().strip()
        return version if version in self.versions() else None

    def active(self) -> Bundle | None:
        version = self.active_version()
        return None if version is None else self.get(version)

    def activate(self, version: str) -> Bundle:
        """Make ``version`` the active bundle (the pointer file is replaced atomically)."""
        bundle = self.get(version)
        _atomic_write(self.root / ACTIVE, version + "\n")
        log.info("bundle %s is active", version)
        return bundle

    def previous(self) -> str | None:
        """The newest bundle older than the active one (what a rollback activates)."""
        active = self.active_version()
        older = [v for v in self.versions() if active is None or v < active]
        return older[-1] if older else None

    def write(self, writer: BundleWriter) -> Bundle:
        """Write a bundle into a temporary folder, then move it into place whole."""
        version = writer.manifest["version"]
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=self.root))
        try:
            writer.write(staging)
            staging.rename(self.root / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return Bundle.load(self.root / version)

    def prune(self) -> list[str]:
        """Delete all but the newest ``keep`` bundles (never the active one); returns them."""
        versions = self.versions()
        active = self.active_version()
        doomed = [v for v in versions[: max(len(versions) - self.keep, 0)] if v != active]
        for version in doomed:
            shutil.rmtree(self.root / version, ignore_errors=True)
        return doomed


@dataclass
class BundleWriter:
    """Everything a new bundle holds, before it is written."""

    manifest: dict[str, Any]
    items: ItemTable
    models: dict[str, Any]  # name -> fitted Recommender
    similar: Any | None  # SimilarItems

    def write(self, folder: Path) -> None:
        self.items.save(folder)
        for name, model in self.models.items():
            model.save(folder / "models" / name)
        if self.similar is not None:
            (folder / "similar").mkdir()
            self.similar.save(folder / "similar")
        (folder / MANIFEST).write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
