"""The answers: a shopper's recommendations and an item's similar items."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import ValidationError

from shopmind.data.filters import ItemFilter
from shopmind.engine import Answer, Engine
from shopmind.serve.auth import ReadAccess
from shopmind.serve.routes import EngineDep, ServiceDep
from shopmind.serve.schemas import AnsweredItem, Recommendations, SimilarItemsOut

router = APIRouter(prefix="/v1", tags=["recommendations"], dependencies=[ReadAccess])

Categories = Annotated[
    list[str] | None,
    Query(description="Keep items with this at any level of their category path ('A > B': B)"),
]


def item_filter(
    category: Categories = None,
    exclude_category: Annotated[list[str] | None, Query()] = None,
    min_price: Annotated[float | None, Query(ge=0)] = None,
    max_price: Annotated[float | None, Query(ge=0)] = None,
    brand: Annotated[list[str] | None, Query()] = None,
    available_only: bool = True,
) -> ItemFilter:
    def levels(values: list[str] | None) -> tuple[str, ...]:
        return tuple(v.split(">")[-1].strip() for v in values or () if v.split(">")[-1].strip())

    try:
        return ItemFilter(
            categories=levels(category),
            exclude_categories=levels(exclude_category),
            min_price=min_price,
            max_price=max_price,
            brands=tuple(b for b in brand or () if b.strip()),
            available_only=available_only,
        )
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {"type": e["type"], "loc": ["query", *e["loc"]], "msg": e["msg"]}
                for e in exc.errors(include_url=False)
            ],
        ) from None


#: The filters of both answers, parsed once from the query string.
Rules = Annotated[ItemFilter, Depends(item_filter)]


def _items(engine: Engine, answer: Answer) -> list[AnsweredItem]:
    return [
        AnsweredItem(
            **engine.item_record(r.index), score=round(r.score, 6), models=r.models, reason=r.reason
        )
        for r in answer.items
    ]


@router.get("/users/{user_id}/recommendations")
def recommendations(
    user_id: str,
    engine: EngineDep,
    service: ServiceDep,
    rules: Rules,
    k: Annotated[int, Query(ge=1)] = 10,
    exclude: Literal["purchased", "seen", "none"] = "purchased",
) -> Recommendations:
    """The shopper's top-k, from their history as it is now; an unknown shopper gets trending
    items (said in ``reason``), and a filter nothing passes gives an empty list and a reason."""
    answer = engine.recommend(user_id, min(k, service.settings.max_k), rules, exclude)
    return Recommendations(
        user_id=user_id, bundle=engine.version, items=_items(engine, answer), reason=answer.reason
    )


@router.get("/items/{item_id}/similar")
def similar_items(
    item_id: str,
    engine: EngineDep,
    service: ServiceDep,
    rules: Rules,
    k: Annotated[int, Query(ge=1)] = 10,
) -> SimilarItemsOut:
    """Items like this one: its text neighbours blended with what shoppers chose with it."""
    try:
        answer = engine.similar_items(item_id, min(k, service.settings.max_k), rules)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {item_id!r}") from None
    return SimilarItemsOut(
        item_id=item_id, bundle=engine.version, items=_items(engine, answer), reason=answer.reason
    )
