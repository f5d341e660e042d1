"""Choosing each model's hyper-parameters on validation within a time budget.

Each model has a short list of points, its default first. Points are fitted on the training
part and scored on a sample of the validation shoppers with the served exclusion (purchases
and the last viewed item left out, as "recommended for you" leaves them out); the best is
kept. A model stops trying points when its share of the budget is spent. The sequential
model trains for minutes, so its points are compared on a few epochs each (successive
halving) and only the winner trains to its early stop, bounded by the time left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.data.split import EvalSet
from shopmind.evaluation.evaluator import evaluate
from shopmind.models.base import Holdout, Recommender
from shopmind.models.registry import make_model

log = logging.getLogger(__name__)

#: Points tried per model, the default first (a point overrides the model's config).
POINTS: dict[str, list[dict[str, Any]]] = {
    "pop": [{}],
    "itemknn": [
        {},
        {"neighbors": 500, "shrink": 100.0, "recency_decay": 0.2, "alpha": 0.7},
        {"window": 10, "backward": 0.5, "neighbors": 500, "shrink": 100.0, "recency_decay": 0.5},
        {"neighbors": 500, "shrink": 300.0, "recency_decay": 0.2, "alpha": 0.7, "seen": "demote"},
        {"window": 3, "backward": 0.5, "neighbors": 500, "shrink": 10.0, "recency_decay": 1.0},
    ],
    "ease": [
        {"l2": 500.0, "recency_decay": 0.2},
        {"l2": 100.0, "recency_decay": 0.2},
        {"l2": 1000.0, "recency_decay": 0.2, "seen": "demote"},
    ],
    "graph": [
        {"recency_decay": 0.2},
        {"recency_decay": 0.2, "alpha": 0.0},
        {"recency_decay": 0.2, "category_weight": 0.0},
        {"recency_decay": 0.2, "alpha": 1.0, "components": 128},
    ],
    "content": [{}, {"interests": 3}, {"recency_decay": 1.0}],
    "userknn": [{}, {"neighbors": 200, "recency_decay": 0.3}],
    "als": [{}, {"factors": 128, "alpha": 10.0}],
}
#: The sequential model's candidate points (with text when the catalogue has any).
SASREC_POINTS: list[dict[str, Any]] = [
    {"by_length": False, "inner_dropout": False},
    {"by_length": True},
]
SASREC_TEXT_POINTS: list[dict[str, Any]] = [{"item_repr": "sum", "dim": 128}]
#: Catalogues larger than this train the sequential model with a sampled softmax.
FULL_SOFTMAX_ITEMS = 50_000
#: Epochs each sequential point trains before the comparison.
PROBE_EPOCHS = 3
#: Models whose memory grows with the square of the catalogue, and the largest they take.
MAX_ITEMS = {"ease": 20_000, "graph": 20_000}


@dataclass
class Budget:
    """Seconds for the whole training, and what is left."""

    seconds: float
    started: float = field(default_factory=time.perf_counter)

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.started)

    def spent(self) -> float:
        return time.perf_counter() - self.started


@dataclass
class Tuned:
    """A model's chosen point, the fitted model, its validation metrics and every trial."""

    name: str
    params: dict[str, Any]
    model: Recommender
    metrics: dict[str, float]
    trials: list[dict[str, Any]]
    seconds: float


def served_exclusion(
    type_names: Sequence[str], recent: int
) -> Callable[[Histories, int], sp.csr_matrix]:
    """The exclusion "recommended for you" applies, as a matrix over a batch of histories:
    the purchased items and the items of the last ``recent`` events."""
    code = type_names.index("purchase") if "purchase" in type_names else -1

    def build(histories: Histories, n_items: int) -> sp.csr_matrix:
        rows, cols = [], []
        for r in range(len(histories)):
            start, stop = histories.indptr[r], histories.indptr[r + 1]
            items = histories.items[start:stop]
            kinds = histories.types[start:stop]
            chosen = set(items[kinds == code].tolist()) | set(
                items[-recent:].tolist() if recent else []
            )
            chosen = {i for i in chosen if 0 <= i < n_items}
            rows += [r] * len(chosen)
            cols += sorted(chosen)
        data = np.ones(len(rows), np.float32)
        return sp.csr_matrix((data, (rows, cols)), shape=(len(histories), n_items))

    return build


