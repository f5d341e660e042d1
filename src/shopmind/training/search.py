"""The bundle's search: both indexes over the training catalogue, settings chosen on validation.

Validation queries come from the validation purchases (:mod:`shopmind.search.queries`): for
each, the purchased item's category-path query (ambiguous: a whole shelf matches) and a
title-words query (specific), the shopper's history before it as the context. Every
candidate setting is scored by NDCG@10 of the purchased item over the same candidates:

1. the fusion — lexical only, semantic only, reciprocal-rank fusion, blends of both — with no
   personalisation; the best on both kinds of query together is kept;
2. then the personal weight (0 … 2), whether it scales with the query's ambiguity, and the
   profile's share of the personal score.

The candidates of each query (both sides' proposals, the personal parts) are computed once by
the served pipeline and every setting ranks them with the served functions, so the choice
costs one retrieval per query; the chosen settings are then run through the whole pipeline
and the figures recorded in the bundle (``search/settings.json`` → ``chosen``).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shopmind.data.dataset import Dataset
from shopmind.data.idmap import IdMap
from shopmind.data.split import EvalSet
from shopmind.evaluation.search import evaluate_search, search_rows
from shopmind.models.base import Recommender
from shopmind.ranking.context import RankingContext
from shopmind.ranking.rules import RuleSet
from shopmind.ranking.search import SearchPipeline, model_affinity, profile_affinity, spelled
from shopmind.ranking.slate import Slate
from shopmind.search.fusion import SearchSettings, personal_weight, relevance
from shopmind.search.index import SearchIndex
from shopmind.text.encoder import EncoderSettings, catalogue_encoder
from shopmind.training.config import SearchConfig

log = logging.getLogger(__name__)

#: Fusion settings compared (personalisation off).
FUSIONS: tuple[dict[str, Any], ...] = (
    {"fusion": "blend", "lexical_weight": 1.0},
    {"fusion": "blend", "lexical_weight": 0.0},
    {"fusion": "rrf"},
    {"fusion": "blend", "lexical_weight": 0.75},
    {"fusion": "blend", "lexical_weight": 0.5},
    {"fusion": "blend", "lexical_weight": 0.25},
)
PERSONAL_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
PROFILE_SHARES = (0.0, 0.3)
K = 10
#: Validation queries asked whatever the time (fewer cannot tell settings apart).
MIN_QUERIES = 100


@dataclass
class _Candidates:
    """One validation query's candidates, as every setting ranks them."""

    kind: str
    items: np.ndarray
    target: int  # position of the target among the candidates, -1 when not one
    lexical: tuple[np.ndarray, np.ndarray]
    semantic: tuple[np.ndarray, np.ndarray]
    models: np.ndarray
    profile: np.ndarray
    personal: bool  # the shopper has a usable history


def encoder_of(models: Mapping[str, Recommender], titles: Sequence[str]) -> EncoderSettings:
    """The encoder the bundle's text models use (so the embedding cache is shared), else the
    one for this catalogue's language."""
    for model in models.values():
        found = getattr(model, "encoder", None) if model.capabilities.takes_new_items else None
        if isinstance(found, EncoderSettings):
            return found
    return catalogue_encoder(titles)


