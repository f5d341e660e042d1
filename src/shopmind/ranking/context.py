"""What every stage reads: the models, the catalogue as arrays, item text vectors and
co-interaction.

A :class:`RankingContext` is immutable: when the live catalogue changes (an item posted,
repriced or deleted) the engine builds a new one and swaps the reference, so a request reads
one consistent catalogue from its first stage to its last.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from shopmind.catalog.schema import DAY_MS
from shopmind.data.dataset import ItemSide
from shopmind.models.base import Recommender
from shopmind.models.similar import SimilarItems
from shopmind.relations.complements import Complements

#: "Popular" means among the catalogue's most chosen 10% (and chosen at all).
POPULAR_QUANTILE = 0.9


@dataclass(frozen=True)
class ItemArrays:
    """The catalogue as the stages read it, aligned by item index."""

    side: ItemSide
    popularity: np.ndarray  # float32: distinct shoppers per item in the snapshot
    trending: np.ndarray  # float32: distinct shoppers over the snapshot's last days
    created: np.ndarray  # float64 epoch ms, NaN when unknown
    removed: np.ndarray  # bool: deleted from the store since
    #: The time ages are measured at (the snapshot's newest event), epoch ms.
    now_ms: float

    @classmethod
    def of_catalogue(cls, side: ItemSide) -> ItemArrays:
        """A catalogue with no behaviour yet (no popularity, nothing removed)."""
        n = len(side.title)
        zeros = np.zeros(n, np.float32)
        return cls(side, zeros, zeros.copy(), side.created_ms(), np.zeros(n, bool), 0.0)

    @property
    def n(self) -> int:
        return len(self.removed)

    @cached_property
    def codes(self) -> ItemCodes:
        return ItemCodes.build(self.side)

    @cached_property
    def trending_score(self) -> np.ndarray:
        """Distinct shoppers of the snapshot's last days, popularity breaking ties (float32,
        computed once per catalogue: every request's trending source reads it)."""
        trend, pop = self.trending, self.popularity
        high_t = max(float(trend.max()), 1.0) if len(trend) else 1.0
        high_p = max(float(pop.max()), 1.0) if len(pop) else 1.0
        out: np.ndarray = (trend / high_t + 0.01 * pop / high_p).astype(np.float32)
        return out

    @cached_property
    def trending_order(self) -> np.ndarray:
        """Item indices by :attr:`trending_score`, best first (ties to the lower index)."""
        order: np.ndarray = np.lexsort((np.arange(self.n), -self.trending_score))
        return order

    @cached_property
    def popularity_share(self) -> np.ndarray:
        """(1 + log popularity) over (1 + the catalogue's highest), float64: how popular an
        item is on a log scale, 1 for the most popular (once per catalogue)."""
        pop = np.log1p(self.popularity.astype(np.float64))
        top = float(pop.max()) if len(pop) else 0.0
        out: np.ndarray = (1.0 + pop) / (1.0 + top)
        return out

    @cached_property
    def popular_from(self) -> float:
        """The popularity from which an item counts as popular: the catalogue's 90th
        percentile, and at least one shopper (inf for an empty catalogue)."""
        pop = self.popularity
        return max(float(np.quantile(pop, POPULAR_QUANTILE)), 1.0) if len(pop) else np.inf

    def age_days(self, items: np.ndarray) -> np.ndarray:
        days: np.ndarray = np.maximum(self.now_ms - self.created[items], 0.0) / DAY_MS
        return days

    def leaf(self, item: int) -> str:
        path = self.side.category[item]
        return path[-1] if path else "the shop"


@dataclass(frozen=True)
class ItemCodes:
    """Items coded by leaf category, top category and brand (-1: none), for overlaps."""

    leaf: np.ndarray
    root: np.ndarray
    brand: np.ndarray

    @classmethod
    def build(cls, side: ItemSide) -> ItemCodes:
        def code(values: list[str]) -> np.ndarray:
            seen: dict[str, int] = {}
            return np.fromiter(
                (seen.setdefault(v, len(seen)) if v else -1 for v in values), np.int64, len(values)
            )

        return cls(
            leaf=code([p[-1] if p else "" for p in side.category]),
            root=code([p[0] if p else "" for p in side.category]),
            brand=code([b.strip().casefold() for b in side.brand]),
        )


