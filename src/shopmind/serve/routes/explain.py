"""Why an item is not among a shopper's recommendations (or where it is)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from shopmind.serve.auth import ReadAccess
from shopmind.serve.routes import KEYED, EngineDep, PathId, ServiceDep, problem
from shopmind.serve.routes.recommend import Rules

router = APIRouter(
    prefix="/v1", tags=["recommendations"], dependencies=[ReadAccess], responses=KEYED
)


@router.get(
    "/users/{user_id}/why-not/{item_id}",
    responses={404: problem("No such item")},
)
def why_not(
    user_id: PathId,
    item_id: PathId,
    engine: EngineDep,
    service: ServiceDep,
    rules: Rules,
    k: Annotated[int, Query(ge=1, le=1000)] = 10,
    exclude: Annotated[str, Query(pattern="^(purchased|seen|none)$")] = "purchased",
) -> dict[str, Any]:
    """The stage that kept the item out of the shopper's top-k: deleted, filtered (which
    filter or rule), excluded (purchased, seen, just viewed), no source proposed it (with each
    model's rank of it), dropped by diversity or a cap, or out-ranked (its score, the
    cut-off's, the gap); or its position when it is served."""
    try:
        return engine.why_not(
            user_id,
            item_id,
            min(k, service.settings.max_k),
            rules,
            exclude,  # type: ignore[arg-type]
        )
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {item_id!r}") from None
