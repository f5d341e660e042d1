"""The ranking context's per-request lookups against their plain definitions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from shopmind.data.dataset import ItemSide
from shopmind.models.base import first_allowed
from shopmind.ranking.context import ItemArrays, RankingContext


def _context(co: sp.csr_matrix | None, n: int) -> RankingContext:
    rng = np.random.default_rng(3)
    items = ItemArrays(
        side=ItemSide.from_items([]),  # these lookups read no item text or price
        popularity=rng.integers(0, 9, n).astype(np.float32),
        trending=rng.integers(0, 4, n).astype(np.float32),
        created=np.full(n, np.nan),
        removed=np.zeros(n, bool),
        now_ms=0.0,
    )
    return RankingContext(models={}, items=items, co=co)


@pytest.mark.parametrize("seed", range(6))
def test_co_block_equals_the_matrix_entries(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = sp.random(300, 300, density=0.05, format="csr", random_state=seed, dtype=np.float32)
    ctx = _context(m, 300)
    # Unknown indices (-1, past the matrix: items posted after training), repeats included.
    past = rng.integers(-1, 320, rng.integers(1, 25))
    items = rng.integers(-1, 320, rng.integers(1, 80))
    items = np.concatenate([items, items[:4]])
    dense = m.toarray()
    expected = np.zeros((len(past), len(items)), np.float32)
    for i, p in enumerate(past.tolist()):
        for j, item in enumerate(items.tolist()):
            if 0 <= p < 300 and 0 <= item < 300:
                expected[i, j] = dense[p, item]
    np.testing.assert_array_equal(ctx.co_block(past, items), expected)
    assert ctx.co_block(past[:0], items).shape == (0, len(items))


def test_trending_order_and_the_walk_take_the_best_allowed() -> None:
    ctx = _context(None, 5_000)
    score = ctx.items.trending_score
    allowed = np.random.default_rng(1).random(5_000) < 0.01  # a filter that allows few
    got = first_allowed(ctx.items.trending_order, 30, allowed)
    candidates = np.flatnonzero(allowed)
    expected = candidates[np.lexsort((candidates, -score[candidates]))][:30]
    np.testing.assert_array_equal(got, expected)
    assert len(first_allowed(ctx.items.trending_order, 30, np.zeros(5_000, bool))) == 0
    # Popular: the 90th percentile of popularity, and at least one shopper.
    assert ctx.items.popular_from == max(float(np.quantile(ctx.items.popularity, 0.9)), 1.0)
