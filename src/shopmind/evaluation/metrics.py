"""Ranking metrics from the exact rank of every target in a full ranking.

A row may have several targets. ``ranks`` holds, for each (row, target) pair, the target's
0-based position in the row's ranking of ALL items (ties go to the lower item index; a target
the model cannot rank has position ``n_items``). Every metric is computed per row, so the
evaluator can average, bootstrap and slice them.
"""

from __future__ import annotations

import numpy as np

#: Metric families the evaluator reports at every cutoff K.
METRICS = ("recall", "hr", "ndcg", "mrr", "map", "precision", "f1")


def target_ranks(scores: np.ndarray, rows: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of ``targets[p]`` within row ``rows[p]`` of ``scores`` (higher first).

    An item ranks behind every item with a higher score and every item with the same score
    and a lower index: exactly the order a stable descending sort gives. ``-inf`` targets
    (excluded or unscorable) get rank ``n_items``.
    """
    n_items = scores.shape[1]
    out = np.empty(len(rows), dtype=np.int64)
    index = np.arange(n_items)
    step = max(1, 2**24 // max(n_items, 1))  # bound the temporary (pairs × items) matrices
    for start in range(0, len(rows), step):
        r, t = rows[start : start + step], targets[start : start + step]
        block = scores[r]
        own = block[np.arange(len(r)), t][:, None]
        ahead = (block > own) | ((block == own) & (index[None, :] < t[:, None]))
        out[start : start + step] = ahead.sum(axis=1)
    out[np.isneginf(scores[rows, targets])] = n_items
    return out


def per_row_metrics(
    ranks: np.ndarray, pair_row: np.ndarray, n_rows: int, ks: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Every metric at every K, one value per row (rows without targets give NaN)."""
    order = np.lexsort((ranks, pair_row))
    ranks, pair_row = ranks[order], pair_row[order]
    n_targets = np.bincount(pair_row, minlength=n_rows).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.full(n_rows, np.iinfo(np.int64).max)
        np.minimum.at(first, pair_row, ranks)
        out: dict[str, np.ndarray] = {}
        gain = 1.0 / np.log2(ranks + 2.0)
        for k in ks:
            hit = ranks < k
            hits = np.bincount(pair_row, weights=hit, minlength=n_rows)
            # i-th hit of a row (1-based) among that row's targets, sorted by rank
            hit_no = np.cumsum(hit) - np.repeat(
                np.concatenate([[0], np.cumsum(hits)[:-1]]), n_targets.astype(np.int64)
            )
            ideal_n = np.minimum(n_targets, k)
            ideal = _ideal_dcg(ideal_n)
            recall = hits / n_targets
            precision = hits / k
            out[f"recall@{k}"] = recall
            out[f"hr@{k}"] = np.where(n_targets > 0, (hits > 0).astype(np.float64), np.nan)
            out[f"ndcg@{k}"] = np.bincount(pair_row, weights=gain * hit, minlength=n_rows) / ideal
            reciprocal = np.where(first < k, 1.0 / (first + 1.0), 0.0)
            out[f"mrr@{k}"] = np.where(n_targets > 0, reciprocal, np.nan)
            ap = np.bincount(pair_row, weights=hit * hit_no / (ranks + 1.0), minlength=n_rows)
            out[f"map@{k}"] = ap / ideal_n
            out[f"precision@{k}"] = np.where(n_targets > 0, precision, np.nan)
            out[f"f1@{k}"] = np.where(
                recall + precision > 0, 2 * recall * precision / (recall + precision), 0.0
            )
    return out


def _ideal_dcg(n: np.ndarray) -> np.ndarray:
    """DCG of a perfect ranking with ``n`` relevant items (cumulative gains table)."""
    top = int(n.max()) if len(n) else 0
    table = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(top) + 2.0))])
    return table[n.astype(np.int64)]


def bootstrap_ci(
    values: np.ndarray, *, samples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean over rows."""
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = np.empty(samples)
    for start in range(0, samples, 100):
        n = min(100, samples - start)
        idx = rng.integers(0, len(values), size=(n, len(values)))
        means[start : start + n] = values[idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
