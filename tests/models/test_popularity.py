"""Popularity: the non-personalised baseline every other model must beat."""

from __future__ import annotations

import numpy as np
from conformance import RecommenderConformance, purchase_histories

from shopmind.catalog.schema import DAY_MS
from shopmind.data import Dataset, Histories, Split
from shopmind.models import make_model, recommend


class TestPopularity(RecommenderConformance):
    model_name = "pop"
    personalised = False
    accuracy_margin = None
    synthetic_margin = None


def test_counts_distinct_shoppers(dataset: Dataset) -> None:
    model = make_model("pop").fit(dataset)
    scores = model.score(Histories.empty(1))[0]
    np.testing.assert_array_equal(scores, dataset.item_popularity())


def test_counts_events_by_weight(dataset: Dataset) -> None:
    model = make_model("pop", count="events").fit(dataset)
    expected = np.bincount(dataset.item, weights=dataset.weights, minlength=dataset.n_items)
    np.testing.assert_allclose(model.score(Histories.empty(1))[0], expected, rtol=1e-6)


def test_half_life_decays_each_vote(dataset: Dataset) -> None:
    """Each shopper's vote counts 0.5 ** (age of their latest interaction / half-life)."""
    newest = int(dataset.timestamp.max())
    latest: dict[tuple[int, int], int] = {}
    for u, i, t in zip(dataset.user, dataset.item, dataset.timestamp, strict=True):
        latest[int(u), int(i)] = max(latest.get((int(u), int(i)), 0), int(t))
    expected = np.zeros(dataset.n_items)
    for (_, i), t in latest.items():
        expected[i] += 0.5 ** ((newest - t) / DAY_MS / 10.0)
    model = make_model("pop", half_life_days=10.0).fit(dataset)
    np.testing.assert_allclose(model.score(Histories.empty(1))[0], expected, rtol=1e-5)


def test_planted_pair_is_not_popularity(split: Split, shop: object) -> None:
    """The planted pair check can fail: popularity alone does not put b near the top."""
    data = split.train
    a, b = (data.items.index(x) for x in shop.pair)  # type: ignore[attr-defined]
    model = make_model("pop").fit(data)
    ids, _ = recommend(model, purchase_histories(data, [[a]]), 5, exclude_history=True)
    assert b not in ids[0]
