"""Product search: the catalogue's best items for a query, re-ranked for the shopper."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shopmind.serve.auth import ReadAccess
from shopmind.serve.routes import KEYED, ServiceDep, problem
from shopmind.serve.routes.recommend import K, Rules, answered, served_list
from shopmind.serve.schemas import InterpretationOut, SearchOut

router = APIRouter(
    prefix="/v1",
    tags=["search"],
    dependencies=[ReadAccess],
    responses={**KEYED, 503: problem("No bundle is active yet: train one first")},
)


@router.get("/search")
def search(
    service: ServiceDep,
    rules: Rules,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=500,
            description="What the shopper typed: words, a price ('under 50', '50元以内'), a brand",
        ),
    ],
    user_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=256,
            pattern="^[^\\x00]+$",
            description="The shopper, to re-rank for their history (none: the same for all)",
        ),
    ] = None,
    k: K = 10,
    explain: Annotated[bool, Query(description="Each item's reason and score shares")] = True,
) -> SearchOut:
    """Lexical (BM25) and semantic (the language model) retrieval fused, re-ranked by the
    shopper's history as much as the query leaves open; ``interpretation`` says how the query
    was read (price bounds, brands and categories taken as filters, misspellings read as)."""
    served = service.serving(user_id, "search")
    engine = served.engine
    answer = engine.search(q, user_id, min(k, service.settings.max_k), rules, explain=explain)
    slate = answer.slate
    found = slate.interpretation if slate is not None else None
    return SearchOut(
        **served_list(served),
        query=q,
        user_id=user_id,
        interpretation=InterpretationOut(**found.to_json()) if found is not None else None,
        items=answered(engine, answer),
        reason=answer.reason,
    )
