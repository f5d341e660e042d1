"""VectorIndex: exact and HNSW top-k, filters that never come back short, add, save/load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from shopmind.text import index as index_module
from shopmind.text.index import VectorIndex

Kind = Literal["exact", "hnsw"]
#: Build settings for tests about bookkeeping rather than recall: a quick graph.
QUICK_HNSW = {"hnsw_m": 12, "ef_construction": 40}


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def clustered(n: int, dim: int = 32, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors around ``clusters`` random centres."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(clusters, dim)))
    return _unit(centres[rng.integers(clusters, size=n)] + 0.35 * _unit(rng.normal(size=(n, dim))))


def true_topk(
    vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reference top-k by brute force: stable sort, so ties go to the lower id."""
    scores = queries.astype(np.float64) @ vectors.T.astype(np.float64)
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, 1)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return clustered(3_000)


@pytest.fixture(scope="module")
def hnsw_data() -> tuple[np.ndarray, VectorIndex]:
    """10k rows in 250 clusters: small build settings keep the fixture around a second."""
    data = clustered(10_000, dim=16, clusters=250, seed=1)
    return data, VectorIndex.build(data, kind="hnsw", hnsw_m=12, ef_construction=40)


def test_exact_index_returns_the_true_top_k(vectors: np.ndarray) -> None:
    index = VectorIndex.build(vectors)
    assert index.kind == "exact" and len(index) == 3_000 and index.dim == 32
    queries = clustered(50, seed=9)
    ids, scores = index.search(queries, 10)
    expected_ids, expected_scores = true_topk(vectors, queries, 10)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_single_and_batched_queries_agree(vectors: np.ndarray) -> None:
    index = VectorIndex.build(vectors)
    queries = vectors[:40]  # 40 queries take FAISS's BLAS path, one takes the scan
    ids, _ = index.search(queries, 5)
    assert ids[:, 0].tolist() == list(range(40))
    for row in (0, 17, 39):
        single, _ = index.search(queries[row], 5)
        assert single.shape == (1, 5)
        np.testing.assert_array_equal(single[0], ids[row])


def test_ties_go_to_the_lower_id() -> None:
    data = clustered(200, seed=3)
    data[[150, 20, 90, 60]] = data[7]  # five identical rows: 7, 20, 60, 90, 150
    index = VectorIndex.build(data, kind="exact")
    ids, _ = index.search(data[7], 3)
    assert ids.tolist() == [[7, 20, 60]]
    rows = np.zeros(200, bool)
    rows[[150, 90, 60, 3, 4]] = True  # a small filter: exact search over the allowed rows
    ids, _ = index.search(data[7], 2, allowed=rows)
    assert ids.tolist() == [[60, 90]]
    many = np.repeat(data[7:8], 30, axis=0)  # 30 queries take FAISS's BLAS path
    assert (index.search(many, 3)[0] == [7, 20, 60]).all()
    assert (index.search(many, 2, allowed=rows)[0] == [60, 90]).all()


def recall_at(ids: np.ndarray, expected: np.ndarray) -> float:
    hits = [len(np.intersect1d(a, b)) / b.size for a, b in zip(ids, expected, strict=True)]
    return float(np.mean(hits))


def test_hnsw_recall_at_10_is_at_least_095(hnsw_data: tuple[np.ndarray, VectorIndex]) -> None:
    data, index = hnsw_data
    assert index.kind == "hnsw" and len(index) == 10_000 and index.ef_search == 128
    queries = clustered(300, dim=16, clusters=250, seed=11)
    ids, scores = index.search(queries, 10)
    expected, _ = true_topk(data, queries, 10)
    assert recall_at(ids, expected) >= 0.95
    assert (np.diff(scores, axis=1) <= 0).all()
    index.ef_search = 16  # ef_search reaches FAISS: a narrow search loses recall
    try:
        assert recall_at(index.search(queries, 10)[0], expected) < 0.9
    finally:
        index.ef_search = 128


@pytest.mark.parametrize("share", [0.001, 0.03, 0.3])
def test_filters_return_only_allowed_rows_and_never_come_back_short(
    hnsw_data: tuple[np.ndarray, VectorIndex], share: float
) -> None:
    data, index = hnsw_data
    rng = np.random.default_rng(5)
    allowed = rng.random(len(data)) < share
    queries = clustered(40, dim=16, clusters=250, seed=12)
    ids, scores = index.search(queries, 10, allowed=allowed)
    assert (ids >= 0).all() and np.isfinite(scores).all()  # >= 10 rows allowed: never short
    assert allowed[ids].all()
    expected, _ = true_topk(data, queries, 10, allowed)
    # Selective filters are searched exactly; broad ones go through the graph.
    assert recall_at(ids, expected) >= (1.0 if share < 0.05 else 0.95)


