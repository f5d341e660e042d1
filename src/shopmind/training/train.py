"""Train: snapshot the Store, fit the configured models, write a versioned Bundle."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from shopmind.bundle import (
    Bundle,
    BundleStore,
    BundleWriter,
    DataStats,
    Manifest,
    library_versions,
    new_version,
)
from shopmind.bundle.erasure import erased_in
from shopmind.bundle.manifest import now_created
from shopmind.catalog import erasures
from shopmind.engine.history import HISTORY_LIMIT
from shopmind.profiles.audience import Audience
from shopmind.profiles.segments import snapshot_segments
from shopmind.progress import Steps
from shopmind.training.config import TrainConfig
from shopmind.training.fit import fit_bundle
from shopmind.training.snapshot import snapshot

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

log = logging.getLogger(__name__)

#: Trainings in a row that may see a shopper erased while they ran before training gives up.
ERASURE_ATTEMPTS = 3


class ErasedDuringTraining(RuntimeError):
    """Shoppers were erased while every attempt to train ran; no bundle was kept."""


def train(
    store: Store,
    config: TrainConfig | None = None,
    *,
    home: str | Path | None = None,
    activate: bool = True,
    console: Console | None = None,
) -> Bundle:
    """Snapshot the Store, fit the configured models and write (and activate) a new Bundle.

    With ``config.validate_models`` every model is first fitted on a leave-last-out training
    part and measured on validation; the blend weights the engine serves with are proportional
    to each model's validation NDCG@k (the first k; equal weights without validation).

    A shopper erased while training ran may be in the snapshot: then the bundle is deleted
    and training starts again (:data:`ERASURE_ATTEMPTS` times at most). With ``activate``
    the bundle becomes the active one unless the active one was trained on a newer snapshot.
    """
    config = config or TrainConfig()
    bundles = BundleStore(home, keep=config.keep)
    for attempt in range(1, ERASURE_ATTEMPTS + 1):
        bundle = _train_once(store, config, bundles, console)
        erased = erased_in(bundle, store)
        if not erased:
            break
        log.warning(
            "%d shopper(s) were erased while bundle %s was trained (attempt %d of %d): "
            "deleting it and training again",
            len(erased),
            bundle.version,
            attempt,
            ERASURE_ATTEMPTS,
        )
        bundles.remove(bundle.version)
    else:
        raise ErasedDuringTraining(
            f"shoppers were erased during each of {ERASURE_ATTEMPTS} trainings; train again"
        )
    if activate:
        bundles.activate_if_newer(bundle.version)
    bundles.prune()
    return bundle


def _train_once(
    store: Store, config: TrainConfig, bundles: BundleStore, console: Console | None
) -> Bundle:
    with Steps(console) as steps:
        steps.step("snapshotting the store")
        # The mark first: whatever is erased from here on counts against this bundle.
        mark = erasures.snapshot_mark(store)
        data = snapshot(store, upto_seq=mark.events_seq)
        fitted = fit_bundle(data, config, steps)
        segments = None
        if config.segments is not None:
            steps.step("profiling the shoppers and finding their segments")
            segments = snapshot_segments(data, config.profiles, config.segments, time.time() * 1000)
        steps.step("preparing item audiences (the models run in reverse)")
        audience = Audience.build(
            data.users.ids(), data.histories().last(HISTORY_LIMIT), fitted.models, fitted.blend
        )
        steps.step("writing the bundle")
        stats = data.stats()
        manifest = Manifest(
            version=new_version(str(stats)),
            created=now_created(),
            config=config,
            data=DataStats(**stats, store=store.safe_url),
            models=list(fitted.models),
            blend=fitted.blend,
            similar_blend=fitted.similar_blend,
            metrics=fitted.metrics,
            ranking=fitted.ranking,
            libraries=library_versions(),
            snapshot=mark,
        )
        writer = BundleWriter(
            manifest,
            fitted.items,
            fitted.models,
            fitted.similar,
            fitted.scorer,
            segments,
            audience,
            fitted.relations,
            fitted.search,
        )
        bundle = bundles.write(writer)
    return bundle
