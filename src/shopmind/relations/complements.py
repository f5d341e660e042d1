"""Complementary items: what shoppers go on to after an item — "goes with", not "looks like".

For items A and B, over distinct shoppers (:mod:`shopmind.relations.pairs`): the support (who
went on to B after choosing A), the confidence P(B | A) = support / shoppers anchored on A, and
the lift (confidence over B's share of all shoppers). A pair is kept with ``min_support``
shoppers and a lift above ``min_lift``; its strength is the confidence, shrunk towards zero
for rarely anchored items (``shrinkage`` pseudo-shoppers). Substitutes are rejected: an item in
the anchor's own leaf category (unless ``same_leaf``) and any item whose text is a near
duplicate of the anchor's (cosine ≥ ``substitute_cosine``).

An item with too few complements of its own (a new item, or a rarely bought one) is completed
through the category graph (:mod:`shopmind.relations.graph`): the categories its category
leads to, strongest edge first, and their most popular items. Every answer says which kind of
evidence it stands on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from shopmind.data.dataset import Dataset
from shopmind.models.base import sparse_from_state, sparse_state
from shopmind.relations.graph import CategoryGraph, category_of
from shopmind.relations.pairs import anchor_mask, follow_pairs, ordered

TextRows = Callable[[np.ndarray], "np.ndarray | None"]
#: An item's nearest items by text, nearest first.
Neighbours = Callable[[int], Sequence[int]]
#: A category-graph answer's score is below every item-level one: item scores are 1 + strength.
ITEM_TIER = 1.0


class RelationsConfig(BaseModel):
    """How complements and the category graph are mined (``TrainConfig.relations``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: A follower is at most this many events after the anchor ...
    window_events: int = Field(10, ge=1, le=100)
    #: ... and at most this many days after it (0: no time limit).
    window_days: float = Field(14.0, ge=0.0)
    #: A follower this soon after the anchor was bought with it and counts 1 ...
    session_minutes: float = Field(60.0, ge=0.0)
    #: ... one that came later ("bought after") counts this much.
    later_weight: float = Field(0.25, ge=0.0, le=1.0)
    #: Distinct shoppers a pair of items needs (weighted as above).
    min_support: float = Field(2.0, gt=0.0)
    #: Distinct shoppers a pair of categories needs (weighted as above).
    min_category_support: float = Field(3.0, gt=0.0)
    min_lift: float = Field(1.0, ge=0.0)
    #: Pseudo-shoppers added to an anchor's count: a pair seen 2 times in 2 is not certain.
    shrinkage: float = Field(2.0, ge=0.0)
    #: Complements kept per item.
    max_per_item: int = Field(50, ge=1, le=1000)
    #: Whether an item of the anchor's own leaf category can be its complement.
    same_leaf: bool = False
    #: Text cosine from which an item is a near duplicate (a substitute) of the anchor.
    substitute_cosine: float = Field(0.9, gt=0.0, le=1.0)
    #: Level of the path the category graph is drawn at (0: the leaf; 1: the top level).
    level: int = Field(0, ge=0)
    #: Weak language-model edges for a category with fewer behaviour edges than this.
    text_fill: int = Field(3, ge=0)


@dataclass
class Why:
    """What a complement stands on."""

    origin: str  # "bought with" or "category"
    support: float = 0.0
    anchored: int = 0
    lift: float = 0.0
    source_category: str = ""
    target_category: str = ""
    #: The source category is that of the anchor's nearest item by text (it has no links).
    borrowed: bool = False

    def sentence(self, anchor_title: str) -> str:
        if self.origin == "bought with":
            return (
                f"goes with {anchor_title}: {self.support:g} of {self.anchored} shoppers who "
                f"chose it went on to this (lift {self.lift:.1f})"
            )
        lift = f" (lift {self.lift:.1f})" if self.lift > 0 else ""
        source, target = self.source_category, self.target_category
        if self.borrowed:
            return (
                f"goes with {anchor_title}: items like it are in {source}, and shoppers there "
                f"go on to {target}{lift}"
            )
        return f"goes with {anchor_title}: shoppers in {source} go on to {target}{lift}"


@dataclass
class Complements:
    """Item → complementary items, and the category graph that completes them."""

    #: Items × items: the kept pairs' strength (shrunk confidence), support and lift.
    strength: sp.csr_matrix
    support: sp.csr_matrix
    lift: sp.csr_matrix
    anchored: np.ndarray
    graph: CategoryGraph
    config: RelationsConfig
    _cached: tuple[tuple[int, int], np.ndarray, np.ndarray] | None = field(
        default=None, init=False, repr=False
    )

    @classmethod
    def build(
        cls,
        data: Dataset,
        config: RelationsConfig | None = None,
        text: np.ndarray | None = None,
    ) -> Complements:
        """Mine a snapshot's histories (``text``: unit text vectors per item, or None)."""
        config = config or RelationsConfig()
        order = ordered(data)
        user, item, ts = data.user[order], data.item[order], data.timestamp[order]
        anchor = anchor_mask(data)[order]
        n = data.n_items
        window = (
            config.window_events,
            config.window_days,
            config.session_minutes,
            config.later_weight,
        )
        pairs = follow_pairs(user, item, ts, anchor, n, *window)
        paths = data.item_side.category
        share = pairs.engaged / max(pairs.n_users, 1)
        confidence = pairs.support / np.maximum(pairs.anchored[pairs.a], 1)
        lift = np.divide(
            confidence, share[pairs.b], out=np.zeros(len(pairs.a)), where=share[pairs.b] > 0
        )
        keep = (pairs.support >= config.min_support) & (lift > config.min_lift)
        keep &= ~_substitutes(pairs.a, pairs.b, paths, text, config)
        a, b = pairs.a[keep], pairs.b[keep]
        strength = pairs.support[keep] / (pairs.anchored[a] + config.shrinkage)
        matrices = _top_per_row(
            a, b, n, config.max_per_item, strength, pairs.support[keep], lift[keep]
        )
        # The category graph: the same pairs, coded by category.
        names = sorted({category_of(p, config.level) for p in paths} - {""})
        code = {c: i for i, c in enumerate(names)}
        item_cat = np.array([code.get(category_of(p, config.level), -1) for p in paths], np.int64)
        cat = np.where(item >= 0, item_cat[np.maximum(item, 0)], -1)
        cat_pairs = follow_pairs(user, cat, ts, anchor, len(names), *window)
        centroids = _centroids(item_cat, len(names), text)
        graph = CategoryGraph.build(
            cat_pairs,
            names,
            level=config.level,
            min_support=config.min_category_support,
            min_lift=config.min_lift,
            text=centroids,
            text_fill=config.text_fill,
        )
        return cls(*matrices, pairs.anchored, graph, config)

    @property
    def n_items(self) -> int:
        return int(self.strength.shape[0])

    def of(
        self,
        anchor: int,
        n: int,
        allowed: np.ndarray,
        paths: Sequence[tuple[str, ...]],
        popularity: np.ndarray,
        text: TextRows | None = None,
        neighbours: Neighbours | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The anchor's best ``n`` allowed complements (ids, scores), best first.

        ``paths`` and ``popularity`` cover the live catalogue (items added since training
        included); ``text`` gives items' unit text vectors (zero rows: none), to reject near
        duplicates among the category graph's answers; ``neighbours`` the anchor's nearest
        items by text, whose category stands in for the anchor's when that one (or its lack of
        one) leads nowhere.
        """
        ids: list[int] = []
        scores: list[float] = []
        if anchor < self.n_items:
            row = slice(self.strength.indptr[anchor], self.strength.indptr[anchor + 1])
            cols = self.strength.indices[row]
            vals = self.strength.data[row]
            ok = cols < len(allowed)
            cols, vals = cols[ok], vals[ok]
            ok = allowed[cols]
            cols, vals = cols[ok], vals[ok]
            best = np.lexsort((cols, -vals))[:n]
            ids = cols[best].astype(np.int64).tolist()
            scores = (ITEM_TIER + vals[best]).astype(np.float64).tolist()
        if len(ids) < n:
            more, more_scores = self._through_categories(
                anchor, n - len(ids), allowed, paths, popularity, text, set(ids), neighbours
            )
            ids += more
            scores += more_scores
        return np.asarray(ids, np.int64), np.asarray(scores, np.float32)

    def _through_categories(
        self,
        anchor: int,
        n: int,
        allowed: np.ndarray,
        paths: Sequence[tuple[str, ...]],
        popularity: np.ndarray,
        text: TextRows | None,
        taken: set[int],
        neighbours: Neighbours | None = None,
    ) -> tuple[list[int], list[float]]:
        if anchor >= len(paths):
            return [], []
        name, _ = self.leads_from(anchor, paths, neighbours)
        edges = self.graph.out_edges(name)
        if not edges:
            return [], []
        cat, leaf = self.codes(paths)
        allowed = allowed[: len(cat)]
        by_category = np.zeros(len(self.graph.names) + 1, np.float64)
        for e in edges:
            by_category[self.graph.index(e.target)] = e.strength
        size = len(allowed)
        strength = by_category[cat[:size]]  # -1 (no category) reads the trailing 0
        mask = (strength > 0) & allowed
        if not self.config.same_leaf and leaf[anchor] >= 0:
            mask &= leaf[:size] != leaf[anchor]
        if taken:
            mask[list(taken)] = False
        cand = np.flatnonzero(mask)
        vectors = text(np.r_[anchor, cand]) if text is not None and len(cand) else None
        if vectors is not None:
            cand = cand[vectors[1:] @ vectors[0] < self.config.substitute_cosine]
        if not len(cand):
            return [], []
        pop = popularity[cand] if len(popularity) >= len(allowed) else np.zeros(len(cand))
        # Strongest edge first; within a category, the most popular; the score says both.
        score = strength[cand] * (pop + 1.0) / (pop.max() + 1.0)
        best = np.lexsort((cand, -score))[:n]
        return cand[best].tolist(), score[best].astype(np.float64).tolist()

    def codes(self, paths: Sequence[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
        """Each item's graph category and leaf, as codes (-1: none), once per catalogue."""
        key = (id(paths), len(paths))
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1], self._cached[2]
        level, leaves = self.graph.level, dict[tuple[str, ...], int]()
        cat = np.array([self.graph.index(category_of(p, level)) for p in paths], np.int64)
        leaf = np.array([leaves.setdefault(tuple(p), len(leaves)) if p else -1 for p in paths])
        self._cached = (key, cat, leaf.astype(np.int64))
        return cat, self._cached[2]

    def leads_from(
        self,
        anchor: int,
        paths: Sequence[tuple[str, ...]],
        neighbours: Neighbours | None = None,
    ) -> tuple[str, bool]:
        """The category whose links the anchor's answers follow, and whether it is borrowed:
        its own when that has links, else that of its nearest item by text that has."""
        level = self.graph.level
        own = category_of(paths[anchor], level) if anchor < len(paths) else ""
        if self.graph.out_edges(own) or neighbours is None:
            return own, False
        for other in neighbours(anchor):
            if 0 <= other < len(paths) and other != anchor:
                name = category_of(paths[other], level)
                if name and self.graph.out_edges(name):
                    return name, True
        return own, False

    def why(
        self,
        anchor: int,
        item: int,
        paths: Sequence[tuple[str, ...]],
        neighbours: Neighbours | None = None,
    ) -> Why:
        """What the complement ``item`` of ``anchor`` stands on."""
        if anchor < self.n_items and item < self.n_items:
            support = round(float(self.support[anchor, item]), 2)
            if support > 0:
                return Why(
                    "bought with",
                    support,
                    int(self.anchored[anchor]),
                    float(self.lift[anchor, item]),
                )
        source, borrowed = self.leads_from(anchor, paths, neighbours)
        target = category_of(paths[item], self.graph.level) if item < len(paths) else ""
        edge = next((e for e in self.graph.out_edges(source) if e.target == target), None)
        return Why("category", 0, 0, edge.lift if edge else 0.0, source, target, borrowed)

    # --- a bundle's relations/ folder -------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(
            folder / "complements.npz",
            anchored=self.anchored,
            **sparse_state("strength", self.strength),  # type: ignore[arg-type]
            **sparse_state("support", self.support),  # type: ignore[arg-type]
            **sparse_state("lift", self.lift),  # type: ignore[arg-type]
        )
        self.graph.save(folder / "graph.json")
        (folder / "relations.json").write_text(json.dumps(self.config.model_dump()) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Complements:
        with np.load(folder / "complements.npz", allow_pickle=False) as arrays:
            state: dict[str, Any] = {k: arrays[k] for k in arrays.files}
        config = RelationsConfig.model_validate_json((folder / "relations.json").read_text())
        return cls(
            sparse_from_state("strength", state),
            sparse_from_state("support", state),
            sparse_from_state("lift", state),
            state["anchored"],
            CategoryGraph.load(folder / "graph.json"),
            config,
        )


def _substitutes(
    a: np.ndarray,
    b: np.ndarray,
    paths: Sequence[tuple[str, ...]],
    text: np.ndarray | None,
    config: RelationsConfig,
) -> np.ndarray:
    """Which pairs are look-alikes: the same leaf (unless allowed), or near-duplicate text."""
    out = np.zeros(len(a), bool)
    if not config.same_leaf:
        leaf: dict[tuple[str, ...], int] = {}
        code = np.array([leaf.setdefault(tuple(p), len(leaf)) if p else -1 for p in paths])
        if len(code):
            out |= (code[a] == code[b]) & (code[a] >= 0)
    if text is not None and len(a):
        rows = min(len(text), len(paths))
        inside = (a < rows) & (b < rows)
        cosine = np.zeros(len(a), np.float32)
        idx = np.flatnonzero(inside)
        for start in range(0, len(idx), 200_000):  # bounded memory on big catalogues
            part = idx[start : start + 200_000]
            cosine[part] = np.einsum("ij,ij->i", text[a[part]], text[b[part]])
        out |= cosine >= config.substitute_cosine
    return out


def _top_per_row(
    a: np.ndarray,
    b: np.ndarray,
    n: int,
    keep: int,
    strength: np.ndarray,
    support: np.ndarray,
    lift: np.ndarray,
) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """The ``keep`` strongest pairs per anchor, as three CSR matrices of the same pattern."""
    order = np.lexsort((b, -strength, a))
    a, b = a[order], b[order]
    strength, support, lift = strength[order], support[order], lift[order]
    starts = np.r_[0, np.flatnonzero(np.diff(a)) + 1] if len(a) else np.zeros(0, np.int64)
    rank = np.arange(len(a)) - np.repeat(starts, np.diff(np.r_[starts, len(a)]))
    ok = rank < keep
    a, b = a[ok], b[ok]

    def matrix(values: np.ndarray) -> sp.csr_matrix:
        m = sp.csr_matrix((values[ok].astype(np.float32), (a, b)), shape=(n, n))
        m.sort_indices()
        return m

    return matrix(strength), matrix(support), matrix(lift)


def _centroids(item_cat: np.ndarray, n: int, text: np.ndarray | None) -> np.ndarray | None:
    """Each category's mean unit text vector (zero rows: no text)."""
    if text is None or not n:
        return None
    rows = min(len(text), len(item_cat))
    known = np.flatnonzero(item_cat[:rows] >= 0)
    out = np.zeros((n, text.shape[1]), np.float32)
    np.add.at(out, item_cat[known], text[known])
    return out
