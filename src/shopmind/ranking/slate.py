"""One request's candidates as they pass through the stages, and what each stage did to them.

A :class:`Slate` starts as a :class:`Request` (whose history, how many items, which
placement) and is filled in by the stages of a :class:`~shopmind.ranking.pipeline.Pipeline`:
which items may be served, each candidate source's proposals with its score and rank, the
features, the scorer's score, what the rules and diversity moved, the served list and an
explanation per served item. Every stage that removes or moves a candidate writes a
:class:`Step` into ``trace``, so explanations and "why not item Z" are read off the slate
instead of being computed a second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from shopmind.data.filters import ItemFilter
from shopmind.data.histories import Histories
from shopmind.search.query import Interpretation

Placement = Literal["for_you", "similar", "complementary", "cross_category", "search"]


@dataclass(frozen=True)
class Exclusion:
    """Which of the shopper's own items a placement never shows.

    ``purchased``: items they bought; ``seen``: every item of their history (the S3-Rec
    protocol, and ``exclude=seen`` in the API); ``recent``: the items of their last
    ``recent`` events whatever the type (None: the placement's rule — "recommended for you"
    does not lead with the product just viewed).
    """

    purchased: bool = True
    seen: bool = False
    recent: int | None = None

    @classmethod
    def named(cls, name: str) -> Exclusion:
        """The API's ``exclude=purchased|seen|none`` (none: nothing of the shopper's own is
        left out, not even what they just viewed)."""
        if name == "seen":
            return cls(purchased=True, seen=True)
        if name == "none":
            return cls(purchased=False, seen=False, recent=0)
        if name == "purchased":
            return cls(purchased=True)
        raise ValueError(f"exclude={name!r}: choose purchased, seen or none")


@dataclass(frozen=True)
class Request:
    """What is asked: for whom (their history, oldest first), how many, where it is shown."""

    history: Histories  # one row
    kinds: tuple[str, ...]  # the event type of each history event
    k: int
    user_id: str | None = None
    placement: Placement = "for_you"
    filters: ItemFilter | None = None
    exclusion: Exclusion = Exclusion()
    #: The item a "similar items" slate is about (never served in it).
    anchor: int | None = None
    #: Items the caller excludes besides the policy (e.g. purchases older than the window).
    also_excluded: tuple[int, ...] = ()
    #: What the shopper typed (the search placement).
    query: str = ""


@dataclass(frozen=True)
class Step:
    """One thing a stage did to one item: removed, moved or marked it, and why."""

    stage: str
    item: int
    action: str  # e.g. "excluded", "filtered", "capped", "collapsed", "boosted", "pinned"
    why: str
    value: float | None = None


@dataclass
class SourceColumn:
    """A candidate source's view of the candidates (aligned with ``Slate.items``)."""

    #: The source's raw score of every candidate (NaN where it cannot score it).
    score: np.ndarray
    #: Rank (0 = best) among the source's own proposals; -1 where it did not propose it.
    rank: np.ndarray


@dataclass
class Explanation:
    """Why an item is served: a machine-readable account and one true sentence."""

    sources: dict[str, float]  # source -> its share of the score (sums to 1 over sources)
    because: list[str]  # item ids of the history items behind it, strongest first
    category: str | None  # the category that explains it when no history item does
    rules: list[str]  # the rules that moved it
    sentence: str

    def to_json(self) -> dict[str, Any]:
        return {
            "sources": {k: round(v, 4) for k, v in self.sources.items()},
            "because": self.because,
            "category": self.category,
            "rules": self.rules,
            "sentence": self.sentence,
        }


@dataclass
class Slate:
    """One request's candidates, filled in stage by stage."""

    request: Request
    n_items: int
    #: Items that may be served (filters passed, not excluded, not deleted).
    allowed: np.ndarray | None = None
    #: Items the filters rejected (for "why not"), and items excluded by reason.
    filtered: np.ndarray | None = None
    excluded: dict[str, np.ndarray] = field(default_factory=dict)
    #: The candidates (item indices), and each source's scores and ranks over them.
    items: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sources: dict[str, SourceColumn] = field(default_factory=dict)
    features: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()
    #: The scorer's score of each candidate (higher first).
    score: np.ndarray | None = None
    #: Positions into ``items`` in served order (after rules and diversity), then the cut.
    order: np.ndarray | None = None
    served: np.ndarray | None = None
    #: Why the list is what it is when it is a fallback or empty.
    reason: str | None = None
    #: Names of the sources that produced the served list when a fallback took over.
    fallback: str | None = None
    trace: list[Step] = field(default_factory=list)
    #: Rule names that moved each candidate position.
    ruled: dict[int, list[str]] = field(default_factory=dict)
    #: Pinned candidates: position in ``items`` -> the served position it takes.
    pins: dict[int, int] = field(default_factory=dict)
    explanations: list[Explanation] = field(default_factory=list)
    #: Cross-category placement: each item's linked strength from the shopper's categories,
    #: and per linked category (graph code) the shopper's category leading there.
    linked: np.ndarray | None = None
    linked_from: dict[int, tuple[int, float]] = field(default_factory=dict)
    #: The linked source's score of every item (``linked`` weighted by popularity).
    linked_score: np.ndarray | None = None
    #: The search placement: how the query was read, and each part of the score (lexical,
    #: semantic, personal) per candidate.
    interpretation: Interpretation | None = None
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    #: Per-stage seconds (the engine's timing of its own stages).
    timings: dict[str, float] = field(default_factory=dict)

    def note(
        self, stage: str, item: int, action: str, why: str, value: float | None = None
    ) -> None:
        """Record what ``stage`` did to ``item``."""
        self.trace.append(Step(stage, int(item), action, why, value))

    @property
    def served_items(self) -> np.ndarray:
        """The served item indices, best first."""
        if self.served is None:
            return np.zeros(0, np.int64)
        served: np.ndarray = self.items[self.served]
        return served

    def position(self, item: int) -> int:
        """The item's position in ``items`` (-1 when it is not a candidate)."""
        hit = np.flatnonzero(self.items == item)
        return int(hit[0]) if len(hit) else -1
