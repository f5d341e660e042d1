"""Item-kNN: shrunk cosine between items, pruned to the nearest neighbours."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.sparse as sp
from conformance import RecommenderConformance

from shopmind.data import Dataset, Histories
from shopmind.models import make_model
from shopmind.models.itemknn import (
    ItemKNN,
    ItemKNNConfig,
    item_similarity,
    weight_shoppers,
    window_cooccurrence,
)


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


class TestItemKNNWindow(RecommenderConformance):
    model_name = "itemknn"
    params: ClassVar[dict[str, Any]] = {"neighbors": 30, "window": 3, "backward": 0.5}
    finds_planted_pair = True
    synthetic_margin = 0.05


def test_window_counts_match_a_loop_over_sequences() -> None:
    sequences = [[0, 1, 2, 0], [3, 1], [2], [1, 2, 3, 4, 1]]
    window, backward = 2, 0.25
    expected = np.zeros((5, 5))
    for seq in sequences:
        for a in range(len(seq)):
            for b in range(a + 1, min(a + window + 1, len(seq))):
                i, j, d = seq[a], seq[b], b - a
                if i != j:
                    expected[i, j] += 1.0 / d
                    expected[j, i] += backward / d
    got = window_cooccurrence(Histories.from_lists(sequences), 5, window, backward).toarray()
    np.testing.assert_allclose(got, expected)


def test_window_prefers_what_comes_next() -> None:
    # Everyone who buys 0 buys 1 straight after; 2 comes much later in the same histories.
    sequences = [[0, 1, 5, 6, 7, 8, 2] for _ in range(20)] + [[3, 4]] * 5
    data = Dataset.from_columns(*_columns(sequences))
    model = make_model("itemknn", window=2, neighbors=10, shrink=0.0).fit(data)
    plain = make_model("itemknn", neighbors=10, shrink=0.0).fit(data)
    after_0 = model.score(Histories.from_lists([[data.items.index("0")]]))[0]
    plain_after_0 = plain.score(Histories.from_lists([[data.items.index("0")]]))[0]
    one, two = data.items.index("1"), data.items.index("2")
    assert after_0[one] > 0 and after_0[two] == 0  # 2 is 6 steps away: outside the window
    assert plain_after_0[one] == pytest.approx(plain_after_0[two])  # co-bought alike


def _columns(sequences: list[list[int]]) -> tuple[list[Any], list[Any], dict[str, Any]]:
    from shopmind.catalog.schema import Item, User

    items = sorted({i for seq in sequences for i in seq})
    users = [User(id=f"u{u}") for u in range(len(sequences))]
    rows = [(f"u{u}", str(i), t) for u, seq in enumerate(sequences) for t, i in enumerate(seq)]
    events = {
        "user_id": np.array([r[0] for r in rows], dtype=object),
        "item_id": np.array([r[1] for r in rows], dtype=object),
        "type": np.array(["purchase"] * len(rows), dtype=object),
        "timestamp_ms": np.array([1_600_000_000_000 + 1000 * r[2] for r in rows]),
    }
    return [Item(id=str(i), title=f"item {i}") for i in items], users, events


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


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"recency_decay": 0.3},
        {"binary_history": False},
        {"binary_history": False, "recency_decay": 0.2},
    ],
)
def test_one_request_scores_what_the_batch_scores_to_the_bit(
    dataset: Dataset, options: dict[str, Any]
) -> None:
    # A request (one row) takes a numpy path; validation (many rows) scipy's product. The
    # served ranking is the validated one only if both give the same floats.
    model = make_model("itemknn", neighbors=15, **options).fit(dataset)
    rng = np.random.default_rng(4)
    rows = [rng.integers(0, dataset.n_items, size=int(n)).tolist() for n in (1, 3, 8, 20)]
    rows.append(rows[1] + rows[1])  # repeated items
    weights = [rng.choice([1.0, 2.0, 0.0, 5.0], size=len(r)).tolist() for r in rows]
    batch = Histories.from_lists(rows, weights=weights)
    whole = model.score(batch)
    items = np.array([0, 3, 5, 7, 11, dataset.n_items - 1], dtype=np.int64)
    for r in range(len(rows)):
        one = batch.take([r])
        np.testing.assert_array_equal(model.score(one)[0], whole[r])
        np.testing.assert_array_equal(model.score(one, items=items)[0], whole[r][items])
        got = model.candidates(one, 10)
        assert got is not None
        best = np.lexsort((np.arange(dataset.n_items), -whole[r]))[:10]
        best = best[whole[r][best] > 0]
        assert got[0][: len(best)].tolist() == best.tolist()


def test_one_row_is_the_matrix_row() -> None:
    rng = np.random.default_rng(5)
    items = rng.integers(-1, 30, size=40).tolist()  # -1: an item the catalogue lacks
    weights = rng.choice([1.0, 0.0, -1.0, 3.0], size=40).tolist()
    history = Histories.from_lists([items], weights=[weights])
    for binary in (True, False):
        for decay in (0.0, 0.25):
            cols, values = history.one_row(binary=binary, recency_decay=decay)
            row = history.matrix(30, binary=binary, recency_decay=decay)
            assert cols.tolist() == sorted(set(row.indices.tolist()))
            dense = np.zeros(30, np.float32)
            dense[cols] = values
            np.testing.assert_allclose(dense, row.toarray()[0], rtol=1e-6)
