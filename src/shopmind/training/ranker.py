"""Fitting the scorers on validation targets, with candidates from models fitted on the
training part only.

The validation shoppers are split (seeded, by shopper) into the ranker's training rows and
its held-out rows. The training rows' slates — run through the served stages up to the
features — give one group per shopper: its candidates, their features, and label 1 on the
validation target. The held-out rows choose LightGBM's number of trees and, through the whole
served pipeline, which scorer the bundle serves. Test rows are never read here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shopmind.data.split import EvalSet
from shopmind.ranking.scorers import BlendScorer, LightGBMScorer, LogisticScorer
from shopmind.ranking.slate import Slate

log = logging.getLogger(__name__)

#: LightGBM's settings for the LambdaRank ranker (the number of trees is chosen on the
#: held-out shoppers by early stopping).
LIGHTGBM_PARAMS: dict[str, object] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambdarank_truncation_level": 20,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
}
MAX_TREES = 1_000
EARLY_STOPPING = 50


@dataclass(frozen=True)
class RankerRows:
    """Candidates of many slates as one matrix: features, labels and per-slate groups."""

    features: np.ndarray
    labels: np.ndarray
    groups: np.ndarray  # candidates per slate, in order

    @property
    def n_groups(self) -> int:
        return len(self.groups)


def holdout_split(rows: EvalSet, share: float, seed: int) -> tuple[EvalSet, EvalSet]:
    """The validation rows split by shopper into (the ranker's training rows, held-out rows)."""
    users = np.unique(rows.users)
    rng = np.random.default_rng(seed)
    held = set(rng.choice(users, size=max(1, round(share * len(users))), replace=False).tolist())
    mask = np.array([u in held for u in rows.users.tolist()], dtype=bool)
    return rows.take(np.flatnonzero(~mask)), rows.take(np.flatnonzero(mask))


def ranker_rows(slates: Sequence[Slate], rows: EvalSet) -> RankerRows:
    """The slates' candidates with label 1 on each row's target; slates whose target no
    source proposed teach nothing about order and are left out."""
    targets = rows.targets.tocsr()
    xs, ys, groups = [], [], []
    for r, slate in enumerate(slates):
        if slate.features is None or not len(slate.items) or slate.fallback is not None:
            continue
        wanted = targets.indices[targets.indptr[r] : targets.indptr[r + 1]]
        label = np.isin(slate.items, wanted).astype(np.float32)
        if not label.any():
            continue
        xs.append(slate.features)
        ys.append(label)
        groups.append(len(label))
    if not xs:
        return RankerRows(np.zeros((0, 0), np.float32), np.zeros(0, np.float32), np.zeros(0, int))
    return RankerRows(np.concatenate(xs), np.concatenate(ys), np.asarray(groups, np.int64))


def fit_lightgbm(
    train: RankerRows, held: RankerRows, names: Sequence[str], *, seed: int = 0, threads: int = 0
) -> LightGBMScorer:
    """LambdaRank on the training groups, trees chosen by NDCG@10 on the held-out groups."""
    import lightgbm

    params = {**LIGHTGBM_PARAMS, "seed": seed, "num_threads": threads}
    data = lightgbm.Dataset(
        train.features,
        train.labels,
        group=train.groups,
        feature_name=list(names),
        free_raw_data=True,
    )
    valid = lightgbm.Dataset(held.features, held.labels, group=held.groups, reference=data)
    booster = lightgbm.train(
        params,
        data,
        MAX_TREES,
        valid_sets=[valid],
        callbacks=[lightgbm.early_stopping(EARLY_STOPPING, verbose=False)],
    )
    best = int(booster.best_iteration or booster.current_iteration())
    text = booster.model_to_string(num_iteration=best)
    trimmed = lightgbm.Booster(model_str=text)
    info = {
        "trees": best,
        "params": {k: v for k, v in params.items() if k != "num_threads"},
        "training_groups": int(train.n_groups),
        "held_out_groups": int(held.n_groups),
    }
    return LightGBMScorer(trimmed, names, info)


def fit_logistic(train: RankerRows, names: Sequence[str], *, seed: int = 0) -> LogisticScorer:
    """σ(W·x + b), the classes balanced (one target among hundreds of candidates)."""
    from sklearn.linear_model import LogisticRegression

    x = train.features.astype(np.float64)
    finite = np.isfinite(x)
    counts = finite.sum(axis=0)
    sums = np.where(finite, x, 0.0).sum(axis=0)
    mean = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)  # NaN: unknown
    x = np.where(finite, x, mean[None, :])
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = (x - mean) / scale
    fit = LogisticRegression(C=1.0, class_weight="balanced", max_iter=500, random_state=seed)
    fit.fit(z, train.labels.astype(int))
    return LogisticScorer(
        tuple(names),
        fit.coef_[0].astype(np.float32),
        float(fit.intercept_[0]),
        mean.astype(np.float32),
        scale.astype(np.float32),
    )


def blend_scorer(ndcg: Mapping[str, float], names: Sequence[str]) -> BlendScorer:
    """The baseline: weights proportional to each model's validation NDCG@10."""
    total = sum(max(v, 0.0) for v in ndcg.values())
    if total <= 0:
        weights = {m: 1.0 / max(len(ndcg), 1) for m in ndcg}
    else:
        weights = {m: round(max(v, 0.0) / total, 4) for m, v in ndcg.items()}
    return BlendScorer(weights, tuple(names))
