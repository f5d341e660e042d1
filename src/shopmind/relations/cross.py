"""Across categories: which new categories a shopper's history leads to, by the category graph.

A shopper's categories are those of their history items at the graph's level. Every other
category is "new" to them; it is *linked* when an edge of the graph leads to it from one of
theirs. An item's linked strength is the sum, over the shopper's categories c, of c's weight in
the history (its share of the weighted events) times the edge c → the item's category, the
merchandiser's transitions permitting. The cross-category placement serves only linked items
(the allowed stage), and its ``linked`` source proposes the strongest of them, the most
popular of each category first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from shopmind.relations.complements import Complements


def history_categories(
    found: Complements,
    paths: Sequence[tuple[str, ...]],
    items: np.ndarray,
    weights: np.ndarray,
) -> dict[int, float]:
    """The shopper's categories (graph codes) and each one's share of their weighted events."""
    cat, _ = found.codes(paths)
    known = (items >= 0) & (items < len(cat))
    codes = cat[items[known]]
    w = np.asarray(weights, np.float64)[known]
    out: dict[int, float] = {}
    for c, x in zip(codes.tolist(), w.tolist(), strict=True):
        if c >= 0:
            out[c] = out.get(c, 0.0) + max(x, 0.0)
    total = sum(out.values())
    return {c: x / total for c, x in out.items()} if total > 0 else dict.fromkeys(out, 1.0)


def linked_strength(
    found: Complements,
    paths: Sequence[tuple[str, ...]],
    mine: Mapping[int, float],
    permits: Permits | None = None,
) -> tuple[np.ndarray, dict[int, tuple[int, float]]]:
    """Per item, its linked strength (0: not linked, or one of the shopper's own categories),
    and per linked category, the shopper's category that leads there most and how strongly."""
    graph = found.graph
    cat, _ = found.codes(paths)
    per_category = np.zeros(len(graph.names) + 1, np.float64)  # the last: no category
    best: dict[int, tuple[int, float]] = {}
    for c, share in mine.items():
        for edge in graph.edges.get(c, []):
            target = graph.index(edge.target)
            if target < 0 or target in mine:
                continue
            if permits is not None and not permits.allows(graph.names[c], edge.target):
                continue
            value = share * edge.strength
            per_category[target] += value
            if value > best.get(target, (-1, 0.0))[1]:
                best[target] = (c, value)
    return per_category[cat], best


class Permits:
    """The merchandiser's allowed and blocked category transitions (``RuleSet.transitions``),
    matched on any level of either category's path."""

    def __init__(
        self, allow: Sequence[tuple[str, str]] = (), block: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.allow = [(a.casefold(), b.casefold()) for a, b in allow]
        self.block = [(a.casefold(), b.casefold()) for a, b in block]

    def __bool__(self) -> bool:
        return bool(self.allow or self.block)

    @staticmethod
    def _matches(pattern: str, category: str) -> bool:
        return pattern in (level.strip().casefold() for level in category.split(">"))

    def allows(self, source: str, target: str) -> bool:
        def hit(pairs: list[tuple[str, str]]) -> bool:
            return any(self._matches(a, source) and self._matches(b, target) for a, b in pairs)

        if hit(self.block):
            return False
        return not self.allow or hit(self.allow)

    def targets(self, found: Complements, source: str) -> np.ndarray:
        """Per graph category (and a last entry for "none"), whether ``source`` may lead there."""
        names = found.graph.names
        return np.array([self.allows(source, n) for n in names] + [True], bool)