def fit_search(
    train: Dataset,
    valid: EvalSet | None,
    ctx: RankingContext,
    ids: IdMap,
    weights: Mapping[str, float],
    config: SearchConfig,
    *,
    seed: int = 0,
    seconds: float = 120.0,
) -> SearchIndex:
    """The search index over the training catalogue with settings chosen on ``valid``, within
    about ``seconds`` for the validation queries (at least :data:`MIN_QUERIES` of them)."""
    start = time.perf_counter()
    side = train.item_side
    index = SearchIndex.build(side, encoder_of(ctx.models, side.title), semantic=config.semantic)
    sides = ("lexical", "semantic") if index.semantic is not None else ("lexical",)
    base = SearchSettings(sides=sides, per_source=config.per_source)
    index.settings = base
    if valid is None or not len(valid):
        index.chosen = {"validated": False}
        return index
    pipeline = SearchPipeline(index, weights, RuleSet())
    rng = np.random.default_rng(seed)
    rows = valid.take(np.sort(rng.permutation(len(valid))[: config.validation_queries]))
    found: list[_Candidates] = []
    counts: dict[str, int] = {}
    asked = {
        kind: search_rows(rows, side, ctx.type_names, K, kind=kind, seed=seed)
        for kind in ("category", "title")
    }
    if index.semantic is not None:  # every query encoded in batches first
        texts = [spelled(pipeline.interpret(r.query, ctx)[0]) for q, _ in asked.values() for r in q]
        index.semantic.prime(texts)
    widest = base.model_copy(update={"personal": 1.0})
    # The two kinds in turn, until the queries or the time run out.
    deadline = time.perf_counter() + seconds
    order = [(kind, r) for r in range(len(rows)) for kind in asked if r < len(asked[kind][0])]
    for kind, r in order:
        if time.perf_counter() > deadline and len(found) >= MIN_QUERIES:
            break
        requests, kept = asked[kind]
        request = requests[r]
        counts[kind] = counts.get(kind, 0) + 1
        slate, _ = pipeline.candidates(request, ctx, ids, widest)
        targets = kept.targets
        target = int(targets.indices[targets.indptr[r]])
        hit = np.flatnonzero(slate.items == target)
        personal = bool(len(slate.items)) and bool((request.history.items >= 0).any())
        found.append(
            _Candidates(
                kind,
                slate.items,
                int(hit[0]) if len(hit) else -1,
                _side(slate, "lexical"),
                _side(slate, "semantic"),
                model_affinity(slate, ctx, weights) if personal else np.zeros(0),
                profile_affinity(slate, ctx) if personal else np.zeros(0),
                personal,
            )
        )
    if not found:
        index.chosen = {"validated": False, "reason": "no validation purchase has a query"}
        return index
    fusion_scores: dict[str, dict[str, float]] = {}
    best_fusion, best_value = base, -1.0
    for point in FUSIONS:
        if "semantic" not in sides and point.get("lexical_weight", 0.5) < 1.0:
            continue
        cfg = base.model_copy(update={**point, "personal": 0.0})
        value = _ndcg(found, cfg)
        fusion_scores[_name(point)] = value
        if value["all"] > best_value + 1e-9:
            best_fusion, best_value = cfg, value["all"]
    personal_scores: dict[str, dict[str, float]] = {}
    best, best_value = best_fusion, _ndcg(found, best_fusion)["all"]
    for weight, adaptive, share in itertools.product(
        PERSONAL_WEIGHTS[1:], (True, False), PROFILE_SHARES
    ):
        cfg = best_fusion.model_copy(
            update={"personal": weight, "adaptive": adaptive, "profile_share": share}
        )
        value = _ndcg(found, cfg)
        personal_scores[f"w={weight} adaptive={adaptive} profile={share}"] = value
        if value["all"] > best_value + 1e-9:
            best, best_value = cfg, value["all"]
    index.settings = best
    # The chosen settings through the whole served pipeline, on the category queries asked
    # (the title queries for a catalogue without category paths).
    kind = "category" if counts.get("category") else "title"
    requests, kept = asked[kind]
    n = counts.get(kind, 0)
    served = evaluate_search(
        pipeline, ctx, ids, requests[:n], kept.take(np.arange(n)), (K,)
    ).metrics
    index.chosen = {
        "queries": counts,
        "fusion_ndcg@10": fusion_scores,
        "personal_ndcg@10": personal_scores,
        "served": {k: round(v, 4) for k, v in served.items()} | {"queries": kind},
        "seconds": round(time.perf_counter() - start, 1),
    }
    log.info("search: %s (validation ndcg@10 %.4f)", best.model_dump(), best_value)
    return index


def _side(slate: Slate, name: str) -> tuple[np.ndarray, np.ndarray]:
    column = slate.sources.get(name)
    n = len(slate.items)
    if column is None:
        return np.full(n, np.nan, np.float32), np.full(n, -1, np.int32)
    return column.score, column.rank


def _name(point: Mapping[str, Any]) -> str:
    if point["fusion"] == "rrf":
        return "rrf"
    w = point["lexical_weight"]
    return {1.0: "lexical", 0.0: "semantic"}.get(w, f"blend {w}")


def _ndcg(found: list[_Candidates], cfg: SearchSettings) -> dict[str, float]:
    """Mean NDCG@10 of the targets over all queries and by kind under ``cfg``."""
    by_kind: dict[str, list[float]] = {}
    for c in found:
        gain = 0.0
        if c.target >= 0:
            rel, _, _ = relevance(*c.lexical, *c.semantic, cfg)
            score = rel
            if c.personal and cfg.personal > 0:
                weight = personal_weight(cfg, rel)
                mix = (1.0 - cfg.profile_share) * c.models + cfg.profile_share * c.profile
                score = rel + weight * mix
            order = np.lexsort((c.items, -score))[:K]
            where = np.flatnonzero(order == c.target)
            if len(where):
                gain = 1.0 / np.log2(where[0] + 2.0)
        by_kind.setdefault(c.kind, []).append(gain)
    out = {kind: round(float(np.mean(v)), 4) for kind, v in by_kind.items()}
    out["all"] = round(float(np.mean([g for v in by_kind.values() for g in v])), 5)
    return out
