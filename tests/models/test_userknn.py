"""User-kNN: the choices of the training shoppers most like the query history."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
from conformance import RecommenderConformance

from shopmind.data import Dataset, Histories
from shopmind.models import make_model


class TestUserKNN(RecommenderConformance):
    model_name = "userknn"
    params: ClassVar[dict[str, Any]] = {"neighbors": 30}
    finds_planted_pair = True
    synthetic_margin = 0.2
    synthetic_pair_floor = 0.12


class TestUserKNNBinaryShrunk(RecommenderConformance):
    model_name = "userknn"
    params: ClassVar[dict[str, Any]] = {
        "neighbors": 30,
        "binary": True,
        "shrink": 5.0,
        "recency_decay": 0.1,
    }
    synthetic_margin = 0.1


def _naive(dataset: Dataset, history: list[int], neighbors: int, shrink: float) -> np.ndarray:
    x = dataset.matrix(binary=True).toarray().astype(np.float64)
    h = np.zeros(dataset.n_items)
    h[history] = 1.0
    sims = x @ h / (np.linalg.norm(x, axis=1) * np.linalg.norm(h) + shrink)
    top = np.argsort(-sims, kind="stable")[:neighbors]
    top = top[sims[top] > 0]
    return sims[top] @ x[top]


@pytest.mark.parametrize("shrink", [0.0, 2.0])
def test_scores_match_definition(dataset: Dataset, shrink: float) -> None:
    model = make_model("userknn", neighbors=15, shrink=shrink, binary=True).fit(dataset)
    histories = [[3, 10, 20], [31], [60, 61, 62, 2]]
    scores = model.score(Histories.from_lists(histories))
    for row, history in enumerate(histories):
        expected = _naive(dataset, history, 15, shrink)
        np.testing.assert_allclose(scores[row], expected, rtol=1e-5, atol=1e-6)


def test_scored_in_blocks(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    model = make_model("userknn", neighbors=10).fit(dataset)
    histories = dataset.histories(np.arange(50))
    whole = model.score(histories)
    monkeypatch.setattr("shopmind.models.userknn._BLOCK_CELLS", 3 * dataset.n_users)
    np.testing.assert_allclose(model.score(histories), whole, rtol=1e-6)


def test_a_training_shopper_is_their_own_nearest(dataset: Dataset) -> None:
    """With one neighbour, a training shopper's own history returns their own row."""
    model = make_model("userknn", neighbors=1, binary=True).fit(dataset)
    users = np.arange(0, dataset.n_users, 37)
    scores = model.score(dataset.histories(users))
    rows = dataset.matrix(binary=True)[users].toarray()
    np.testing.assert_allclose(scores, rows, rtol=1e-5)
