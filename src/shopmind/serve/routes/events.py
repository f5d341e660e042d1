"""Events (append-only, idempotent on the event id) and the shopper's privacy rights."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import ValidationError

from shopmind.catalog import reads
from shopmind.catalog.records import event_record
from shopmind.catalog.schema import Event
from shopmind.serve.auth import AdminAccess, ReadAccess
from shopmind.serve.routes import ServiceDep, row_errors, too_large, unprocessable
from shopmind.serve.schemas import Accepted, Deleted, EventRecord, EventsIn, EventsPage, UserExport

router = APIRouter(prefix="/v1", tags=["events"])


@router.post("/events", dependencies=[AdminAccess])
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


@router.get("/users/{user_id}/events", dependencies=[ReadAccess])
def user_events(
    user_id: str, service: ServiceDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> EventsPage:
    """The shopper's most recent events, newest first."""
    events = service.store.user_events(user_id, limit=limit)[::-1]
    names = reads.titles(service.store, {e.item_id for e in events if e.item_id})
    return EventsPage(
        events=[EventRecord(**event_record(e, names.get(e.item_id or ""))) for e in events]
    )


@router.get("/users/{user_id}/export", dependencies=[ReadAccess])
def export_user(user_id: str, service: ServiceDep) -> UserExport:
    """Everything stored about a shopper (404 when nothing is)."""
    data = service.store.export_user(user_id)
    if data["user"] is None and not data["events"]:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"nothing is stored about {user_id!r}")
    return UserExport.model_validate(data)


@router.delete("/users/{user_id}", dependencies=[AdminAccess])
def delete_user(user_id: str, service: ServiceDep) -> Deleted:
    """Forget a shopper: their profile and every event; they are never served as history again."""
    existed = service.store.get_user(user_id) is not None
    removed = service.store.delete_user(user_id)
    return Deleted(deleted=existed or removed > 0, events=removed)
