"""Item-kNN: shrunk cosine between items, pruned to the nearest neighbours."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.sparse as sp
from conformance import RecommenderConformance

from shopmind.data import Dataset, Histories
from shopmind.models import make_model
from shopmind.models.itemknn import ItemKNN, ItemKNNConfig, item_similarity, weight_shoppers


class TestItemKNN(RecommenderConformance):
    model_name = "itemknn"
    params: ClassVar[dict[str, Any]] = {"neighbors": 20}
    finds_planted_pair = True
    synthetic_margin = 0.05
    synthetic_pair_floor = 0.12


class TestItemKNNBM25(RecommenderConformance):
    model_name = "itemknn"
    params: ClassVar[dict[str, Any]] = {
        "neighbors": 20,
        "weighting": "bm25",
        "binary": True,
        "binary_history": False,
        "recency_decay": 0.1,
    }
    finds_planted_pair = True
    synthetic_margin = 0.05


class TestItemKNNIdfAsymmetric(RecommenderConformance):
    model_name = "itemknn"
    params: ClassVar[dict[str, Any]] = {"neighbors": 30, "weighting": "idf", "alpha": 0.7}
    finds_planted_pair = True
    synthetic_margin = 0.05


def _naive(x: np.ndarray, shrink: float, alpha: float) -> np.ndarray:
    squared = (x * x).sum(axis=0)
    dots = x.T @ x
    denominator = squared[:, None] ** alpha * squared[None, :] ** (1 - alpha) + shrink
    sims = np.divide(dots, denominator, out=np.zeros_like(dots), where=denominator > 0)
    np.fill_diagonal(sims, 0.0)
    return sims


@pytest.mark.parametrize(("shrink", "alpha"), [(0.0, 0.5), (5.0, 0.5), (2.0, 0.8)])
def test_similarity_matches_definition(dataset: Dataset, shrink: float, alpha: float) -> None:
    x = dataset.matrix(binary=True)
    got = item_similarity(x, dataset.n_items, shrink, alpha).toarray()
    np.testing.assert_allclose(
        got, _naive(x.toarray().astype(np.float64), shrink, alpha), atol=1e-6
    )


def test_keeps_at_most_k_best_neighbours(dataset: Dataset) -> None:
    model = make_model("itemknn", neighbors=7, binary=True).fit(dataset)
    assert isinstance(model, ItemKNN)
    sim = model.similarity
    assert (np.diff(sim.indptr) <= 7).all()
    assert sim.diagonal().max() == 0.0
    full = _naive(dataset.matrix(binary=True).toarray().astype(np.float64), 10.0, 0.5)
    for i in range(0, dataset.n_items, 9):
        kept = sim.getrow(i).toarray().ravel()
        threshold = np.sort(full[i])[-7]
        assert (full[i][kept > 0] >= threshold - 1e-6).all()


def test_similarity_built_in_blocks(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    x = dataset.matrix(binary=True)
    whole = item_similarity(x, 10, 3.0, 0.5)
    monkeypatch.setattr("shopmind.models.itemknn._BLOCK_CELLS", 7 * dataset.n_items)
    blocked = item_similarity(x, 10, 3.0, 0.5)
    np.testing.assert_array_equal(blocked.toarray(), whole.toarray())


def test_shopper_weighting() -> None:
    # Shopper 0 touched every item, shopper 1 two of them: idf silences shopper 0.
    x = sp.csr_matrix(np.array([[1, 1, 1, 1], [2, 1, 0, 0]], dtype=np.float32))
    idf = weight_shoppers(x, ItemKNNConfig(weighting="idf")).toarray()
    np.testing.assert_allclose(idf[0], 0.0)
    np.testing.assert_allclose(idf[1], [2 * np.log(4 / 3), np.log(4 / 3), 0, 0], rtol=1e-6)
    bm25 = weight_shoppers(x, ItemKNNConfig(weighting="bm25")).toarray()
    # Saturation: twice the interactions count less than twice as much.
    assert bm25[1, 1] < bm25[1, 0] < 2 * bm25[1, 1]
    assert weight_shoppers(x, ItemKNNConfig()).toarray().tolist() == x.toarray().tolist()


def test_recency_decay_weights_recent_items(dataset: Dataset) -> None:
    model = make_model("itemknn", neighbors=20, recency_decay=1.0).fit(dataset)
    plain = make_model("itemknn", neighbors=20).fit(dataset)
    old, new = 0, 45  # two clusters
    scores = model.score(Histories.from_lists([[old, new]]))[0]
    mixed = plain.score(Histories.from_lists([[old, new]]))[0]
    sim = plain.similarity.toarray()  # type: ignore[attr-defined]
    np.testing.assert_allclose(scores, np.exp(-1.0) * sim[old] + sim[new], rtol=1e-5)
    np.testing.assert_allclose(mixed, sim[old] + sim[new], rtol=1e-5)
