"""The JSON records of a shopper's facts, as the API and the command line both show them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shopmind.catalog.schema import Event, User


def event_record(event: Event, title: str | None = None) -> dict[str, Any]:
    """One event; ``title`` is the item's, when the caller looked it up (for display)."""
    return {
        "event_id": event.id,
        "user_id": event.user_id,
        "item_id": event.item_id,
        "type": event.type,
        "value": event.value,
        "query": event.query,
        "timestamp": event.timestamp.isoformat(),
        "context": dict(event.context or {}),
        "title": title,
    }


def user_record(user: User) -> dict[str, Any]:
    """A shopper's profile."""
    return {
        "user_id": user.id,
        "attributes": dict(user.attributes),
        "created_at": None if user.created_at is None else user.created_at.isoformat(),
    }


def user_export(user_id: str, user: User | None, events: Iterable[Event]) -> dict[str, Any]:
    """Everything stored about a shopper (an access request's answer): profile and events."""
    return {
        "user_id": user_id,
        "user": None if user is None else user_record(user),
        "events": [event_record(event) for event in events],
    }
