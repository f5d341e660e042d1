"""Features of each (shopper, candidate) pair, for the scorers.

Per source: its raw score, its score min-max normalised over the candidates, and its rank
among its own proposals. Per item: popularity, trend, age and price. Per pair: the item's
price against the shopper's usual price, how much of the history shares its category, top
category and brand, whether its category is new to the shopper, its text cosine to the
history, its co-interaction with the history, and the recency and weight of the history
event most related to it. NaN means "not known" (LightGBM reads it as missing; the logistic
ranker fills it with the training mean).

Profile features (affinities, price band, lifecycle) arrive with the shopper profiles: they
plug in through :data:`EXTRA` — a function from a slate to named columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from shopmind.ranking.context import RankingContext
from shopmind.ranking.slate import Slate

#: History items the pair features read (the newest, distinct).
RECENT = 20

ITEM = ("item.popularity", "item.trend", "item.age_days", "item.price")
PAIR = (
    "price.vs_usual",
    "category.share",
    "root.share",
    "brand.share",
    "category.new",
    "text.max",
    "text.last",
    "text.mean",
    "co.max",
    "co.last",
    "related.strength",
    "related.recency",
    "related.weight",
    "item.seen",
    "history.length",
)

#: Further feature families: name -> function(slate, ctx) -> (names, rows × len(names)).
ExtraFeatures = Callable[[Slate, RankingContext], tuple[Sequence[str], np.ndarray]]
EXTRA: dict[str, ExtraFeatures] = {}


def feature_names(sources: Sequence[str]) -> tuple[str, ...]:
    """The feature columns for these sources, in order."""
    per_source = [f"{s}.{part}" for s in sources for part in ("score", "norm", "rank")]
    return (*per_source, *ITEM, *PAIR)


def feature_columns(names: Sequence[str], source: str) -> np.ndarray:
    """The columns of ``names`` that carry ``source``'s evidence (score, norm, rank)."""
    return np.array([j for j, n in enumerate(names) if n.rpartition(".")[0] == source], np.int64)


def absent_values(names: Sequence[str]) -> np.ndarray:
    """Per column, its value for an item its source neither proposed nor scored: a source's
    normalised score is 0 there, every other column unknown (NaN)."""
    return np.array([0.0 if n.endswith(".norm") else np.nan for n in names], np.float32)


def normalised(score: np.ndarray) -> np.ndarray:
    """Min-max over the candidates to [0, 1]; unscorable (NaN, -inf, demoted) give 0."""
    s = np.asarray(score, dtype=np.float32)
    valid = np.isfinite(s) & (s > np.float32(-1e30))
    if not valid.any():
        return np.zeros(len(s), np.float32)
    low, high = float(s[valid].min()), float(s[valid].max())
    span = high - low if high > low else 1.0
    out: np.ndarray = np.where(valid, (s - low) / span, 0.0).astype(np.float32)
    return out


def compute(slate: Slate, ctx: RankingContext, sources: Sequence[str]) -> None:
    """Fill ``slate.features`` (candidates × features) and ``slate.feature_names``."""
    items = slate.items
    n = len(items)
    columns: list[np.ndarray] = []
    for name in sources:
        col = slate.sources.get(name)
        if col is None:  # a source this bundle does not hold: unknown everywhere
            columns += [np.full(n, np.nan, np.float32)] * 2 + [np.full(n, np.nan, np.float32)]
            continue
        raw = np.where(np.isfinite(col.score) & (col.score > -1e30), col.score, np.nan)
        rank = np.where(col.rank >= 0, np.log1p(np.maximum(col.rank, 0).astype(np.float32)), np.nan)
        columns += [raw.astype(np.float32), normalised(col.score), rank.astype(np.float32)]
    columns += _item_columns(ctx, items)
    columns += _pair_columns(slate, ctx)
    names = list(feature_names(sources))
    for extra in EXTRA.values():
        more_names, more = extra(slate, ctx)
        names += list(more_names)
        columns += [np.asarray(more[:, j], np.float32) for j in range(more.shape[1])]
    slate.feature_names = tuple(names)
    slate.features = (
        np.stack(columns, axis=1).astype(np.float32) if n else np.zeros((0, len(names)), np.float32)
    )


