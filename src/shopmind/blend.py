"""The blend the Engine serves, as training measures it: one scorer, so what is measured is
what is served.

Each model's scores for a history are min-max normalised over the catalogue and summed with the
bundle's weights, which :func:`validate_blend` sets proportional to each model's validation
NDCG@10. :func:`build_similar` builds the similar-items index from whatever item vectors and
item-item similarity the bundle's models hold.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from shopmind.bundle import TrainConfig
from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.data.split import EvalSet, leave_last_out
from shopmind.models.base import Recommender
from shopmind.models.similar import SimilarItems

log = logging.getLogger(__name__)


def normalise_rows(scores: np.ndarray) -> np.ndarray:
    """Min-max each row to [0, 1] over its scorable items; unscorable or demoted items get 0."""
    s = np.atleast_2d(np.asarray(scores, dtype=np.float32))
    valid = np.isfinite(s) & (s > np.float32(-1e30))
    low = np.where(valid, s, np.inf).min(axis=1, keepdims=True)
    high = np.where(valid, s, -np.inf).max(axis=1, keepdims=True)
    span = np.where(np.isfinite(high - low) & (high > low), high - low, 1.0)
    low = np.where(np.isfinite(low), low, 0.0)
    out: np.ndarray = np.where(valid, (s - low) / span, 0.0).astype(np.float32)
    return out


def model_parts(
    models: Mapping[str, Recommender], weights: Mapping[str, float], histories: Histories, n: int
) -> dict[str, np.ndarray]:
    """Each weighted model's normalised scores (rows × n, zero past the model's catalogue)."""
    parts = {}
    for name, model in models.items():
        weight = float(weights.get(name, 0.0))
        if weight <= 0:
            continue
        scores = normalise_rows(model.score(histories)) * np.float32(weight)
        if scores.shape[1] < n:
            scores = np.pad(scores, ((0, 0), (0, n - scores.shape[1])))
        parts[name] = scores[:, :n]
    return parts


class Blend:
    """The served blend as a scorer, so evaluation measures exactly what the engine serves."""

    def __init__(self, models: Mapping[str, Recommender], weights: Mapping[str, float]) -> None:
        self.models = dict(models)
        self.weights = dict(weights)
        self.n_items = max(m.n_items for m in self.models.values())

    def score(self, histories: Histories) -> np.ndarray:
        parts = model_parts(self.models, self.weights, histories, self.n_items)
        total = np.zeros((len(histories), self.n_items), dtype=np.float32)
        for part in parts.values():
            total += part
        return total


def validate_blend(
    data: Dataset, config: TrainConfig
) -> tuple[dict[str, dict[str, float]], dict[str, float], dict[str, Any]]:
    """Validation metrics of every model and of the blend, the blend weights, and the
    similar-items blend.

    Each model is fitted on a leave-last-out training part (targets: ``config.target_types``,
    else any item event) and ranks every item for a sample of validation shoppers. The
    weights are proportional to validation NDCG@k (the first k); equal when all are zero.
    The similar items built from those models pick their text / co-interaction weight by
    NDCG@10 of each validation shopper's next item among their last item's similar items
    (:func:`~shopmind.models.similar.tune_blend`): ``{"weight", "ndcg@10_by_weight"}``, or
    ``{}`` when there is nothing to tune.
    """
    from shopmind.evaluation.evaluator import evaluate
    from shopmind.models.registry import make_model

    names = list(config.models)
    equal = {name: 1.0 / len(names) for name in names}
    split = leave_last_out(data, target_types=config.target_types or None)
    if len(split.valid) == 0:
        split = leave_last_out(data)
    if len(split.valid) == 0:
        log.warning("no shopper has the 3 events validation needs; using equal blend weights")
        return {}, equal, {}
    valid = _sample(split.valid, config.max_validation_rows)
    ks = tuple(config.ks)
    fitted = {name: make_model(name, **config.models[name]).fit(split.train) for name in names}

    def measure(scorer: Any) -> dict[str, float]:
        result = evaluate(scorer, valid, ks=ks, batch_size=256)
        return {
            f"{m}@{k}": round(result.metrics[f"{m}@{k}"], 4) for k in ks for m in ("recall", "ndcg")
        } | {"rows": float(len(valid))}

    metrics = {name: measure(model) for name, model in fitted.items()}
    key = f"ndcg@{ks[0]}"
    total = sum(max(metrics[n][key], 0.0) for n in names)
    weights = {n: round(max(metrics[n][key], 0.0) / total, 4) for n in names} if total else equal
    metrics["blend"] = measure(Blend(fitted, weights))
    return metrics, weights, _tune_similar(fitted, split.train.n_items, valid)


def _tune_similar(
    fitted: Mapping[str, Recommender], n_items: int, valid: EvalSet
) -> dict[str, Any]:
    from shopmind.models.similar import tune_blend

    similar = build_similar(fitted, n_items)
    if similar is None or similar.co_similarity.nnz == 0 or not similar.has_text.any():
        return {}  # one source only: there is no weight to choose
    best, by_weight = tune_blend(similar, valid)
    scores = {str(w): round(v, 4) for w, v in by_weight.items()}
    return {"weight": best, "ndcg@10_by_weight": scores}


def _sample(rows: EvalSet, limit: int, seed: int = 0) -> EvalSet:
    if len(rows) <= limit:
        return rows
    chosen = np.sort(np.random.default_rng(seed).choice(len(rows), limit, replace=False))
    return EvalSet(rows.users[chosen], rows.histories.take(chosen), rows.targets[chosen])


def build_similar(
    models: Mapping[str, Recommender], n_items: int, blend: float = 0.5
) -> SimilarItems | None:
    """Similar items from the text vectors and the co-interaction similarity the models hold;
    ``blend`` is the co-interaction weight (validation chooses it: :func:`validate_blend`)."""
    vectors = next((m.item_vectors for m in models.values() if hasattr(m, "item_vectors")), None)
    co = next(
        (
            getattr(m, "similarity")  # noqa: B009 - any model holding an item-item matrix
            for m in models.values()
            if isinstance(getattr(m, "similarity", None), sp.spmatrix | sp.sparray)
        ),
        None,
    )
    if vectors is None and co is None:
        return None
    if vectors is None:  # no text: the index holds placeholders only, co-interaction answers
        vectors = np.zeros((n_items, 1), dtype=np.float32)
    return SimilarItems.build(vectors, co, blend=blend)
