"""Items and shoppers: batch upsert, get, list, delete; and the shop's statistics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import ValidationError

from shopmind.catalog import reads
from shopmind.catalog.schema import Item, User
from shopmind.serve import queries
from shopmind.serve.auth import AdminAccess, ReadAccess
from shopmind.serve.routes import (
    BODY,
    KEYED,
    Limit,
    Offset,
    PathId,
    ServiceDep,
    problem,
    row_errors,
    too_large,
    unprocessable,
)
from shopmind.serve.schemas import (
    Deleted,
    ItemRecord,
    ItemsIn,
    ItemsPage,
    Stats,
    Upserted,
    UserRecord,
    UsersIn,
    UsersPage,
)

router = APIRouter(prefix="/v1", tags=["catalogue"], responses=KEYED)


def _search(description: str) -> Any:
    """A search text or category name in a query string (no NUL: no database stores one)."""
    return Query(description=description, max_length=200, pattern="^[^\\x00]*$")


_NO_ITEM: dict[int | str, dict[str, Any]] = {404: problem("No such item")}
_NO_SHOPPER: dict[int | str, dict[str, Any]] = {404: problem("Nothing is stored about them")}


@router.post("/items", dependencies=[AdminAccess], responses=BODY)
def upsert_items(body: ItemsIn, service: ServiceDep) -> Upserted:
    """Insert or replace items; new ones are encoded and servable at once (no retraining)."""
    too_large(len(body.items), service.settings.max_batch, "items")
    items, errors = [], []
    for row, given in enumerate(body.items):
        fields = given.model_dump(exclude={"item_id", "category"})
        try:
            items.append(Item(id=given.item_id, category_path=given.category, **fields))
        except ValidationError as exc:
            errors += row_errors(exc, "items", row, {"id": "item_id", "category_path": "category"})
    if errors:
        raise unprocessable(errors)
    written = service.store.upsert_items(items)
    engine = service.engine
    new = engine.upsert_items(items) if engine is not None else []
    return Upserted(upserted=written, new=len(new))


@router.get("/items", dependencies=[ReadAccess])
def list_items(
    service: ServiceDep,
    limit: Limit = 50,
    offset: Offset = 0,
    q: Annotated[str | None, _search("A substring of the title, brand or id")] = None,
    category: Annotated[str | None, _search("A level of the category path")] = None,
) -> ItemsPage:
    """A page of the catalogue, by item id."""
    items, total = reads.page_items(service.store, limit, offset, q, category)
    return ItemsPage(items=[ItemRecord(**queries.item_record(i)) for i in items], total=total)


@router.get("/items/{item_id}", dependencies=[ReadAccess], responses=_NO_ITEM)
def get_item(item_id: PathId, service: ServiceDep) -> ItemRecord:
    item = service.store.get_item(item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {item_id!r}")
    return ItemRecord(**queries.item_record(item))


@router.delete("/items/{item_id}", dependencies=[AdminAccess], responses=_NO_ITEM)
def delete_item(item_id: PathId, service: ServiceDep) -> Deleted:
    """Remove an item from the catalogue; it is never recommended again (its events stay)."""
    deleted = service.store.delete_item(item_id)
    if service.engine is not None:
        service.engine.delete_items([item_id])
    if not deleted:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {item_id!r}")
    return Deleted(deleted=True)


@router.post("/users", dependencies=[AdminAccess], responses=BODY)
def upsert_users(body: UsersIn, service: ServiceDep) -> Upserted:
    """Insert or replace shoppers."""
    too_large(len(body.users), service.settings.max_batch, "users")
    users, errors = [], []
    for row, given in enumerate(body.users):
        try:
            users.append(User(id=given.user_id, **given.model_dump(exclude={"user_id"})))
        except ValidationError as exc:
            errors += row_errors(exc, "users", row, {"id": "user_id"})
    if errors:
        raise unprocessable(errors)
    return Upserted(upserted=service.store.upsert_users(users))


@router.get("/users", dependencies=[AdminAccess])
def list_users(service: ServiceDep, limit: Limit = 50, offset: Offset = 0) -> UsersPage:
    """A page of the shoppers, by id, with their event counts."""
    rows, total = reads.page_users(service.store, limit, offset)
    return UsersPage(users=[_user_record(u, n) for u, n in rows], total=total)


@router.get("/users/{user_id}", dependencies=[AdminAccess], responses=_NO_SHOPPER)
def get_user(user_id: PathId, service: ServiceDep) -> UserRecord:
    """A shopper (one known only from events has no attributes); 404 when nothing is stored."""
    user = service.store.get_user(user_id)
    n = reads.user_event_count(service.store, user_id)
    if user is None and n == 0:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no shopper {user_id!r}")
    return _user_record(user or User(id=user_id), n)


@router.get("/stats", dependencies=[ReadAccess])
def stats(
    service: ServiceDep,
    days: Annotated[
        int,
        Query(
            ge=1,
            le=36_600,
            description="`events_by_day` lists at most this many days: the latest with events",
        ),
    ] = 90,
) -> Stats:
    """Counts for the dashboard: items, shoppers, events by type and by day, top categories.

    ``events_by_day`` lists only days that have events (oldest first): a day missing between
    two listed ones had none.
    """
    counts = service.store.counts()
    engine = service.engine
    if engine is not None:
        categories = [
            c for c, gone in zip(engine.side.category, engine.removed, strict=True) if not gone
        ]
    else:
        categories = [i.category_path for i in service.store.iter_items()]
    by_type = {k.removeprefix("events."): v for k, v in counts.items() if k.startswith("events.")}
    return Stats.model_validate(
        {
            "items": counts["items"],
            "users": counts["users"],
            "events": counts["events"],
            "events_by_type": by_type,
            "events_by_day": [
                {"day": d, "count": n} for d, n in reads.events_by_day(service.store, days)
            ],
            "top_categories": [
                {"category": c, "items": n} for c, n in queries.top_categories(categories)
            ],
        }
    )


def _user_record(user: User, events: int) -> UserRecord:
    fields: dict[str, Any] = {
        "user_id": user.id,
        "attributes": dict(user.attributes),
        "created_at": None if user.created_at is None else user.created_at.isoformat(),
        "events": events,
    }
    return UserRecord(**fields)
