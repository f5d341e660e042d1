"""Relevance from the lexical and semantic sides, and how much a query is personalised.

- **Fusion.** Reciprocal-rank fusion (``1/(k + rank)`` summed over the sides that ranked the
  item, k = 60) or a blend of the two sides' scores (``w·lexical + (1 - w)·semantic``, BM25
  as a share of the best candidate's, so an item no query word matches has 0; the cosine
  min-max normalised over the candidates); training chooses the method and ``w`` on validation
  queries. Either is scaled so the best candidate has relevance 1.
- **How much to personalise.** A specific query ("nikara retro mirrorless camera l30") has one
  clear best match; an ambiguous one ("camera") has many near the top. The query's
  *ambiguity* is the mean relevance of its next best candidates after the first
  (:data:`AMBIGUITY_DEPTH` of them): near 0 when one item stands out, near 1 when a whole
  shelf ties. The personal score then weighs ``personal × ambiguity`` (``adaptive``) or
  ``personal`` on every query; both, and the weights, are chosen on validation.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

#: Candidates after the best whose relevance measures a query's ambiguity.
AMBIGUITY_DEPTH = 9


class SearchSettings(BaseModel):
    """How a bundle's search ranks (chosen on validation queries at training)."""

    model_config = ConfigDict(extra="forbid")

    fusion: Literal["rrf", "blend"] = "rrf"
    rrf_k: int = Field(60, ge=1)
    #: The lexical side's weight in the blend (1 - it: the semantic side's).
    lexical_weight: float = Field(0.5, ge=0.0, le=1.0)
    #: Weight of the personal score (0: no personalisation).
    personal: float = Field(0.5, ge=0.0)
    #: Share of the personal score from the profile's affinities (brand, category, price
    #: band) rather than the bundle's models.
    profile_share: float = Field(0.0, ge=0.0, le=1.0)
    #: Scale the personal weight by the query's ambiguity.
    adaptive: bool = True
    #: Candidates each side proposes.
    per_source: int = Field(100, ge=1, le=1000)
    #: Which sides retrieve (a bundle without text vectors has the lexical side only).
    sides: tuple[str, ...] = ("lexical", "semantic")


def _norm(score: np.ndarray) -> np.ndarray:
    s = np.where(np.isfinite(score), score, np.nan)
    if not np.isfinite(s).any():
        return np.zeros(len(s), np.float64)
    low, high = float(np.nanmin(s)), float(np.nanmax(s))
    span = high - low if high > low else 1.0
    return np.where(np.isfinite(s), (s - low) / span, 0.0)


def relevance(
    lexical: np.ndarray,
    lexical_rank: np.ndarray,
    semantic: np.ndarray,
    semantic_rank: np.ndarray,
    settings: SearchSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(relevance scaled to a best of 1, the lexical part, the semantic part) per candidate.

    Ranks are 0-based among each side's own proposals, -1 where the side did not propose the
    candidate; scores are NaN where a side cannot score it. A lexical score of 0 (no query
    word in the item) counts as no evidence.
    """
    lex = np.where(lexical > 0, lexical, np.nan)
    if settings.fusion == "rrf":
        k = float(settings.rrf_k)
        lex_part = np.where(lexical_rank >= 0, 1.0 / (k + lexical_rank + 1), 0.0)
        sem_part = np.where(semantic_rank >= 0, 1.0 / (k + semantic_rank + 1), 0.0)
        if "semantic" not in settings.sides:
            sem_part = np.zeros(len(sem_part))
        if "lexical" not in settings.sides:
            lex_part = np.zeros(len(lex_part))
    else:
        w = settings.lexical_weight if "semantic" in settings.sides else 1.0
        w = w if "lexical" in settings.sides else 0.0
        best = float(np.nanmax(lex)) if np.isfinite(lex).any() else 0.0
        lex_part = w * np.where(np.isfinite(lex), lex / best if best > 0 else 0.0, 0.0)
        sem_part = (1.0 - w) * _norm(semantic)
    total = lex_part + sem_part
    top = float(total.max()) if len(total) else 0.0
    scale = 1.0 / top if top > 0 else 0.0
    return total * scale, lex_part * scale, sem_part * scale


def ambiguity(rel: np.ndarray) -> float:
    """Mean relevance of the candidates after the best (see the module's docstring)."""
    if len(rel) < 2:
        return 0.0
    ordered = np.sort(rel)[::-1]
    return float(np.clip(ordered[1 : 1 + AMBIGUITY_DEPTH].mean(), 0.0, 1.0))


def personal_weight(settings: SearchSettings, rel: np.ndarray) -> float:
    """The weight the personal score gets on this query."""
    if settings.personal <= 0:
        return 0.0
    return settings.personal * (ambiguity(rel) if settings.adaptive else 1.0)


def normalised(score: np.ndarray) -> np.ndarray:
    """Min-max over the candidates to [0, 1]; unknown (NaN) gives 0."""
    return _norm(np.asarray(score, np.float64))
