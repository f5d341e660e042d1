"""Profile features of (shopper, candidate) pairs, for the ranker: the profile's view of each
candidate, read off the same history the other features read.

- ``profile.leaf_affinity``, ``profile.root_affinity``, ``profile.brand_affinity``: the share of
  the shopper's attention (event-type weights × time decay, as the profile weighs them) on the
  candidate's leaf category, top category and brand;
- ``profile.price_gap``: the candidate's price percentile within its leaf minus the shopper's
  (their price band), in percentile points.

Time is measured to the history's newest event, so a validation row and a request see the same
values. The ranking pipeline's seam for them is :data:`shopmind.ranking.features.EXTRA`
(``register()``); the served bundles do not use them yet (see docs/profiles.md).
"""

from __future__ import annotations

import numpy as np

from shopmind.catalog.schema import DAY_MS
from shopmind.profiles.items import leaf_percentiles
from shopmind.ranking.context import ItemArrays, RankingContext
from shopmind.ranking.slate import Slate

NAMES = (
    "profile.leaf_affinity",
    "profile.root_affinity",
    "profile.brand_affinity",
    "profile.price_gap",
)
#: The profile's half-life, in days.
HALF_LIFE_DAYS = 90.0


_PERCENTILES: list[tuple[ItemArrays, np.ndarray]] = []


def _percentiles(arrays: ItemArrays) -> np.ndarray:
    """The catalogue's price percentiles within each leaf, computed once per catalogue."""
    for seen, pct in _PERCENTILES:
        if seen is arrays:
            return pct
    pct = leaf_percentiles(arrays.side.category, np.asarray(arrays.side.price, np.float64))
    _PERCENTILES[:] = [(arrays, pct)]
    return pct


def profile_features(slate: Slate, ctx: RankingContext) -> tuple[tuple[str, ...], np.ndarray]:
    """The family's columns (candidates × 4) for one slate."""
    items = slate.items
    out = np.full((len(items), len(NAMES)), np.nan, np.float32)
    history = slate.request.history
    keep = (history.items >= 0) & (history.items < ctx.n_items)
    past = history.items[keep]
    if not len(past) or not len(items):
        return NAMES, out
    ts = history.timestamps[keep].astype(np.float64)
    age = (ts.max() - ts) / DAY_MS
    strength = np.maximum(history.weights[keep].astype(np.float64), 0.0) * 0.5 ** (
        age / HALF_LIFE_DAYS
    )
    total = float(strength.sum())
    codes = ctx.items.codes
    for j, code in enumerate((codes.leaf, codes.root, codes.brand)):
        mine, theirs = code[items], code[past]
        known = theirs >= 0
        if total <= 0 or not known.any():
            out[:, j] = np.where(mine >= 0, 0.0, np.nan)
            continue
        sums = np.bincount(theirs[known], weights=strength[known], minlength=int(code.max()) + 1)
        out[:, j] = np.where(mine >= 0, sums[np.maximum(mine, 0)] / total, np.nan)
    pct = _percentiles(ctx.items)
    band = pct[past]
    priced = ~np.isnan(band) & (strength > 0)
    if priced.any():
        usual = float(np.average(band[priced], weights=strength[priced]))
        out[:, 3] = pct[items] - usual
    return NAMES, out


def register() -> None:
    """Compute the family in every slate of this process (the ranker's research ablation)."""
    from shopmind.ranking.features import EXTRA

    EXTRA["profile"] = profile_features
