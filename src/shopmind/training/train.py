"""Train: snapshot the Store, fit the configured models, write a versioned Bundle."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from shopmind.bundle import (
    Bundle,
    BundleStore,
    BundleWriter,
    DataStats,
    ItemTable,
    Manifest,
    SimilarBlend,
    library_versions,
    new_version,
)
from shopmind.bundle.manifest import now_created
from shopmind.progress import Steps
from shopmind.training.config import TrainConfig
from shopmind.training.snapshot import snapshot

if TYPE_CHECKING:
    from shopmind.catalog.store import Store


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
    """
    from shopmind.blend import build_similar, validate_blend
    from shopmind.models.registry import make_model

    config = config or TrainConfig()
    with Steps(console, total=len(config.models) + 2) as steps:
        steps.step("snapshotting the store")
        data = snapshot(store)
        steps.advance()
        metrics: dict[str, dict[str, float]] = {}
        weights = {name: 1.0 / len(config.models) for name in config.models}
        similar_blend: SimilarBlend | None = None
        if config.validate_models:
            steps.step(f"validating {', '.join(config.models)} and their blend")
            metrics, weights, tuned = validate_blend(data, config)
            similar_blend = SimilarBlend.model_validate(tuned) if tuned else None
        models = {}
        for name, params in config.models.items():
            steps.step(f"fitting {name}")
            models[name] = make_model(name, **params).fit(data)
            steps.advance()
        steps.step("indexing similar items and writing the bundle")
        blend = similar_blend.weight if similar_blend is not None else 0.5
        similar = build_similar(models, data.n_items, blend)
        stats = data.stats()
        manifest = Manifest(
            version=new_version(str(stats)),
            created=now_created(),
            config=config,
            data=DataStats(**stats, store=store.safe_url),
            models=list(models),
            blend=weights,
            similar_blend=similar_blend,
            metrics=metrics,
            libraries=library_versions(),
        )
        bundles = BundleStore(home, keep=config.keep)
        items = ItemTable.from_dataset(data)
        bundle = bundles.write(BundleWriter(manifest, items, models, similar))
        steps.advance()
    if activate:
        bundles.activate(bundle.version)
    bundles.prune()
    return bundle
