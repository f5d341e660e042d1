"""The Bundle: one trained, versioned, self-describing directory that an Engine serves.

Layout of ``$SHOPMIND_HOME/bundles/<version>/`` (no pickle anywhere)::

    manifest.json        version, created, config, data snapshot stats, validation metrics,
                         blend weights, library versions
    items.json           the item IdMap and the side data filters and answers need
    items.npz            price, availability, popularity and trending counts per item
    models/<name>/       each model, written by its own ``save()`` (model.json + state.npz)
    similar/             the SimilarItems index (text + co-interaction), when built
    relations/           complements and the category graph (shopmind.relations), when mined
    search/              the lexical and semantic search indexes and their settings

``bundles/active`` names the active version; it is replaced atomically, under a file lock
(``bundles/active.lock``) so that "activate it if it is newer than the active one" holds
across processes. Versions are a UTC timestamp and a short hash, so they sort by age; the
newest ``keep`` are kept (and the active one always).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shopmind.bundle.items import ItemTable
from shopmind.bundle.manifest import FORMAT_VERSION, VERSION_PATTERN, Manifest
from shopmind.config import data_home
from shopmind.files import atomic_write

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
ACTIVE = "active"
_VERSION = re.compile(VERSION_PATTERN)


@dataclass(frozen=True)
class Bundle:
    """A bundle directory on disk and its manifest."""

    path: Path
    manifest: Manifest

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def created(self) -> str:
        return self.manifest.created

    @property
    def model_names(self) -> list[str]:
        return list(self.manifest.models)

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        return self.manifest.metrics

    @property
    def blend(self) -> dict[str, float]:
        return dict(self.manifest.blend)

    def model_folder(self, name: str) -> Path:
        return self.path / "models" / name

    @property
    def audience_folder(self) -> Path | None:
        folder = self.path / "audience"
        return folder if folder.exists() else None

    @property
    def segments_folder(self) -> Path | None:
        folder = self.path / "segments"
        return folder if folder.exists() else None

    @property
    def relations_folder(self) -> Path | None:
        folder = self.path / "relations"
        return folder if folder.exists() else None

    @property
    def search_folder(self) -> Path | None:
        folder = self.path / "search"
        return folder if folder.exists() else None

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
        raw = json.loads(manifest_file.read_text())
        if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
            found = raw.get("format") if isinstance(raw, dict) else None
            raise ValueError(
                f"{folder}: bundle format {found!r}, this shopmind reads "
                f"{FORMAT_VERSION}; retrain with `shopmind train`"
            )
        try:
            manifest = Manifest.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(
                f"{manifest_file}: not a valid manifest ({problems}); retrain with `shopmind train`"
            ) from None
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
        with self._activation():
            bundle = self.get(version)
            atomic_write(self.root / ACTIVE, version + "\n")
        log.info("bundle %s is active", version)
        return bundle

    def activate_if_newer(self, version: str) -> bool:
        """Make ``version`` active unless the active bundle was trained on a newer snapshot
        (a retrain that started earlier and finished later must not replace it); True when
        it was activated."""
        with self._activation():
            bundle = self.get(version)
            active = self.active()
            if active is not None and not newer(bundle.manifest, active.manifest):
                log.info(
                    "bundle %s is not activated: the active %s was trained on a newer snapshot",
                    version,
                    active.version,
                )
                return False
            atomic_write(self.root / ACTIVE, version + "\n")
        log.info("bundle %s is active", version)
        return True

    def remove(self, version: str) -> None:
        """Delete a bundle that is not the active one (KeyError when it is, or is unknown)."""
        with self._activation():
            if version == self.active_version():
                raise KeyError(f"bundle {version!r} is the active one")
            self.get(version)  # KeyError when there is none
            shutil.rmtree(self.root / version)
        log.info("bundle %s deleted", version)

    @contextmanager
    def _activation(self) -> Iterator[None]:
        """Held while the active pointer is read and replaced (a file lock across processes)."""
        if fcntl is None:
            yield
            return
        with (self.root / "active.lock").open("ab") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # held for a file read and a rename only
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def previous(self) -> str | None:
        """The newest bundle older than the active one (what a rollback activates)."""
        active = self.active_version()
        older = [v for v in self.versions() if active is None or v < active]
        return older[-1] if older else None

    def write(self, writer: BundleWriter) -> Bundle:
        """Write a bundle into a temporary folder, then move it into place whole."""
        version = writer.manifest.version
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=self.root))
        try:
            writer.write(staging)
            staging.rename(self.root / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return Bundle.load(self.root / version)

    def prune(self, also_kept: Iterable[str] = ()) -> list[str]:
        """Delete all but the newest ``keep`` bundles (never the active one, nor those of
        ``also_kept``: an experiment's arms); returns them."""
        versions = self.versions()
        kept = {self.active_version(), *also_kept}
        doomed = [v for v in versions[: max(len(versions) - self.keep, 0)] if v not in kept]
        for version in doomed:
            shutil.rmtree(self.root / version, ignore_errors=True)
        return doomed


@dataclass
class BundleWriter:
    """Everything a new bundle holds, before it is written."""

    manifest: Manifest
    items: ItemTable
    models: dict[str, Any]  # name -> fitted Recommender
    similar: Any | None  # SimilarItems
    #: The served scorer (``ranker/``); None: the blend of the manifest's weights.
    scorer: Any | None = None
    #: The shoppers' segments (``segments/``): (SegmentModel, members by segment, the
    #: facts rule segments read), or None.
    segments: tuple[Any, Any, Any] | None = None
    #: The shoppers' histories as the models score items in reverse (``audience/``), or None.
    audience: Any | None = None
    #: Complements and the category graph (``relations/``), or None.
    relations: Any | None = None
    #: The search indexes and settings (``search/``), or None.
    search: Any | None = None

    def write(self, folder: Path) -> None:
        self.items.save(folder)
        for name, model in self.models.items():
            model.save(folder / "models" / name)
        if self.similar is not None:
            (folder / "similar").mkdir()
            self.similar.save(folder / "similar")
        if self.scorer is not None:
            self.scorer.save(folder / "ranker")
        if self.segments is not None:
            model, members, facts = self.segments
            model.save(folder / "segments", members, facts)
        if self.audience is not None:
            self.audience.save(folder / "audience")
        if self.relations is not None:
            self.relations.save(folder / "relations")
        if self.search is not None:
            self.search.save(folder / "search")
        (folder / MANIFEST).write_text(json.dumps(self.manifest.to_json(), indent=2) + "\n")


def newer(a: Manifest, b: Manifest) -> bool:
    """Whether bundle ``a`` was trained on a later snapshot than ``b`` (a bundle that does not
    say when its snapshot was taken is older than one that does; then by version)."""

    def order(m: Manifest) -> tuple[int, str]:
        return (m.snapshot.taken_ms if m.snapshot is not None else -1, m.version)

    return order(a) > order(b)
