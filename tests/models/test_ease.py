"""EASE: closed-form item weights with a zero diagonal."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
from conformance import RecommenderConformance

from shopmind.data import Dataset
from shopmind.models import make_model
from shopmind.models.ease import EASE, ease_weights


class TestEASE(RecommenderConformance):
    model_name = "ease"
    params: ClassVar[dict[str, Any]] = {"l2": 50.0}
    finds_planted_pair = True
    synthetic_margin = 0.2
    synthetic_pair_floor = 0.2


class TestEASEBinaryDecayed(RecommenderConformance):
    model_name = "ease"
    params: ClassVar[dict[str, Any]] = {
        "l2": 50.0,
        "binary": True,
        "binary_history": True,
        "recency_decay": 0.2,
    }
    synthetic_margin = 0.1


@pytest.mark.parametrize("l2", [1.0, 50.0])
def test_weights_match_closed_form(dataset: Dataset, l2: float) -> None:
    model = make_model("ease", l2=l2, binary=True).fit(dataset)
    assert isinstance(model, EASE)
    x = dataset.matrix(binary=True).toarray().astype(np.float64)
    p = np.linalg.inv(x.T @ x + l2 * np.eye(dataset.n_items))
    expected = np.eye(dataset.n_items) - p / np.diag(p)[None, :]
    assert model.weights.dtype == np.float32
    assert (np.diag(model.weights) == 0.0).all()
    np.testing.assert_allclose(model.weights, expected, atol=1e-6)


def test_built_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    x = (rng.random((60, 23)) < 0.2).astype(np.float64)
    whole = ease_weights(x.T @ x, 3.0)
    monkeypatch.setattr("shopmind.models.ease._BLOCK_ROWS", 5)
    np.testing.assert_array_equal(ease_weights(x.T @ x, 3.0), whole)


def test_item_without_interactions_scores_zero(dataset: Dataset) -> None:
    """An item nobody touched in training has zero weight in and out."""
    keep = dataset.item != 5
    model = make_model("ease", l2=10.0).fit(dataset.subset(keep))
    assert isinstance(model, EASE)
    assert not model.weights[5].any() and not model.weights[:, 5].any()
