"""What leads to what: the category graph's strongest links (the dashboard draws them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from shopmind.serve.auth import ReadAccess
from shopmind.serve.routes import KEYED, EngineDep, problem

router = APIRouter(
    prefix="/v1",
    tags=["relations"],
    dependencies=[ReadAccess],
    responses={**KEYED, 503: problem("No bundle is active yet: train one first")},
)


class EdgeOut(BaseModel):
    source: str
    target: str
    #: Shoppers who went on from the source category to the target (1 each in the same visit,
    #: less when only later).
    support: float
    #: P(target | source) over those shoppers.
    confidence: float
    lift: float


class CategoryGraphOut(BaseModel):
    bundle: str
    #: The level of the category path the graph is drawn at (0: the leaf).
    level: int
    categories: int
    edges: list[EdgeOut]
    reason: str | None = None


@router.get("/categories/graph")
def category_graph(
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Edges wanted, strongest first")] = 30,
) -> CategoryGraphOut:
    """The category graph's strongest behaviour links (lift weighted by support): which
    categories shoppers go on to from which, as complements and the cross-category row use it."""
    found = engine.complements
    if found is None:
        return CategoryGraphOut(
            bundle=engine.version,
            level=0,
            categories=0,
            edges=[],
            reason="this bundle holds no category graph; retrain with `shopmind train`",
        )
    graph = found.graph
    edges = [
        EdgeOut(
            source=e.source,
            target=e.target,
            support=e.support,
            confidence=e.confidence,
            lift=e.lift,
        )
        for e in graph.strongest(limit)
    ]
    return CategoryGraphOut(
        bundle=engine.version, level=graph.level, categories=len(graph.names), edges=edges
    )
