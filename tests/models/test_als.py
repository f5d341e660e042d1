"""ALS (implicit): item factors from the library, user vectors solved from the history."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.sparse as sp
from conformance import RecommenderConformance
from implicit.cpu.als import AlternatingLeastSquares

from shopmind.data import Dataset, Split
from shopmind.models import make_model
from shopmind.models.als import ALS


class TestALS(RecommenderConformance):
    model_name = "als"
    params: ClassVar[dict[str, Any]] = {"factors": 16, "regularization": 10.0, "iterations": 10}
    accuracy_margin = 0.05
    finds_planted_pair = True
    synthetic_margin = 0.2
    synthetic_pair_floor = 0.15


class TestALSBinaryExact(RecommenderConformance):
    model_name = "als"
    params: ClassVar[dict[str, Any]] = {
        "factors": 8,
        "regularization": 5.0,
        "binary": True,
        "recency_decay": 0.1,
        "use_cg": False,
        "num_threads": 2,
    }
    accuracy_margin = 0.05
    synthetic_margin = 0.1


def _fit(data: Dataset, **params: object) -> ALS:
    model = make_model("als", **{"factors": 16, "regularization": 10.0, **params}).fit(data)
    assert isinstance(model, ALS)
    return model


def test_user_vector_solves_the_weighted_least_squares(split: Split) -> None:
    """x = (YᵀY + Yᵀ(C − I)Y + λI)⁻¹ YᵀCp with C = 1 + alpha·r, written out per row."""
    model = _fit(split.train, alpha=3.0)
    histories = split.test.histories.take(np.arange(12))
    r = histories.matrix(model.n_items).toarray().astype(np.float64)
    y = model.item_factors.astype(np.float64)
    for row in range(len(r)):
        c = 1.0 + 3.0 * r[row]
        p = (r[row] > 0).astype(np.float64)
        a = y.T @ (c[:, None] * y) + 10.0 * np.eye(16)
        x = np.linalg.solve(a, y.T @ (c * p))
        np.testing.assert_allclose(model.user_factors(sp.csr_matrix(r[row : row + 1]))[0], x)
        scores = model.score(histories.take([row]))[0]
        np.testing.assert_allclose(scores, y @ x, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("alpha", [0.5, 3.0])
def test_user_vectors_match_implicit(split: Split, alpha: float) -> None:
    """The batched solve equals implicit's own exact recalculate_user."""
    model = _fit(split.train, alpha=alpha)
    r = split.test.histories.matrix(model.n_items)
    reference = AlternatingLeastSquares(
        factors=16, regularization=10.0, alpha=1.0, use_cg=False, num_threads=1
    )
    reference.item_factors = model.item_factors
    expected = reference.recalculate_user(np.arange(r.shape[0]), model.confidence(r))
    np.testing.assert_allclose(model.user_factors(r), expected, rtol=1e-4, atol=1e-5)


def test_user_vectors_reproduce_training_factors(dataset: Dataset) -> None:
    """Solved from a training shopper's own row, the vector is the last ALS user step's."""
    model = make_model("als", factors=8, regularization=1.0, use_cg=False, iterations=3)
    assert isinstance(model, ALS)
    model.fit(dataset)
    r = dataset.matrix()
    als = AlternatingLeastSquares(
        factors=8, regularization=1.0, alpha=1.0, use_cg=False, iterations=3, random_state=0
    )
    als.fit(model.confidence(r), show_progress=False)
    np.testing.assert_allclose(model.item_factors, als.item_factors, rtol=1e-5, atol=1e-6)
    # One more user half-step with the final item factors is what scoring solves.
    expected = als.recalculate_user(np.arange(r.shape[0]), model.confidence(r))
    np.testing.assert_allclose(model.user_factors(r), expected, rtol=1e-4, atol=1e-5)


def test_deterministic_with_threads(dataset: Dataset) -> None:
    one = _fit(dataset, num_threads=1)
    two = _fit(dataset, num_threads=2)
    np.testing.assert_array_equal(one.item_factors, two.item_factors)


def test_seed_changes_factors(dataset: Dataset) -> None:
    assert not np.array_equal(_fit(dataset, seed=1).item_factors, _fit(dataset).item_factors)


def test_state_is_item_factors_only(dataset: Dataset) -> None:
    model = _fit(dataset)
    state = model._state()
    assert list(state) == ["item_factors"]
    assert state["item_factors"].shape == (dataset.n_items, 16)
