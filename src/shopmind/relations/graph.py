"""The category graph: which categories shoppers go on to from which, learned from histories.

Nodes are the categories at a configurable level of the path (``level`` 0: the leaf; 1: the
top level; 2: its children, and so on). A directed edge A → B carries, over distinct shoppers,
the support (shoppers who went on to B after an anchor in A), the confidence P(B | A) and the
lift (confidence over B's share of all shoppers), so big categories do not lead everywhere.
Edges need ``min_support`` shoppers and a lift above ``min_lift``. A category with fewer than
``text_fill`` such edges gets its nearest categories by the language model (the cosine of
its items' mean text vector) as weak edges marked ``"text"``, so a sparse or new category
still leads somewhere; they never outrank a behaviour edge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.relations.pairs import FollowPairs

#: Below every behaviour edge: a text edge's strength is its cosine times this.
TEXT_EDGE_SCALE = 1e-3


def category_of(path: tuple[str, ...] | list[str], level: int) -> str:
    """The category an item's path names at ``level`` ("" when it has none)."""
    if not path:
        return ""
    parts = tuple(path) if level <= 0 else tuple(path)[:level]
    return " > ".join(parts)


@dataclass
class Edge:
    source: str
    target: str
    support: float
    confidence: float
    lift: float
    origin: str  # "behaviour" or "text"

    @property
    def strength(self) -> float:
        if self.origin == "text":
            return self.confidence * TEXT_EDGE_SCALE
        return self.confidence


@dataclass
class CategoryGraph:
    """Directed category → category edges at one level of the path."""

    level: int
    names: list[str]
    #: Shoppers with an anchor in each category, and with any event in it.
    anchored: np.ndarray
    engaged: np.ndarray
    #: Per category (index into ``names``), its out-edges, strongest first.
    edges: dict[int, list[Edge]]

    @classmethod
    def build(
        cls,
        pairs: FollowPairs,
        names: list[str],
        *,
        level: int,
        min_support: float,
        min_lift: float,
        text: np.ndarray | None = None,
        text_fill: int = 3,
    ) -> CategoryGraph:
        """From category-level follow pairs (``pairs`` coded by category index)."""
        share = pairs.engaged / max(pairs.n_users, 1)
        out: dict[int, list[Edge]] = {}
        for a, b, s in zip(pairs.a.tolist(), pairs.b.tolist(), pairs.support.tolist(), strict=True):
            if not names[a] or not names[b] or s < min_support:
                continue
            confidence = s / max(int(pairs.anchored[a]), 1)
            lift = float(confidence / share[b]) if share[b] > 0 else 0.0
            if lift <= min_lift:
                continue
            out.setdefault(a, []).append(
                Edge(
                    names[a],
                    names[b],
                    round(s, 2),
                    round(confidence, 6),
                    round(lift, 4),
                    "behaviour",
                )
            )
        if text is not None and text_fill > 0:
            _fill_from_text(out, names, text, text_fill)
        for edges in out.values():
            edges.sort(key=lambda e: (-e.strength, -e.lift, e.target))
        return cls(level, names, pairs.anchored, pairs.engaged, out)

    def __post_init__(self) -> None:
        self._index = {n: i for i, n in enumerate(self.names)}

    def index(self, name: str) -> int:
        return self._index.get(name, -1)

    def out_edges(self, name: str, limit: int | None = None) -> list[Edge]:
        found = self.edges.get(self.index(name), [])
        return found if limit is None else found[:limit]

    def strongest(self, limit: int = 30) -> list[Edge]:
        """The strongest behaviour edges of the whole graph (what the dashboard draws)."""
        every = [e for edges in self.edges.values() for e in edges if e.origin == "behaviour"]
        return sorted(every, key=lambda e: (-e.lift * np.log1p(e.support), e.source))[:limit]

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "names": self.names,
            "anchored": self.anchored.tolist(),
            "engaged": self.engaged.tolist(),
            "edges": {
                str(a): [[e.target, e.support, e.confidence, e.lift, e.origin] for e in edges]
                for a, edges in self.edges.items()
            },
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CategoryGraph:
        names = list(raw["names"])
        edges = {
            int(a): [
                Edge(names[int(a)], t, float(s), float(c), float(lift), o)
                for t, s, c, lift, o in es
            ]
            for a, es in raw["edges"].items()
        }
        return cls(
            int(raw["level"]),
            names,
            np.asarray(raw["anchored"], np.int64),
            np.asarray(raw["engaged"], np.int64),
            edges,
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json()) + "\n")

    @classmethod
    def load(cls, path: Path) -> CategoryGraph:
        return cls.from_json(json.loads(path.read_text()))


def _fill_from_text(
    out: dict[int, list[Edge]], names: list[str], text: np.ndarray, fill: int
) -> None:
    """Weak text edges for the categories with fewer than ``fill`` behaviour edges."""
    norms = np.linalg.norm(text, axis=1)
    known = np.flatnonzero((norms > 0) & np.array([bool(n) for n in names]))
    if len(known) < 2:
        return
    unit = text[known] / norms[known][:, None]
    cosine = unit @ unit.T
    np.fill_diagonal(cosine, -np.inf)
    for row, a in enumerate(known.tolist()):
        have = out.setdefault(a, [])
        if len(have) >= fill:
            continue
        linked = {e.target for e in have}
        for col in np.argsort(-cosine[row]).tolist():
            b = int(known[col])
            if len(have) >= fill or not np.isfinite(cosine[row, col]):
                break
            if names[b] in linked or cosine[row, col] <= 0:
                continue
            cos = round(float(cosine[row, col]), 6)
            have.append(Edge(names[a], names[b], 0.0, cos, 0.0, "text"))
