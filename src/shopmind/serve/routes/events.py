"""Events (append-only, idempotent on the event id) and the shopper's privacy rights."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import ValidationError

from shopmind.catalog import reads
from shopmind.catalog.records import event_record
from shopmind.catalog.schema import Event
from shopmind.serve.auth import AdminAccess, IngestAccess
from shopmind.serve.routes import (
    BODY,
    KEYED,
    PathId,
    ServiceDep,
    problem,
    row_errors,
    too_large,
    unprocessable,
)
from shopmind.serve.schemas import Accepted, Deleted, EventRecord, EventsIn, EventsPage, UserExport

router = APIRouter(prefix="/v1", tags=["events"], responses=KEYED)
_NO_SHOPPER: dict[int | str, dict[str, Any]] = {404: problem("Nothing is stored about them")}


@router.post("/events", dependencies=[IngestAccess], responses=BODY)
def append_events(body: EventsIn, service: ServiceDep) -> Accepted:
    """Append a batch of events; one bad row rejects the batch (422 naming row and field).

    The next recommendations of these shoppers read them at once, without retraining.
    """
    too_large(len(body.events), service.settings.max_batch, "events")
    now = datetime.now(UTC)
    events, errors = [], []
    for row, given in enumerate(body.events):
        try:
            events.append(
                Event(
                    id=given.event_id,
                    user_id=given.user_id,
                    item_id=given.item_id,
                    type=given.type,
                    value=given.value,
                    query=given.query,
                    timestamp=now if given.timestamp is None else given.timestamp,
                    context=given.context or {},
                )
            )
        except ValidationError as exc:
            errors += row_errors(exc, "events", row, {"id": "event_id"})
    if errors:
        raise unprocessable(errors)
    added = service.store.append_events(events)
    service.metrics.events.inc(added)
    return Accepted(accepted=added, duplicates=len(events) - added)


@router.get("/users/{user_id}/events", dependencies=[AdminAccess], responses=_NO_SHOPPER)
def user_events(
    user_id: PathId,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    impressions: Annotated[
        bool, Query(description="Also the lists they were shown (impression events)")
    ] = False,
) -> EventsPage:
    """The shopper's most recent events, newest first (404 when nothing is stored about them).
    What they did; with ``impressions=true`` also what they were shown."""
    events = service.store.user_events(user_id, limit=limit, behaviour=not impressions)[::-1]
    if not events and not known_shopper(service, user_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"nothing is stored about {user_id!r}")
    names = reads.titles(service.store, {e.item_id for e in events if e.item_id})
    return EventsPage(
        events=[EventRecord(**event_record(e, names.get(e.item_id or ""))) for e in events]
    )


@router.get("/users/{user_id}/export", dependencies=[AdminAccess], responses=_NO_SHOPPER)
def export_user(user_id: PathId, service: ServiceDep) -> UserExport:
    """Everything stored about a shopper, and the profile made of it (null before the first
    bundle); 404 when nothing is stored."""
    data = service.store.export_user(user_id)
    if data["user"] is None and not data["events"] and not known_shopper(service, user_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"nothing is stored about {user_id!r}")
    engine = service.engine  # the profile, when a bundle is served to read it against
    data["profile"] = None if engine is None else engine.profile(user_id)
    return UserExport.model_validate(data)


@router.delete("/users/{user_id}", dependencies=[AdminAccess])
def delete_user(user_id: PathId, service: ServiceDep) -> Deleted:
    """Forget a shopper: their profile and every event; they are never served as history again.

    Every bundle but the active one trained on their events is deleted, and the active one
    is rebuilt without them in the background (a retrain; see the README for how long).
    """
    existed = reads.user_exists(service.store, user_id)  # even a row that reads as bad
    removed = service.forget(user_id)
    return Deleted(deleted=existed or removed > 0, events=removed)


def known_shopper(service: ServiceDep, user_id: str) -> bool:
    """Whether anything is stored about a shopper (rows that read as bad included)."""
    store = service.store
    return reads.user_exists(store, user_id) or reads.user_event_count(store, user_id) > 0