def _item_columns(ctx: RankingContext, items: np.ndarray) -> list[np.ndarray]:
    table = ctx.items
    price = table.side.price[items]
    return [
        np.log1p(table.popularity[items]),
        np.log1p(table.trending[items]),
        np.log1p(table.age_days(items)),
        np.log1p(np.where(price >= 0, price, np.nan)),
    ]


def _pair_columns(slate: Slate, ctx: RankingContext) -> list[np.ndarray]:
    items = slate.items
    n = len(items)
    history = slate.request.history
    past_all = history.items[history.items >= 0]
    past_all = past_all[past_all < ctx.n_items]
    length = np.full(n, np.log1p(len(past_all)), np.float32)
    if not len(past_all) or not n:
        nan = np.full(n, np.nan, np.float32)
        zero = np.zeros(n, np.float32)
        return [nan, zero, zero, zero, nan, nan, nan, nan, zero, zero, zero, nan, nan, zero, length]
    codes = ctx.items.codes
    side = ctx.items.side

    def share(code: np.ndarray) -> np.ndarray:
        hist = code[past_all]
        hist = hist[hist >= 0]
        if not len(hist):
            return np.zeros(n, np.float32)
        counts = np.bincount(hist, minlength=int(code.max()) + 1)
        mine = code[items]
        out = np.where(mine >= 0, counts[np.maximum(mine, 0)] / len(past_all), 0.0)
        return out.astype(np.float32)

    cat_share = share(codes.leaf)
    new = np.where(codes.leaf[items] >= 0, (cat_share == 0).astype(np.float32), np.nan)
    prices = side.price[past_all]
    prices = prices[np.isfinite(prices) & (prices > 0)]
    mine = side.price[items]
    vs_usual = (
        np.log(np.where(mine > 0, mine, np.nan) / float(np.median(prices)))
        if len(prices)
        else np.full(n, np.nan)
    )
    # The newest distinct history items, newest first, with the strongest weight of each.
    order = history.items[::-1]
    past, first = np.unique(order[(order >= 0) & (order < ctx.n_items)], return_index=True)
    keep = np.argsort(first)[:RECENT]
    past, recency = past[keep], first[keep].astype(np.float32)
    past_text, item_text = ctx.text_rows(past), ctx.text_rows(items)
    text = _text_block(past_text, item_text, len(past), len(items))
    co = ctx.co_block(past, items)
    relation = np.maximum(text, co)
    best = relation.argmax(axis=0)
    weight_of: dict[int, float] = {}  # the strongest event weight of each history item
    for item, weight in zip(history.items.tolist(), history.weights.tolist(), strict=True):
        weight_of[item] = max(weight, weight_of.get(item, -np.inf))
    past_weight = np.array([weight_of.get(p, np.nan) for p in past.tolist()], np.float32)
    related_weight = past_weight[best]
    seen = np.isin(items, past_all).astype(np.float32)
    mean_text = _mean_text(past_text, item_text, len(items))
    return [
        vs_usual.astype(np.float32),
        cat_share,
        share(codes.root),
        share(codes.brand),
        new.astype(np.float32),
        text.max(axis=0),
        text[int(np.argmin(recency))],
        mean_text,
        co.max(axis=0),
        co[int(np.argmin(recency))],
        relation.max(axis=0),
        np.log1p(recency[best]),
        related_weight,
        seen,
        length,
    ]


def _text_block(
    rows: np.ndarray | None, mine: np.ndarray | None, n_past: int, n: int
) -> np.ndarray:
    """Text cosine of each past item (rows) to each candidate (columns); 0 without text."""
    if rows is None or mine is None:
        return np.zeros((n_past, n), np.float32)
    out: np.ndarray = rows @ mine.T
    return out


def _mean_text(rows: np.ndarray | None, mine: np.ndarray | None, n: int) -> np.ndarray:
    """Each candidate's cosine to the mean of the past items' text vectors."""
    if rows is None or mine is None:
        return np.full(n, np.nan, np.float32)
    mean = rows.sum(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm == 0:
        return np.full(n, np.nan, np.float32)
    out: np.ndarray = (mine @ (mean / norm)).astype(np.float32)
    return out
