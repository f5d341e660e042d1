"""Batch steps shared by the CLI and the benchmarks: generate, snapshot, split, evaluate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from shopmind.bundle import (
    Bundle,
    BundleStore,
    BundleWriter,
    ItemTable,
    TrainConfig,
    library_versions,
    new_version,
)
from shopmind.data.dataset import Dataset
from shopmind.data.split import Split, as_given, leave_last_out
from shopmind.evaluation.runner import GRIDS, run_model, summary_row

if TYPE_CHECKING:
    from shopmind.catalog.store import Store
    from shopmind.catalog.synthetic import SyntheticConfig, SyntheticShop


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
        transient=True,
    )


def generate_shop(
    store: Store, config: SyntheticConfig, console: Console | None = None
) -> SyntheticShop:
    """Generate the synthetic shop and write it to the Store."""
    from shopmind.catalog.synthetic import generate, write_to_store

    with _progress(console) as progress:
        task = progress.add_task("generating the synthetic shop", total=2)
        shop = generate(config)
        progress.update(task, advance=1, description="writing it to the store")
        write_to_store(shop, store)
        progress.update(task, advance=1)
    return shop


def snapshot_split(store: Store, target_types: Sequence[str] | None = None) -> Split:
    """Snapshot the Store and split it: the given split if the data has one, else leave-last-out.

    Raises ValueError when no shopper can be evaluated (an empty store, or too few targets).
    """
    data = Dataset.from_store(store)
    if data.n_events == 0:
        raise ValueError(
            "the store holds no events: import some (shopmind import events) "
            "or run shopmind generate first"
        )
    if (data.split > 0).any():
        return as_given(data)
    split = leave_last_out(data, target_types=target_types)
    if len(split.test) == 0:
        kinds = ", ".join(target_types) if target_types else "any type"
        raise ValueError(
            f"no shopper in the store has the 3 events of {kinds} that leave-last-out needs "
            "(train, validation, test); nothing to evaluate"
        )
    return split


def evaluate_models(
    split: Split,
    names: Sequence[str],
    *,
    ks: tuple[int, ...] = (10, 50),
    mask_history: bool = False,
    tune: bool = False,
    bootstrap: int = 0,
    console: Console | None = None,
) -> dict[str, dict[str, Any]]:
    """Fit each model on train (tuning on validation if asked) and summarise its test result."""
    results: dict[str, dict[str, Any]] = {}
    with _progress(console) as progress:
        task = progress.add_task("training and evaluating", total=len(names))
        for name in names:
            progress.update(task, description=f"{name}: fitting and evaluating")
            run = run_model(
                name,
                split,
                mask_history=mask_history,
                ks=ks,
                grid=GRIDS.get(name, {}) if tune else {},
                bootstrap=bootstrap,
            )
            row = summary_row(run, ks)
            results[name] = row
            progress.advance(task)
    return results


# --- train: snapshot -> fitted models -> a versioned Bundle --------------------------------


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
    to each model's validation NDCG@10 (equal weights without validation).
    """
    from shopmind.blend import build_similar, validate_blend
    from shopmind.models.registry import make_model

    config = config or TrainConfig()
    with _progress(console) as progress:
        task = progress.add_task("snapshotting the store", total=len(config.models) + 2)
        data = Dataset.from_store(store)
        if data.n_events == 0:
            raise ValueError(
                "the store holds no events: import some (shopmind import events) "
                "or run shopmind generate first"
            )
        progress.advance(task)
        metrics: dict[str, dict[str, float]] = {}
        weights = {name: 1.0 / len(config.models) for name in config.models}
        similar_blend: dict[str, Any] = {}
        if config.validate_models:
            progress.update(task, description="validating the models")
            metrics, weights, similar_blend = validate_blend(data, config)
        models = {}
        for name, params in config.models.items():
            progress.update(task, description=f"fitting {name}")
            models[name] = make_model(name, **params).fit(data)
            progress.advance(task)
        progress.update(task, description="indexing similar items")
        similar = build_similar(models, data.n_items, similar_blend.get("weight", 0.5))
        manifest = {
            "format": 1,
            "version": new_version(str(data.stats())),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": config.model_dump(mode="json"),
            "data": data.stats() | {"store": store.safe_url},
            "models": list(models),
            "blend": weights,
            "similar_blend": similar_blend,
            "metrics": metrics,
            "libraries": library_versions(),
        }
        bundles = BundleStore(home, keep=config.keep)
        items = ItemTable.from_dataset(data)
        bundle = bundles.write(BundleWriter(manifest, items, models, similar))
        progress.advance(task)
    if activate:
        bundles.activate(bundle.version)
    bundles.prune()
    return bundle
