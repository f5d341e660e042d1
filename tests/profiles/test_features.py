"""The profile feature family for the ranker, against its definition; and scorers read their
own columns by name, whatever other families a slate carries."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.catalog.schema import DAY_MS, Item
from shopmind.data.dataset import ItemSide
from shopmind.data.histories import Histories
from shopmind.profiles.features import NAMES, profile_features
from shopmind.ranking.context import ItemArrays, RankingContext
from shopmind.ranking.scorers import BlendScorer, scored_by
from shopmind.ranking.slate import Request, Slate


def _ctx() -> RankingContext:
    rows = [
        ("a1", ["Home", "Lamps"], "Lux", 10.0),
        ("a2", ["Home", "Lamps"], "Lux", 30.0),
        ("a3", ["Home", "Rugs"], "Weave", 50.0),
        ("b1", ["Garden", "Tools"], "Spade", 20.0),
        ("b2", ["Garden", "Tools"], "", None),
    ]
    side = ItemSide.from_items(
        [Item(id=i, title=i, category_path=c, brand=b, price=p) for i, c, b, p in rows]
    )
    n = len(rows)
    items = ItemArrays(
        side=side,
        popularity=np.ones(n, np.float32),
        trending=np.ones(n, np.float32),
        created=np.full(n, np.nan),
        removed=np.zeros(n, bool),
        now_ms=0.0,
    )
    return RankingContext(models={}, items=items)


def test_affinities_and_the_price_gap_follow_the_profiles_weighting() -> None:
    ctx = _ctx()
    # a1 bought (weight 4) 90 days before a3 was viewed (weight 1): the purchase counts half.
    history = Histories.from_lists(
        [[0, 2]], weights=[[4.0, 1.0]], timestamps=[[0, int(90 * DAY_MS)]]
    )
    slate = Slate(Request(history, ("purchase", "view"), 10), ctx.n_items)
    slate.items = np.array([1, 2, 3, 4], np.int64)
    names, x = profile_features(slate, ctx)
    assert names == NAMES
    total = 4 * 0.5 + 1.0
    np.testing.assert_allclose(x[:, 0], [2 / total, 1 / total, 0, 0], rtol=1e-6)  # leaf
    np.testing.assert_allclose(x[:, 1], [1, 1, 0, 0], rtol=1e-6)  # Home, Home, Garden, Garden
    np.testing.assert_allclose(x[:, 2][:3], [2 / total, 1 / total, 0], rtol=1e-6)
    assert np.isnan(x[3, 2])  # no brand: unknown, not "no affinity"
    # Lamps 10 / 30 sit at 25 / 75, the rug alone at 50: the band is (2·25 + 1·50) / 3.
    band = (2 * 25 + 50) / 3
    np.testing.assert_allclose(x[:3, 3], [75 - band, 50 - band, 50 - band], rtol=1e-5)
    assert np.isnan(x[3, 3])  # b2 has no price


def test_an_empty_history_gives_unknowns() -> None:
    ctx = _ctx()
    slate = Slate(Request(Histories.from_lists([[]]), (), 10), ctx.n_items)
    slate.items = np.array([0, 1], np.int64)
    _, x = profile_features(slate, ctx)
    assert np.isnan(x).all()


def test_a_scorer_reads_its_own_columns_by_name() -> None:
    scorer = BlendScorer(
        {"a": 2.0, "b": 1.0}, ("a.score", "a.norm", "a.rank", "b.score", "b.norm", "b.rank")
    )
    names = list(scorer.names)
    x = np.random.default_rng(0).random((5, len(names))).astype(np.float32)
    plain = scorer.score(x)
    # Another family beside them, and the columns in another order: the same scores.
    wider_names = ["profile.x", *reversed(names)]
    wider = np.column_stack([np.ones(5, np.float32), x[:, ::-1]])
    np.testing.assert_array_equal(scored_by(scorer, wider_names, wider), plain)
    with pytest.raises(ValueError, match=r"lacks: a\.score"):
        scored_by(scorer, names[1:], x[:, 1:])