def tune_model(
    name: str,
    base: Mapping[str, Any],
    train: Dataset,
    valid: EvalSet,
    *,
    exclusion: Callable[[Histories, int], sp.csr_matrix],
    seconds: float,
    ks: tuple[int, ...],
    points: Sequence[Mapping[str, Any]] | None = None,
) -> Tuned:
    """The best of the model's points on validation NDCG@10, within ``seconds``.

    The first point always runs, and the time it takes does not count: it pays for what the
    other points reuse (the content model's first encoding of the catalogue, cached), so the
    points tried do not depend on whether a cache was warm.
    """
    begun = started = time.perf_counter()
    tried: list[dict[str, Any]] = []
    best: Tuned | None = None
    for point in points if points is not None else POINTS.get(name, [{}]):
        if best is not None and time.perf_counter() - started > seconds:
            log.info("%s: budget spent after %d points", name, len(tried))
            break
        params = {**base, **point}
        t0 = time.perf_counter()
        try:
            model = make_model(name, **params).fit(train, Holdout(valid))
        except (ValueError, MemoryError) as exc:
            tried.append({"params": params, "error": str(exc)})
            continue
        fit = time.perf_counter() - t0
        metrics = measure(model, valid, exclusion, ks)
        tried.append({"params": params, **metrics, "train_seconds": round(fit, 1)})
        log.info("%s %s: validation ndcg@10 %.4f (%.1f s)", name, point, metrics["ndcg@10"], fit)
        if len(tried) == 1:
            started = time.perf_counter()  # the budget counts from the second point on
        if best is None or metrics["ndcg@10"] > best.metrics["ndcg@10"]:
            best = Tuned(name, params, model, metrics, tried, fit)
    if best is None:
        raise ValueError(f"{name}: no point could be fitted ({tried[-1].get('error')})")
    best.trials = tried
    best.seconds = time.perf_counter() - begun
    return best


def tune_sasrec(
    base: Mapping[str, Any],
    train: Dataset,
    valid: EvalSet,
    *,
    exclusion: Callable[[Histories, int], sp.csr_matrix],
    seconds: float,
    ks: tuple[int, ...],
    has_text: bool,
) -> Tuned:
    """Successive halving: each point trains PROBE_EPOCHS, the best trains to its early stop
    (or to the end of its budget)."""
    started = time.perf_counter()
    if train.n_items > FULL_SOFTMAX_ITEMS and "loss" not in base:
        # Past this the full softmax costs seconds per step (docs/sequential.md).
        base = {**base, "loss": "sampled"}
    points = list(SASREC_POINTS)
    if has_text:
        points = [{**p, **t} for t in SASREC_TEXT_POINTS for p in points] + points
    tried: list[dict[str, Any]] = []
    probes: list[tuple[float, dict[str, Any]]] = []
    # A probe costs about PROBE_EPOCHS epochs: stop probing when they would eat half the time.
    for point in points:
        if probes and time.perf_counter() - started > seconds / 2:
            break
        params = {**base, **point, "epochs": PROBE_EPOCHS}
        t0 = time.perf_counter()
        model = make_model("sasrec", **params).fit(train, Holdout(valid))
        metrics = measure(model, valid, exclusion, ks)
        tried.append(
            {"params": params, **metrics, "train_seconds": round(time.perf_counter() - t0, 1)}
        )
        log.info("sasrec probe %s: validation ndcg@10 %.4f", point, metrics["ndcg@10"])
        probes.append((metrics["ndcg@10"], point))
    chosen = max(probes, key=lambda p: p[0])[1] if len(probes) > 1 else points[0]
    left = max(seconds - (time.perf_counter() - started), 60.0)
    params = {**base, **chosen, "max_seconds": left}
    t0 = time.perf_counter()
    model = make_model("sasrec", **params).fit(train, Holdout(valid))
    fit = time.perf_counter() - t0
    metrics = measure(model, valid, exclusion, ks)
    tried.append({"params": params, **metrics, "train_seconds": round(fit, 1)})
    return Tuned("sasrec", params, model, metrics, tried, time.perf_counter() - started)


def measure(
    model: Recommender,
    rows: EvalSet,
    exclusion: Callable[[Histories, int], sp.csr_matrix],
    ks: tuple[int, ...],
) -> dict[str, float]:
    """Validation metrics of one model with the served exclusion."""
    result = evaluate(model, rows, ks=ks, exclude=exclusion, batch_size=512)
    out = {f"{m}@{k}": round(result.metrics[f"{m}@{k}"], 4) for k in ks for m in ("recall", "ndcg")}
    return out | {"rows": float(len(rows))}


def sample(rows: EvalSet, limit: int, seed: int = 0) -> EvalSet:
    """At most ``limit`` rows, a seeded sample."""
    if len(rows) <= limit:
        return rows
    return rows.take(np.sort(np.random.default_rng(seed).choice(len(rows), limit, replace=False)))


def fits(name: str, n_items: int) -> bool:
    """Whether the model fits this catalogue (memory), before any time is spent on it."""
    return n_items <= MAX_ITEMS.get(name, n_items)
