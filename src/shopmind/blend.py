"""The blend the Engine serves, as training measures it: one scorer, so what is measured is
what is served.

It ranks in two stages. Each model proposes its best ``CANDIDATES`` items for the shopper
(from its own index when it has one, e.g. the content model's HNSW graph, else from its full
scores); over the union of the proposals each model's scores are min-max normalised and summed
with the bundle's weights, which :func:`validate_blend` sets proportional to each model's
validation NDCG@10. An item no model proposes is never served. :func:`build_similar` builds
the similar-items index from whatever item vectors and item-item similarity the bundle's
models hold.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.data.split import EvalSet, leave_last_out
from shopmind.models.base import Recommender
from shopmind.models.similar import SimilarItems
from shopmind.training.config import TrainConfig

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


#: Items each model proposes per shopper; the blend ranks the union of the proposals.
CANDIDATES = 100


def candidate_parts(
    models: Mapping[str, Recommender],
    weights: Mapping[str, float],
    history: Histories,
    n: int,
    *,
    allowed: np.ndarray | None = None,
    full: Mapping[str, np.ndarray] | None = None,
    proposed: Mapping[str, np.ndarray] | None = None,
    per_model: int | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One shopper's candidates and each weighted model's normalised part over them.

    ``history`` is one row; ``allowed`` a bool mask over the ``n`` items (only allowed items
    are proposed). A model proposes through :meth:`Recommender.candidates` when it has that
    shortcut, else its top ``per_model`` (default :data:`CANDIDATES`) scores. A caller that
    has them already passes ``proposed`` (a model's proposals for this row) and ``full`` (its
    scores over all ``n`` items). Returns the candidate item indices (sorted) and, per model,
    its scores over them min-max normalised and times its weight.
    """
    per_model = CANDIDATES if per_model is None else per_model
    weighted = [(name, m, float(weights.get(name, 0.0))) for name, m in models.items()]
    weighted = [(name, m, w) for name, m, w in weighted if w > 0]
    rows = dict(full or {})
    found = dict(proposed or {})
    for name, model, _ in weighted:
        if name not in found:
            shortcut = model.candidates(history, per_model, allowed)
            if shortcut is not None:
                found[name] = shortcut[0]
                continue
            if name not in rows:
                rows[name] = _padded(model.score(history)[0], n)
            found[name] = _top(rows[name], per_model, allowed)
    union = np.unique(np.concatenate([np.zeros(0, np.int64)] + [found[n] for n, _, _ in weighted]))
    union = union[union >= 0].astype(np.int64)
    parts = {}
    for name, model, weight in weighted:
        raw = rows[name][union] if name in rows else model.score(history, items=union)[0]
        parts[name] = normalise_rows(raw)[0] * np.float32(weight)
    return union, parts


def _padded(scores: np.ndarray, n: int) -> np.ndarray:
    """A model's scores over ``n`` items (NaN past its own catalogue)."""
    out = np.full(n, np.nan, dtype=np.float32)
    out[: min(len(scores), n)] = scores[:n]
    return out


def _top(scores: np.ndarray, count: int, allowed: np.ndarray | None) -> np.ndarray:
    """The ``count`` best allowed, scorable items (unordered)."""
    s = scores if allowed is None else np.where(allowed, scores, -np.inf)
    s = np.where(np.isnan(s), -np.inf, s)
    count = min(count, len(s))
    if count <= 0:
        return np.zeros(0, np.int64)
    best = np.argpartition(-s, count - 1)[:count]
    return best[s[best] > -np.inf].astype(np.int64)


class Blend:
    """The served blend as a scorer, so evaluation measures exactly what the engine serves.

    Candidates get their blended score (at least 0); every other item -1, below them all.
    """

    def __init__(
        self,
        models: Mapping[str, Recommender],
        weights: Mapping[str, float],
        allowed: np.ndarray | None = None,
    ) -> None:
        self.models = dict(models)
        self.weights = dict(weights)
        self.allowed = allowed
        self.n_items = max(m.n_items for m in self.models.values())

    def score(self, histories: Histories) -> np.ndarray:
        n = self.n_items
        live = {n_: m for n_, m in self.models.items() if self.weights.get(n_, 0.0) > 0}
        # Batched: every model's scores, and the proposals of the models with a shortcut.
        full = {name: model.score(histories) for name, model in live.items()}
        shortcuts = {
            name: model.candidates(histories, CANDIDATES, self.allowed)
            for name, model in live.items()
        }
        total = np.full((len(histories), n), -1.0, dtype=np.float32)
        for r in range(len(histories)):
            union, parts = candidate_parts(
                self.models,
                self.weights,
                histories.take(np.array([r])),
                n,
                allowed=self.allowed,
                full={name: _padded(scores[r], n) for name, scores in full.items()},
                proposed={k: v[r] for k, v in shortcuts.items() if v is not None},
            )
            total[r, union] = sum(parts.values(), np.zeros(len(union), np.float32))
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
