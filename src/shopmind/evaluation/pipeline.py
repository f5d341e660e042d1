"""Evaluating what is served: a pipeline's served lists for held-out rows, scored.

Each row (a shopper's history before a target) becomes the Request the engine would make for
"recommended for you", runs through the very stages the engine runs (exclusion, filters,
sources, features, scorer, rules, diversity, top-k, fallback), and its target is looked up
in the served list: an item not served ranks after every served one. Full ranking still
holds — every item of the catalogue could have been served.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shopmind.data.histories import kinds_of
from shopmind.data.idmap import IdMap
from shopmind.data.split import EvalSet
from shopmind.evaluation.evaluator import EvalResult, result_of_ranks
from shopmind.ranking.context import RankingContext
from shopmind.ranking.pipeline import Pipeline
from shopmind.ranking.slate import Placement, Request, Slate


def requests_for(
    rows: EvalSet, type_names: Sequence[str], k: int, placement: Placement = "for_you"
) -> list[Request]:
    """Each row's Request of a shopper's list (``placement``), as the engine would build it."""
    kinds = kinds_of(rows.histories, type_names)
    return [
        Request(history=rows.histories.take([r]), kinds=kinds[r], k=k, placement=placement)
        for r in range(len(rows))
    ]


def served_lists(
    pipeline: Pipeline,
    ctx: RankingContext,
    ids: IdMap,
    rows: EvalSet,
    k: int,
    placement: Placement = "for_you",
) -> list[np.ndarray]:
    """The served item indices of every row, best first (at most k each)."""
    slates = pipeline.run_batch(requests_for(rows, ctx.type_names, k, placement), ctx, ids)
    return [s.served_items for s in slates]


def score_served(
    served: Sequence[np.ndarray],
    rows: EvalSet,
    ks: tuple[int, ...],
    *,
    bootstrap: int = 0,
    seed: int = 0,
) -> EvalResult:
    """Metrics of served lists against the rows' targets (full ranking: a target not served
    ranks after all of them)."""
    n_rows, n_items = rows.targets.shape
    targets = rows.targets.tocsr()
    ranks = np.full(targets.nnz, n_items, np.int64)
    covered = np.zeros(n_items, dtype=bool)
    for r in range(n_rows):
        listed = served[r]
        covered[listed[listed >= 0]] = True
        where = {int(item): rank for rank, item in enumerate(listed.tolist())}
        start, stop = targets.indptr[r], targets.indptr[r + 1]
        for p in range(start, stop):
            ranks[p] = where.get(int(targets.indices[p]), n_items)
    return result_of_ranks(ranks, targets, ks, covered, bootstrap=bootstrap, seed=seed)


def evaluate_pipeline(
    pipeline: Pipeline,
    ctx: RankingContext,
    ids: IdMap,
    rows: EvalSet,
    ks: tuple[int, ...],
    *,
    bootstrap: int = 0,
) -> EvalResult:
    """What the pipeline serves for these rows, scored at every k."""
    return score_served(
        served_lists(pipeline, ctx, ids, rows, max(ks)), rows, ks, bootstrap=bootstrap
    )


def slates_for(
    pipeline: Pipeline, ctx: RankingContext, ids: IdMap, rows: EvalSet, k: int, until: str
) -> list[Slate]:
    """The rows' slates up to a stage (``"features"``: what the ranker trains on)."""
    return pipeline.run_batch(requests_for(rows, ctx.type_names, k), ctx, ids, until=until)
