"""``shopmind evaluate --bundle``: what a bundle serves, scored on the rows it never saw.

The store is snapshotted as the bundle's training saw it (up to its snapshot mark) and split
the way training split it: a benchmark's given split, else leave-last-out. The bundle was
fitted on the training part and chose its ranker on validation; here the engine's own
pipeline (the bundle's models, ranker, exclusion, rules, fallbacks) serves every test row
and its target is looked up in the served list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from shopmind.bundle.store import Bundle
from shopmind.data.histories import Histories
from shopmind.data.split import EvalSet
from shopmind.engine import Engine
from shopmind.evaluation.evaluator import EvalResult
from shopmind.evaluation.pipeline import evaluate_pipeline
from shopmind.training.fit import split_for_training
from shopmind.training.snapshot import snapshot

if TYPE_CHECKING:
    from shopmind.catalog.store import Store


@dataclass(frozen=True)
class BundleEvaluation:
    """A bundle's test figures, and what they were measured on."""

    version: str
    split: str
    rows: int
    n_items: int
    result: EvalResult


def evaluate_bundle(
    bundle: Bundle, store: Store, ks: tuple[int, ...], *, bootstrap: int = 0
) -> BundleEvaluation:
    """Serve the held-out test rows with the bundle's pipeline and score the lists."""
    mark = bundle.manifest.snapshot
    data = snapshot(store, upto_seq=mark.events_seq if mark is not None else None)
    split = split_for_training(data, bundle.manifest.config)
    if split is None or len(split.test) == 0:
        raise ValueError("the store has no held-out test rows for this bundle to be scored on")
    engine = Engine.load(bundle, store, sync=False)
    rows = in_bundle_ids(split.test, data.items.to_list(), engine)
    result = evaluate_pipeline(
        engine.recommendations, engine.context(), engine.items, rows, ks, bootstrap=bootstrap
    )
    return BundleEvaluation(bundle.version, split.name, len(rows), engine.n_items, result)


def in_bundle_ids(rows: EvalSet, snapshot_ids: list[str], engine: Engine) -> EvalSet:
    """The rows with their item indices translated from the snapshot's ids to the bundle's."""
    index = engine.items.indices(snapshot_ids)
    if np.array_equal(index, np.arange(len(snapshot_ids))):
        return rows
    h = rows.histories
    items = np.where(h.items >= 0, index[np.maximum(h.items, 0)], -1)
    histories = Histories(h.indptr, items, h.types, h.timestamps, h.weights)
    targets = rows.targets.tocoo()
    keep = index[targets.col] >= 0
    moved = sp.csr_matrix(
        (targets.data[keep], (targets.row[keep], index[targets.col[keep]])),
        shape=(targets.shape[0], engine.n_items),
    )
    return EvalSet(rows.users, histories, moved)