def test_a_filter_allowing_fewer_than_k_rows_pads(vectors: np.ndarray) -> None:
    index = VectorIndex.build(vectors)
    allowed = np.zeros(len(vectors), bool)
    allowed[[5, 2_000, 2_999]] = True
    ids, scores = index.search(vectors[:2], 5, allowed=allowed)
    assert sorted(ids[0, :3].tolist()) == [5, 2_000, 2_999]
    assert (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()
    ids, _ = index.search(vectors[:2], 5, allowed=np.zeros(len(vectors), bool))
    assert (ids == -1).all()


def test_filtered_exact_search_via_faiss_selector_matches_brute_force(vectors: np.ndarray) -> None:
    index = VectorIndex.build(vectors, kind="exact")
    allowed = np.random.default_rng(2).random(len(vectors)) < 0.5  # large: the FAISS path
    queries = clustered(30, seed=4)
    ids, _ = index.search(queries, 10, allowed=allowed)
    np.testing.assert_array_equal(ids, true_topk(vectors, queries, 10, allowed)[0])


def test_a_short_graph_search_falls_back_to_exact(
    hnsw_data: tuple[np.ndarray, VectorIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, index = hnsw_data
    monkeypatch.setattr(index_module, "FILTERED_EXACT_ROWS", 0)  # force the graph search
    monkeypatch.setattr(index_module, "FILTERED_EXACT_FRACTION", 0.0)
    fallbacks: list[int] = []
    exact_topk = index_module._exact_topk

    def spy(vectors: np.ndarray, rows: np.ndarray, q: np.ndarray, k: int) -> object:
        fallbacks.append(len(q))
        return exact_topk(vectors, rows, q, k)

    monkeypatch.setattr(index_module, "_exact_topk", spy)
    allowed = np.zeros(len(data), bool)
    allowed[np.random.default_rng(8).choice(len(data), 20, replace=False)] = True
    queries = clustered(10, dim=16, clusters=250, seed=13)
    ids, _ = index.search(queries, 10, allowed=allowed)
    assert fallbacks and sum(fallbacks) <= 10  # the graph came back short for some queries
    np.testing.assert_array_equal(ids, true_topk(data, queries, 10, allowed)[0])


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_added_vectors_get_the_next_ids_and_are_found(vectors: np.ndarray, kind: Kind) -> None:
    index = VectorIndex.build(vectors[:2_000], kind=kind, **QUICK_HNSW)
    new = clustered(3, seed=21)
    assert index.add(new).tolist() == [2_000, 2_001, 2_002]
    assert len(index) == 2_003
    ids, scores = index.search(new, 1)
    assert ids[:, 0].tolist() == [2_000, 2_001, 2_002]
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    np.testing.assert_array_equal(index.vectors[2_000:], new)
    for start in range(2_003, 2_010):  # one at a time, as items arrive
        assert index.add(vectors[start : start + 1]).tolist() == [start]
    np.testing.assert_array_equal(
        index.vectors, np.vstack([vectors[:2_000], new, vectors[2_003:2_010]])
    )


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_save_and_load_give_identical_results(
    vectors: np.ndarray, kind: Kind, tmp_path: Path
) -> None:
    index = VectorIndex.build(vectors, kind=kind, ef_search=40, **QUICK_HNSW)
    index.add(clustered(5, seed=30))
    index.save(tmp_path / "idx")
    loaded = VectorIndex.load(tmp_path / "idx")
    assert (loaded.kind, loaded.dim, len(loaded), loaded.ef_search) == (kind, 32, 3_005, 40)
    queries = clustered(64, seed=31)
    allowed = np.random.default_rng(3).random(3_005) < 0.4
    for mask in (None, allowed):
        before, after = (
            index.search(queries, 10, allowed=mask),
            loaded.search(queries, 10, allowed=mask),
        )
        np.testing.assert_array_equal(before[0], after[0])
        np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(loaded.vectors, index.vectors)
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == [
        "index.faiss",
        "manifest.json",
        "vectors.npy",
    ]


def test_load_refuses_a_folder_without_an_index(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"manifest\.json"):
        VectorIndex.load(tmp_path)


def test_empty_index_and_k_larger_than_the_index_pad() -> None:
    empty = VectorIndex.build(np.zeros((0, 8), np.float32))
    ids, scores = empty.search(np.ones((2, 8)), 3)
    assert ids.tolist() == [[-1] * 3] * 2 and np.isneginf(scores).all()
    small = VectorIndex.build(clustered(4, dim=8), kind="hnsw")
    ids, scores = small.search(clustered(2, dim=8, seed=1), 6)
    assert sorted(ids[0, :4].tolist()) == [0, 1, 2, 3] and (ids[:, 4:] == -1).all()
    assert np.isneginf(scores[:, 4:]).all() and np.isfinite(scores[:, :4]).all()
    arrivals = clustered(2, dim=8, seed=2)
    assert empty.add(arrivals).tolist() == [0, 1]
    assert empty.search(arrivals, 1)[0].tolist() == [[0], [1]]
    zero_k, _ = small.search(np.ones((3, 8)), 0)
    assert zero_k.shape == (3, 0)


def test_auto_picks_exact_below_the_threshold_and_hnsw_from_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index_module, "EXACT_BELOW", 100)
    assert VectorIndex.build(clustered(99, dim=4)).kind == "exact"
    assert VectorIndex.build(clustered(100, dim=4)).kind == "hnsw"
    assert VectorIndex.build(clustered(100, dim=4), kind="exact").kind == "exact"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda i: VectorIndex.build(np.ones(8, np.float32)), "2-D"),
        (lambda i: VectorIndex.build(np.ones((3, 8), np.float32)), "unit length"),
        (lambda i: VectorIndex.build(clustered(3, dim=8), kind="ivf"), "kind"),  # type: ignore[arg-type]
        (lambda i: i.add(clustered(3, dim=16)), "dimension 16, the index has 32"),
        (lambda i: i.search(np.ones((2, 16)), 5), "q × 32"),
        (lambda i: i.search(np.full((1, 32), np.nan), 5), "NaN"),
        (lambda i: i.search(np.ones((1, 32)), -1), "k must"),
        (lambda i: i.search(np.ones((1, 32)), 5, allowed=np.ones(10, bool)), "one entry per"),
        (lambda i: i.search(np.ones((1, 32)), 5, allowed=np.ones(3_000)), "bool mask"),
    ],
)
def test_bad_input_gets_a_clear_error(
    vectors: np.ndarray, make: Callable[[VectorIndex], object], message: str
) -> None:
    index = VectorIndex.build(vectors)
    with pytest.raises(ValueError, match=message):
        make(index)