@dataclass(frozen=True)
class RankingContext:
    """The bundle's models and the catalogue, as one request's stages see them."""

    models: Mapping[str, Recommender]
    items: ItemArrays
    #: Unit text vectors per item, or None when no model has text; read them through
    #: :meth:`text_rows` (items without text have a placeholder row here).
    text: np.ndarray | None = None
    #: Which items have text (None: all rows of ``text`` do).
    has_text: np.ndarray | None = None
    #: Items × items co-interaction similarity (rows scaled to max 1), or None.
    co: sp.csr_matrix | None = None
    #: The similar-items index (text neighbours and co-interaction), when the bundle has one.
    similar: SimilarItems | None = None
    type_names: tuple[str, ...] = ()
    #: Event type -> weight (how much an event says about the shopper).
    type_weights: Mapping[str, float] = field(default_factory=dict)
    #: What goes with what (complements and the category graph), when the bundle has them.
    complements: Complements | None = None

    @property
    def n_items(self) -> int:
        return self.items.n

    def text_rows(self, items: np.ndarray) -> np.ndarray | None:
        """The items' unit text vectors (zero rows for items without text), or None."""
        if self.text is None:
            return None
        out = np.zeros((len(items), self.text.shape[1]), np.float32)
        n = len(self.text)
        ok = (items >= 0) & (items < n)
        if self.has_text is not None:
            ok[ok] &= self.has_text[items[ok]]
        out[ok] = self.text[items[ok]]
        return out

    def text_neighbours(self, item: int, k: int = 10) -> list[int]:
        """The item's nearest items by text alone, nearest first (none without an index)."""
        if self.similar is None or item >= self.similar.n_items:
            return []
        found, _ = self.similar.similar([item], k, blend=0.0)
        return [int(i) for i in found[0] if i >= 0]

    def relation(self, past: np.ndarray, items: np.ndarray) -> np.ndarray:
        """How related each past item (rows) is to each item (columns): the larger of their
        text cosine and their co-interaction similarity."""
        out = self.co_block(past, items)
        a, b = self.text_rows(past), self.text_rows(items)
        if a is not None and b is not None:
            out = np.maximum(out, a @ b.T)
        return out

    def co_block(self, past: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Co-interaction similarity of each past item (rows) to each item (columns)."""
        out = np.zeros((len(past), len(items)), np.float32)
        m = self.co
        if m is None or not len(past) or not len(items):
            return out
        rows = np.flatnonzero((past >= 0) & (past < m.shape[0]))
        cols = np.flatnonzero((items >= 0) & (items < m.shape[1]))
        if not len(rows) or not len(cols):
            return out
        # The past items' rows, then their entries looked up among the (sorted) items: cheaper
        # than scipy's column indexing, which walks the whole matrix's column space.
        sub = m[past[rows]]
        by = np.argsort(items[cols], kind="stable")
        wanted = items[cols][by]
        at = np.minimum(np.searchsorted(wanted, sub.indices), len(wanted) - 1)
        hit = wanted[at] == sub.indices
        row_of = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
        r, c = rows[row_of[hit]], cols[by[at[hit]]]
        out[r, c] = sub.data[hit]
        # An item listed twice among ``items`` gets its value in every column that holds it.
        if len(np.unique(wanted)) < len(wanted):
            out[:, cols] = out[:, cols[by[np.searchsorted(wanted, items[cols])]]]
        return out


def build_context(
    models: Mapping[str, Recommender],
    items: ItemArrays,
    similar: SimilarItems | None,
    type_names: tuple[str, ...],
    type_weights: Mapping[str, float],
    complements: Complements | None = None,
) -> RankingContext:
    """The context of a bundle's models over a catalogue: text and co-interaction come from
    the similar-items index (the same rows the engine keeps current as items arrive)."""
    text = similar.index.vectors if similar is not None and similar.has_text.any() else None
    return RankingContext(
        models=models,
        items=items,
        text=text,
        has_text=similar.has_text if similar is not None else None,
        co=similar.co_similarity if similar is not None else None,
        similar=similar,
        type_names=type_names,
        type_weights=type_weights,
        complements=complements,
    )
