"""The evaluator on cases small enough to rank by hand, ties included."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from shopmind.data.histories import Histories
from shopmind.data.split import EvalSet
from shopmind.evaluation import evaluate, target_ranks
from shopmind.evaluation.metrics import bootstrap_ci, per_row_metrics


class FixedScores:
    """A 'model' whose scores are given per row."""

    def __init__(self, scores: list[list[float]]) -> None:
        self.scores = np.asarray(scores, dtype=np.float32)
        self.calls = 0

    def score(self, histories: Histories) -> np.ndarray:
        start = self.calls
        self.calls += len(histories)
        return self.scores[start : start + len(histories)].copy()


def rows(histories: list[list[int]], targets: list[list[int]], n_items: int) -> EvalSet:
    r = [i for i, ts in enumerate(targets) for _ in ts]
    c = [t for ts in targets for t in ts]
    matrix = sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(targets), n_items))
    return EvalSet(np.arange(len(targets)), Histories.from_lists(histories), matrix)


def test_ranks_break_ties_toward_lower_item_index() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.1, 0.5]], dtype=np.float32)
    # Descending, ties by lower index: item 1, 0, 2, 4, 3.
    ranks = target_ranks(scores, np.zeros(5, np.int64), np.arange(5))
    assert ranks.tolist() == [1, 0, 2, 4, 3]


def test_unscorable_target_is_a_miss() -> None:
    scores = np.array([[-np.inf, 1.0, 2.0]], dtype=np.float32)
    assert target_ranks(scores, np.array([0]), np.array([0])).tolist() == [3]


def test_hand_computed_single_target_metrics() -> None:
    # Row 0: target 2 ties with items 0 and 4 at 0.5 behind item 1 -> rank 2 (0-based).
    # Row 1: target 3 is the best -> rank 0.  Row 2: target 0 is last of 5 -> rank 4.
    model = FixedScores(
        [[0.5, 0.9, 0.5, 0.1, 0.5], [0.1, 0.2, 0.3, 0.9, 0.0], [0.0, 0.2, 0.3, 0.4, 0.5]]
    )
    result = evaluate(model, rows([[1], [0], [4]], [[2], [3], [0]], 5), ks=(1, 3))
    m = result.metrics
    assert m["recall@1"] == pytest.approx(1 / 3)
    assert m["hr@3"] == pytest.approx(2 / 3)
    assert m["recall@3"] == pytest.approx(2 / 3)
    assert m["ndcg@3"] == pytest.approx((1 / math.log2(4) + 1.0 + 0.0) / 3)
    assert m["mrr@3"] == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert m["precision@3"] == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert m["map@3"] == pytest.approx((1 / 3 + 1 + 0) / 3)


def test_masking_history_moves_the_target_up() -> None:
    # Target 2 sits behind history item 1; masking the history puts it first.
    model_scores = [[0.0, 0.9, 0.5, 0.1]]
    kept = evaluate(FixedScores(model_scores), rows([[1]], [[2]], 4), ks=(1,))
    masked = evaluate(FixedScores(model_scores), rows([[1]], [[2]], 4), ks=(1,), mask_history=True)
    assert kept.metrics["hr@1"] == 0.0
    assert masked.metrics["hr@1"] == 1.0


def test_multi_target_metrics() -> None:
    ranks = np.array([0, 2, 5])  # one row, three targets, hits at positions 1 and 3
    m = per_row_metrics(ranks, np.zeros(3, np.int64), 1, (3,))
    assert m["recall@3"][0] == pytest.approx(2 / 3)
    assert m["precision@3"][0] == pytest.approx(2 / 3)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@3"][0] == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    assert m["map@3"][0] == pytest.approx((1 / 1 + 2 / 3) / 3)
    assert m["f1@3"][0] == pytest.approx(2 / 3)


def test_coverage_and_batches_agree() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random((50, 20)).tolist()
    targets = [[int(t)] for t in rng.integers(0, 20, 50)]
    hist = [[0]] * 50
    whole = evaluate(FixedScores(scores), rows(hist, targets, 20), ks=(5,), batch_size=64)
    parts = evaluate(FixedScores(scores), rows(hist, targets, 20), ks=(5,), batch_size=7)
    assert whole.metrics == parts.metrics
    assert 0 < whole.metrics["coverage@5"] <= 1


def test_bootstrap_interval_contains_the_mean_and_shrinks_with_rows() -> None:
    rng = np.random.default_rng(1)
    small = (rng.random(100) < 0.3).astype(float)
    large = (rng.random(10_000) < 0.3).astype(float)
    lo, hi = bootstrap_ci(small, samples=300)
    assert lo <= small.mean() <= hi
    lo2, hi2 = bootstrap_ci(large, samples=300)
    assert (hi2 - lo2) < (hi - lo) / 3


def test_slices_split_rows_by_label() -> None:
    model = FixedScores([[0.9, 0.1], [0.9, 0.1]])
    result = evaluate(
        model, rows([[1], [1]], [[0], [1]], 2), ks=(1,), slices={"kind": np.array(["a", "b"])}
    )
    assert result.slices["kind"]["a"]["hr@1"] == 1.0
    assert result.slices["kind"]["b"]["hr@1"] == 0.0
