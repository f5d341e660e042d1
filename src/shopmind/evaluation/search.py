"""Evaluating search as it is served: each held-out purchase's query through the search
pipeline, the purchased item looked up in the served list (full ranking over the catalogue).

Queries follow the semi-synthetic protocol of the product-search literature
(:mod:`shopmind.search.queries`): the purchased item's category path words, the shopper's
history before the purchase as the context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from shopmind.data.dataset import ItemSide
from shopmind.data.histories import Histories, kinds_of
from shopmind.data.idmap import IdMap
from shopmind.data.split import EvalSet
from shopmind.evaluation.evaluator import EvalResult
from shopmind.evaluation.pipeline import score_served
from shopmind.ranking.context import RankingContext
from shopmind.ranking.search import SEARCH_EXCLUSION, SearchPipeline
from shopmind.ranking.slate import Request
from shopmind.search.fusion import SearchSettings
from shopmind.search.queries import category_query, title_query


def search_rows(
    rows: EvalSet,
    side: ItemSide,
    type_names: Sequence[str],
    k: int,
    *,
    kind: str = "category",
    seed: int = 0,
    personal: bool = True,
) -> tuple[list[Request], EvalSet]:
    """A search Request per row whose target has a query of ``kind`` ("category": the HEM
    query of its path; "title": words of its title), and those rows. ``personal=False``
    drops the history (the unpersonalised ranking of the same queries)."""
    rng = np.random.default_rng(seed)
    kinds = kinds_of(rows.histories, type_names)
    targets = rows.targets.tocsr()
    requests: list[Request] = []
    kept: list[int] = []
    for r in range(len(rows)):
        found = targets.indices[targets.indptr[r] : targets.indptr[r + 1]]
        if not len(found) or found[0] >= len(side.title):
            continue
        item = int(found[0])
        query = (
            category_query(side.category[item])
            if kind == "category"
            else title_query(side.title[item], rng)
        )
        if not query:
            continue
        history = rows.histories.take([r]) if personal else Histories.empty(1)
        requests.append(
            Request(
                history=history,
                kinds=kinds[r] if personal else (),
                k=k,
                placement="search",
                exclusion=SEARCH_EXCLUSION,
                query=query,
            )
        )
        kept.append(r)
    return requests, rows.take(np.asarray(kept, np.int64))


def evaluate_search(
    pipeline: SearchPipeline,
    ctx: RankingContext,
    ids: IdMap,
    requests: Sequence[Request],
    rows: EvalSet,
    ks: tuple[int, ...],
    *,
    settings: SearchSettings | None = None,
    bootstrap: int = 0,
    seed: int = 0,
) -> EvalResult:
    """The served search lists of ``requests`` scored against ``rows``' targets."""
    k = max(ks)
    served = [
        pipeline.run(replace(r, k=k), ctx, ids, explain=False, settings=settings).served_items
        for r in requests
    ]
    return score_served(served, rows, ks, bootstrap=bootstrap, seed=seed)
