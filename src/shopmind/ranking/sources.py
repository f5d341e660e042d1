"""Candidate sources: each proposes its best allowed items for a slate and scores the rest.

Every model of the bundle is a source (its proposals: its top ``n`` by its own score among the
allowed items, found through its index when it has one — the content model's HNSW graph,
item-kNN's neighbour lists — else from its full scores); trending is a source too. Over the
union of the proposals every source scores every candidate, so features and scorers see each
source's opinion of each candidate, not only of its own.

The same function serves one request and a batch of validation rows: in a batch, models that
rank their full scores are scored for the whole block at once (``full``), and everything else
runs as it does online, so what validation measures is what is served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from shopmind.data.histories import Histories
from shopmind.models.base import Recommender, first_allowed
from shopmind.ranking.context import RankingContext
from shopmind.ranking.slate import Slate, SourceColumn

#: Items each model proposes per request unless a source says otherwise.
PER_SOURCE = 100
#: The trending source's name (it is not a model of the bundle).
TRENDING = "trending"
#: The similar-items source: the anchor item's text and co-interaction neighbours.
SIMILAR = "similar"
#: The complements source: what shoppers go on to after the anchor item.
COMPLEMENTS = "complements"
#: The cross-category source: popular items of the categories the graph links to the
#: shopper's (the cross-category placement; ``slate.linked``).
LINKED = "linked"


@dataclass(frozen=True)
class Sources:
    """Which sources propose candidates, and how many each."""

    #: Source name -> items it proposes (models of the bundle, and "trending").
    per_source: Mapping[str, int]

    @classmethod
    def of(
        cls, models: Mapping[str, Recommender], n: int = PER_SOURCE, trending: int = 0
    ) -> Sources:
        per: dict[str, int] = dict.fromkeys(models, n)
        if trending > 0:
            per[TRENDING] = trending
        return cls(per)

    def names(self) -> list[str]:
        return list(self.per_source)

    def full_score_models(
        self, ctx: RankingContext, history: Histories, allowed: np.ndarray
    ) -> list[str]:
        """The models with no proposal shortcut for this history: a batch scores them whole."""
        out = []
        for name in self.per_source:
            model = ctx.models.get(name)
            if model is not None and model.candidates(history, 1, allowed) is None:
                out.append(name)
        return out

    def run(
        self, slate: Slate, ctx: RankingContext, full: Mapping[str, np.ndarray] | None = None
    ) -> None:
        """Propose, take the union, and let every source score every candidate."""
        assert slate.allowed is not None, "the allowed stage runs before the sources"
        history = slate.request.history
        allowed = slate.allowed
        full = dict(full or {})
        proposals: dict[str, np.ndarray] = {}
        similar: dict[int, float] = {}
        for name, n in self.per_source.items():
            if name == TRENDING:
                proposals[name] = first_allowed(ctx.items.trending_order, n, allowed)
                continue
            if name == SIMILAR:
                proposals[name], similar = _similar(slate, ctx, n, allowed)
                continue
            if name == COMPLEMENTS:
                proposals[name], similar = _complements(slate, ctx, n, allowed)
                continue
            if name == LINKED:
                proposals[name] = first_allowed(_linked_order(slate, ctx), n, allowed)
                continue
            model = ctx.models[name]
            row = full.get(name)
            if row is None:
                shortcut = model.candidates(history, n, allowed)
                if shortcut is not None:
                    proposals[name] = _best_of(model, history, shortcut[0], n, allowed)
                    continue
                row = _padded(model.score(history)[0], ctx.n_items)
                full[name] = row
            proposals[name] = _best(row, n, allowed)
        union = np.unique(np.concatenate([np.zeros(0, np.int64), *proposals.values()]))
        slate.items = union.astype(np.int64)
        for name, proposed in proposals.items():
            if name == TRENDING:
                score = ctx.items.trending_score[union]
            elif name == LINKED:
                score = _linked_score(slate, ctx)[union]
            elif name in (SIMILAR, COMPLEMENTS):
                score = np.array([similar.get(int(i), np.nan) for i in union], np.float32)
            elif name in full:
                score = full[name][union]
            else:
                score = _padded_cols(ctx.models[name].score(history, items=union)[0])
            rank = np.full(len(union), -1, np.int32)
            rank[np.searchsorted(union, proposed)] = np.arange(len(proposed), dtype=np.int32)
            slate.sources[name] = SourceColumn(score.astype(np.float32), rank)


def _similar(
    slate: Slate, ctx: RankingContext, n: int, allowed: np.ndarray
) -> tuple[np.ndarray, dict[int, float]]:
    """The anchor's similar items among the allowed, best first, and their similarity."""
    anchor = slate.request.anchor
    index = ctx.similar
    if anchor is None or index is None:
        return np.zeros(0, np.int64), {}
    mask = allowed.copy()
    mask[anchor] = False
    ids, scores = index.similar([anchor], n, allowed=mask)
    keep = ids[0] >= 0
    chosen = ids[0][keep].astype(np.int64)
    return chosen, dict(zip(chosen.tolist(), scores[0][keep].tolist(), strict=True))


