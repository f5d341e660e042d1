"""The answers: a shopper's recommendations, an item's similar items and its complements."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import ValidationError

from shopmind.catalog.bounds import MAX_PRICE
from shopmind.data.filters import ItemFilter
from shopmind.engine import Answer, Engine
from shopmind.ranking import explain as explaining
from shopmind.serve.auth import ReadAccess
from shopmind.serve.routes import KEYED, PathId, ServiceDep, problem
from shopmind.serve.schemas import (
    AnsweredItem,
    DroppedOut,
    ExplanationOut,
    Recommendations,
    SimilarItemsOut,
)
from shopmind.serve.service import Serving

router = APIRouter(
    prefix="/v1",
    tags=["recommendations"],
    dependencies=[ReadAccess],
    responses={**KEYED, 503: problem("No bundle is active yet: train one first")},
)
#: Items per answer asked for; the service answers at most SHOPMIND_MAX_K (default 100).
K = Annotated[int, Query(ge=1, le=1000, description="Items wanted (at most SHOPMIND_MAX_K)")]
Price = Annotated[float | None, Query(ge=0, le=MAX_PRICE, allow_inf_nan=False)]


def _texts(description: str) -> Any:
    # A plain array (not "array or null"): a query string has no null, and a fuzzer that
    # reads "or null" sends a lone value it then takes for a violation. The default is given
    # with "=", not as a default_factory: pydantic inspects a factory's signature on every
    # request (170 µs each, 0.5 ms for the three filters of an answer).
    return Query(description=description)


async def item_filter(
    category: Annotated[
        list[str], _texts("Keep items with this at any level of their category path ('A > B': B)")
    ] = [],  # noqa: B006 (never mutated; FastAPI hands each request its own list)
    exclude_category: Annotated[list[str], _texts("Leave out items with this level")] = [],  # noqa: B006
    brand: Annotated[list[str], _texts("Keep items of these brands")] = [],  # noqa: B006
    min_price: Price = None,
    max_price: Price = None,
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


def served_list(served: Serving) -> dict[str, Any]:
    """The fields every answer carries for its impression (:class:`ServedList`)."""
    return {
        "request_id": served.request_id,
        "placement": served.placement,
        "bundle": served.engine.version,
        "experiment": served.experiment,
        "arm": served.arm,
    }


#: The shopper an item-anchored answer is for (their experiment arm; optional).
ForShopper = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=256,
        pattern="^[^\\x00]+$",
        description="The shopper it is shown to: their experiment arm answers (optional)",
    ),
]


def answered(engine: Engine, answer: Answer) -> list[AnsweredItem]:
    return [
        AnsweredItem(
            **engine.item_record(r.index),
            score=round(r.score, 6),
            models=r.models,
            reason=r.reason,
            explanation=ExplanationOut(**r.explanation.to_json()) if r.explanation else None,
        )
        for r in answer.items
    ]


@router.get("/users/{user_id}/recommendations")
def recommendations(
    user_id: PathId,
    service: ServiceDep,
    rules: Rules,
    k: K = 10,
    exclude: Literal["purchased", "seen", "none"] = "purchased",
    explain: Annotated[
        Literal["basic", "full"],
        Query(description="full: also the candidates that were dropped, and why"),
    ] = "basic",
) -> Recommendations:
    """The shopper's top-k, from their history as it is now, each with its explanation; an
    unknown shopper gets trending items (said in ``reason``), and a filter nothing passes
    gives an empty list and a reason."""
    served = service.serving(user_id, "for_you")
    engine = served.engine
    answer = engine.recommend(user_id, min(k, service.settings.max_k), rules, exclude)
    dropped = None
    if explain == "full" and answer.slate is not None:
        dropped = [DroppedOut(**d) for d in explaining.dropped(answer.slate, engine.items)]
    return Recommendations(
        **served_list(served),
        user_id=user_id,
        items=answered(engine, answer),
        reason=answer.reason,
        dropped=dropped,
    )


@router.get("/users/{user_id}/cross-category")
def cross_category(
    user_id: PathId,
    service: ServiceDep,
    rules: Rules,
    k: K = 10,
    exclude: Literal["purchased", "seen", "none"] = "purchased",
) -> Recommendations:
    """Explore new categories: items of categories the shopper has no history in that the
    category graph links to theirs, ranked by the bundle's ranker; each says which of their
    categories leads there. A shopper with nothing to go across from gets an empty list and a
    reason."""
    served = service.serving(user_id, "cross_category")
    engine = served.engine
    answer = engine.recommend(
        user_id, min(k, service.settings.max_k), rules, exclude, placement="cross_category"
    )
    return Recommendations(
        **served_list(served),
        user_id=user_id,
        items=answered(engine, answer),
        reason=answer.reason,
    )


@router.get("/items/{item_id}/similar", responses={404: problem("No such item")})
def similar_items(
    item_id: PathId,
    service: ServiceDep,
    rules: Rules,
    k: K = 10,
    user_id: ForShopper = None,
) -> SimilarItemsOut:
    """Items like this one: its text neighbours blended with what shoppers chose with it."""
    return _anchored("similar", item_id, service.serving(user_id, "similar"), service, rules, k)


@router.get("/items/{item_id}/complementary", responses={404: problem("No such item")})
def complementary_items(
    item_id: PathId,
    service: ServiceDep,
    rules: Rules,
    k: K = 10,
    user_id: ForShopper = None,
) -> SimilarItemsOut:
    """What goes with this item: what shoppers went on to after it, in other categories
    (look-alikes rejected); completed through its category's links for a new item."""
    return _anchored(
        "complementary", item_id, service.serving(user_id, "complementary"), service, rules, k
    )


def _anchored(
    kind: Literal["similar", "complementary"],
    item_id: str,
    served: Serving,
    service: Any,
    rules: ItemFilter,
    k: int,
) -> SimilarItemsOut:
    """An item-anchored answer (``Engine.related``); 404 for an unknown or deleted item."""
    engine = served.engine
    if _removed(engine, item_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {item_id!r}")
    try:
        answer = engine.related(kind, item_id, min(k, service.settings.max_k), rules)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {item_id!r}") from None
    return SimilarItemsOut(
        **served_list(served), item_id=item_id, items=answered(engine, answer), reason=answer.reason
    )


def _removed(engine: Engine, item_id: str) -> bool:
    """Whether the item was deleted from the catalogue since the engine loaded it.

    The engine keeps a deleted item's row (marked in ``removed``) and never recommends it;
    asking for its similar items must be a 404 like asking for the item itself.
    """
    index = engine.items.index(item_id)
    return index >= 0 and bool(engine.removed[index])
