"""Full-ranking evaluation of any model on an EvalSet: every item is a candidate."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from shopmind.data.histories import Histories
from shopmind.data.split import EvalSet
from shopmind.evaluation.metrics import bootstrap_ci, per_row_metrics, target_ranks
from shopmind.models.base import exclusion_matrix, mask_scores, top_k

Scorer = Callable[..., np.ndarray]


@dataclass(frozen=True)
class EvalResult:
    """Mean metrics, their per-row values, confidence intervals and per-slice means."""

    metrics: dict[str, float]
    per_row: dict[str, np.ndarray] = field(repr=False)
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    slices: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    n_rows: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "metrics": self.metrics,
            "ci95": {k: list(v) for k, v in self.ci.items()},
            "slices": self.slices,
            "rows": self.n_rows,
        }


def evaluate(
    model: object,
    rows: EvalSet,
    *,
    ks: tuple[int, ...] = (10, 20, 50),
    mask_history: bool = False,
    batch_size: int = 2048,
    bootstrap: int = 0,
    slices: Mapping[str, np.ndarray] | None = None,
    seed: int = 0,
    exclude: Callable[[Histories, int], sp.csr_matrix] | None = None,
) -> EvalResult:
    """Rank all items for every row and score the rank of each target.

    ``model`` is anything with ``score(histories) -> (rows × n_items)`` (every Recommender).
    With ``mask_history`` the row's history items are removed from its ranking first (the
    S3-Rec protocol); otherwise they stay (the UniSRec/RecBole protocol). ``bootstrap`` > 0
    adds 95% confidence intervals; ``slices`` maps a slice name to one label per row.
    ``exclude`` builds the items to leave out of each row's ranking instead (the served
    exclusion, e.g. purchases and the last viewed item).
    """
    n_rows, n_items = rows.targets.shape
    targets = rows.targets.tocsr()
    all_ranks: list[np.ndarray] = []
    covered = np.zeros(n_items, dtype=bool)
    k_max = max(ks)
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        hist = rows.histories.take(np.arange(start, stop))
        scores = np.array(model.score(hist), dtype=np.float32)  # type: ignore[attr-defined]
        if exclude is not None:
            excluded = exclude(hist, n_items)
        else:
            excluded = exclusion_matrix(hist, n_items) if mask_history else None
        mask_scores(scores, excluded)
        block = targets[start:stop]
        pair_row = np.repeat(np.arange(stop - start), np.diff(block.indptr))
        all_ranks.append(target_ranks(scores, pair_row, block.indices.astype(np.int64)))
        ids, _ = top_k(scores, k_max)
        covered[ids[ids >= 0]] = True
    ranks = np.concatenate(all_ranks) if all_ranks else np.zeros(0, np.int64)
    return result_of_ranks(
        ranks, targets, ks, covered, bootstrap=bootstrap, seed=seed, slices=slices
    )


def result_of_ranks(
    ranks: np.ndarray,
    targets: sp.csr_matrix,
    ks: tuple[int, ...],
    covered: np.ndarray,
    *,
    bootstrap: int = 0,
    seed: int = 0,
    slices: Mapping[str, np.ndarray] | None = None,
) -> EvalResult:
    """The metrics at every k from each target's 0-based rank (in ``targets``' CSR order),
    with the coverage of the top lists (``covered``), bootstrap intervals and slices."""
    n_rows = targets.shape[0]
    pair_row = np.repeat(np.arange(n_rows), np.diff(targets.indptr))
    per_row = per_row_metrics(ranks, pair_row, n_rows, ks)
    metrics = {
        name: float(np.nanmean(v)) if n_rows else float("nan") for name, v in per_row.items()
    }
    metrics[f"coverage@{max(ks)}"] = float(covered.mean())
    ci = (
        {name: bootstrap_ci(v, samples=bootstrap, seed=seed) for name, v in per_row.items()}
        if bootstrap
        else {}
    )
    sliced = {name: _slice(per_row, labels) for name, labels in (slices or {}).items()}
    return EvalResult(metrics, per_row, ci, sliced, n_rows)


def _slice(per_row: Mapping[str, np.ndarray], labels: np.ndarray) -> dict[str, dict[str, float]]:
    labels = np.asarray(labels)
    out: dict[str, dict[str, float]] = {}
    for label in np.unique(labels):
        chosen = labels == label
        out[str(label)] = {"rows": float(chosen.sum())} | {
            name: float(np.nanmean(v[chosen])) for name, v in per_row.items()
        }
    return out