def _linked_score(slate: Slate, ctx: RankingContext) -> np.ndarray:
    """An item's linked strength times its popularity's share of the catalogue's most popular
    (log scale): the strongest links first, the most popular of each linked category first.
    Computed once per slate (the proposals and the score column both read it)."""
    if slate.linked_score is not None:
        return slate.linked_score
    linked = slate.linked if slate.linked is not None else np.zeros(ctx.n_items)
    share = ctx.items.popularity_share[: len(linked)]
    out: np.ndarray = (linked * share).astype(np.float32)
    slate.linked_score = out
    return out


def _linked_order(slate: Slate, ctx: RankingContext) -> np.ndarray:
    score = _linked_score(slate, ctx)
    keep = np.flatnonzero(score > 0)
    order: np.ndarray = keep[np.lexsort((keep, -score[keep]))]
    return order


def _complements(
    slate: Slate, ctx: RankingContext, n: int, allowed: np.ndarray
) -> tuple[np.ndarray, dict[int, float]]:
    """The anchor's complements among the allowed, best first, and their strength."""
    anchor = slate.request.anchor
    found = ctx.complements
    if anchor is None or found is None:
        return np.zeros(0, np.int64), {}
    mask = allowed.copy()
    mask[anchor] = False
    side = ctx.items.side
    ids, scores = found.of(
        anchor, n, mask, side.category, ctx.items.popularity, ctx.text_rows, ctx.text_neighbours
    )
    return ids, dict(zip(ids.tolist(), scores.tolist(), strict=True))


def _padded(scores: np.ndarray, n: int) -> np.ndarray:
    """A model's scores over ``n`` items (NaN past its own catalogue)."""
    out = np.full(n, np.nan, dtype=np.float32)
    out[: min(len(scores), n)] = scores[:n]
    return out


def _padded_cols(scores: np.ndarray) -> np.ndarray:
    return np.asarray(scores, dtype=np.float32)


def _usable(scores: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Scores with disallowed, unscorable and demoted items at -inf."""
    s = np.where(allowed[: len(scores)], scores, -np.inf)
    s = np.where(np.isnan(s) | (s <= np.float32(-1e30)), -np.inf, s)
    return s.astype(np.float32)


def _best(scores: np.ndarray, n: int, allowed: np.ndarray) -> np.ndarray:
    """The ``n`` best allowed, scorable items, best first (ties to the lower index)."""
    s = _usable(scores, allowed)
    n = min(n, len(s))
    if n <= 0:
        return np.zeros(0, np.int64)
    top = np.argpartition(-s, n - 1)[:n]
    top = top[s[top] > -np.inf]
    return top[np.lexsort((top, -s[top]))].astype(np.int64)


def _best_of(
    model: Recommender, history: Histories, proposed: np.ndarray, n: int, allowed: np.ndarray
) -> np.ndarray:
    """The ``n`` best of a model's shortcut proposals (a superset of its top ``n``)."""
    ids = np.unique(proposed[(proposed >= 0) & (proposed < len(allowed))])
    ids = ids[allowed[ids]]
    if not len(ids):
        return np.zeros(0, np.int64)
    scores = _usable(model.score(history, items=ids)[0], np.ones(len(ids), bool))
    keep = scores > -np.inf
    ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))[:n]
    best: np.ndarray = ids[order].astype(np.int64)
    return best
