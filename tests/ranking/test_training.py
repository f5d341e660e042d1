"""`shopmind train` builds the bundle it measures: validation figures are what the engine
serves, the ranker is LightGBM's own text, and test rows never reach training."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from shopmind.catalog.store import Store
from shopmind.data.split import EvalSet
from shopmind.engine import Engine
from shopmind.evaluation.pipeline import evaluate_pipeline
from shopmind.ranking.scorers import LightGBMScorer, load_scorer
from shopmind.synthetic import SyntheticShop
from shopmind.training.fit import split_for_training
from shopmind.training.ranker import holdout_split
from shopmind.training.snapshot import snapshot
from shopmind.training.tune import sample

if TYPE_CHECKING:
    from tests.ranking.conftest import Trained


def _held_out(trained: Trained, store: Store) -> EvalSet:
    bundle = trained.bundle
    config = bundle.manifest.config
    split = split_for_training(snapshot(store), config)
    assert split is not None
    rows = sample(split.valid, config.max_ranker_rows, config.seed + 1)
    return holdout_split(rows, config.holdout_share, config.seed)[1]


def test_the_recorded_validation_metric_is_what_the_engine_serves(trained: Trained) -> None:
    manifest = trained.bundle.manifest
    assert manifest.ranking is not None and manifest.ranking.scorer == "lightgbm"
    with Store(trained.url) as store:
        held = _held_out(trained, store)
        engine = Engine.load(trained.bundle, store, sync=False)
        result = evaluate_pipeline(
            engine.recommendations, engine.context(), engine.items, held, manifest.config.ks
        )
    recorded = manifest.metrics["served"]
    assert recorded["rows"] == len(held) > 10
    for key in ("recall@10", "ndcg@10", "recall@20", "ndcg@20"):
        assert round(result.metrics[key], 4) == recorded[key], key


def test_the_ranker_is_lightgbm_text_and_loads_to_the_same_scores(trained: Trained) -> None:
    folder = trained.bundle.path / "ranker"
    assert (folder / "lightgbm.txt").read_text().startswith("tree")
    assert not list(trained.bundle.path.rglob("*.pkl")) and not list(
        trained.bundle.path.rglob("*.pickle")
    )
    scorer = load_scorer(folder)
    assert isinstance(scorer, LightGBMScorer)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, len(scorer.names))).astype(np.float32)
    again = load_scorer(folder)
    np.testing.assert_array_equal(scorer.score(x), again.score(x))
    importances = trained.bundle.manifest.ranking.importances  # type: ignore[union-attr]
    assert set(importances) == set(scorer.names)
    assert sum(importances.values()) == pytest.approx(1.0, abs=1e-3)
    # The synthetic shop plants a funnel (a purchase follows views of the item) and shoppers
    # who keep to their segment's kind of product: the ranker leans on exactly that.
    planted = sum(
        v for k, v in importances.items() if k == "item.seen" or k.startswith(("text.", "related."))
    )
    assert planted > 0.5, sorted(importances.items(), key=lambda kv: -kv[1])[:5]


def test_train_records_what_it_chose(trained: Trained) -> None:
    ranking = trained.bundle.manifest.ranking
    assert ranking is not None
    chosen = ranking.chosen
    assert set(chosen["params"]) == set(trained.bundle.model_names)
    for name in trained.bundle.model_names:
        assert chosen["trials"][name], name  # every kept model was tried on validation
    assert set(ranking.metrics) == {"blend", "lightgbm"}
    assert ranking.per_source["trending"] > 0
    assert ranking.feature_sources == list(ranking.per_source)
    on_disk = json.loads((trained.bundle.path / "manifest.json").read_text())
    assert on_disk["ranking"]["scorer"] == "lightgbm"


def test_test_rows_never_reach_training(
    planted: SyntheticShop, tmp_path: Path, train_shop: Callable[..., Trained]
) -> None:
    """Two stores that differ only in every shopper's test target train the same bundle."""
    # A budget no point runs out of: both trainings try every point.
    first = train_shop(planted, tmp_path / "a", budget_seconds=900)
    with Store(first.url) as store:
        split = split_for_training(snapshot(store), first.bundle.manifest.config)
        assert split is not None
    # Move every test target to another item: only the held-out events change.
    changed = tmp_path / "b"
    test_items = set(split.test.targets.tocoo().col.tolist())
    other = next(i for i in range(len(planted.items)) if i not in test_items)
    item_ids = np.array(planted.events["item_id"], dtype=object)
    last = _last_target_positions(planted, split)
    assert len(last) == len(split.test)
    item_ids[last] = planted.items[other].id
    events = {**planted.events, "item_id": item_ids}
    shop = SyntheticShop(planted.config, planted.items, planted.users, events, planted.truth)
    second = train_shop(shop, changed, budget_seconds=900)
    a, b = first.bundle.manifest, second.bundle.manifest
    assert a.metrics == b.metrics
    assert a.ranking is not None and b.ranking is not None
    assert a.ranking.chosen["params"] == b.ranking.chosen["params"]


def _last_target_positions(shop: SyntheticShop, split) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Positions (in the shop's event columns) of each evaluated shopper's last purchase."""
    users = np.asarray(shop.events["user_id"], dtype=object)
    kinds = np.asarray(shop.events["type"], dtype=object)
    stamps = np.asarray(shop.events["timestamp_ms"])
    evaluated = {split.train.users.id(int(u)) for u in split.test.users}
    out = {}
    for pos in np.argsort(stamps, kind="stable"):
        if kinds[pos] == "purchase" and users[pos] in evaluated:
            out[users[pos]] = pos
    return np.array(sorted(out.values()), dtype=np.int64)
