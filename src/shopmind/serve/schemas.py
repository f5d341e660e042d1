"""Request and response bodies of the HTTP API (the contract the web UI is built against)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shopmind.catalog.schema import AttributeValue


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- writes -------------------------------------------------------------------------------


class ItemIn(_In):
    item_id: str = Field(min_length=1)
    title: str = ""
    description: str = ""
    #: The category path, root first (a list, or text such as "Outdoor > Camping > Tents").
    category: list[str] | str = Field(default_factory=list)
    brand: str = ""
    price: float | None = None
    currency: str = ""
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    available: bool = True
    created_at: str | float | None = None


class ItemsIn(_In):
    items: list[ItemIn]


class UserIn(_In):
    user_id: str = Field(min_length=1)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    created_at: str | float | None = None


class UsersIn(_In):
    users: list[UserIn]


class EventIn(_In):
    #: The idempotency key: an event id already stored is counted as a duplicate.
    event_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    item_id: str | None = None
    type: str
    value: float | None = None
    query: str | None = None
    #: ISO-8601 or epoch seconds/milliseconds; now when absent.
    timestamp: str | float | None = None
    context: dict[str, Any] | None = None


class EventsIn(_In):
    events: list[EventIn]


class Upserted(BaseModel):
    upserted: int
    #: Items among them the running engine had not seen (now encoded and servable).
    new: int = 0


class Accepted(BaseModel):
    accepted: int
    duplicates: int


class Deleted(BaseModel):
    deleted: bool
    events: int = 0


# --- reads --------------------------------------------------------------------------------


class ItemRecord(BaseModel):
    item_id: str
    title: str
    description: str
    category: list[str]
    brand: str
    price: float | None
    currency: str
    attributes: dict[str, Any]
    available: bool
    created_at: str | None
    image: str | None = None


class ItemsPage(BaseModel):
    items: list[ItemRecord]
    total: int


class UserRecord(BaseModel):
    user_id: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    created_at: str | None = None
    events: int = 0


class UsersPage(BaseModel):
    users: list[UserRecord]
    total: int


class EventRecord(BaseModel):
    event_id: str
    user_id: str
    item_id: str | None
    type: str
    value: float | None
    query: str | None
    timestamp: str
    context: dict[str, Any]
    #: The item's title when the catalogue knows it (for display).
    title: str | None = None


class EventsPage(BaseModel):
    events: list[EventRecord]


class UserExport(BaseModel):
    user_id: str
    user: dict[str, Any] | None
    events: list[EventRecord]


class AnsweredItem(BaseModel):
    item_id: str
    title: str
    category: list[str]
    brand: str
    price: float | None
    image: str | None = None
    score: float
    #: The models (or signals) the item came from, strongest first.
    models: list[str]
    reason: str


class Recommendations(BaseModel):
    user_id: str
    bundle: str
    items: list[AnsweredItem]
    #: Set for fallbacks (unknown shopper: trending) and for empty lists.
    reason: str | None = None


class SimilarItemsOut(BaseModel):
    item_id: str
    bundle: str
    items: list[AnsweredItem]
    reason: str | None = None


class DayCount(BaseModel):
    """A UTC day (``YYYY-MM-DD``) that has events, and how many."""

    day: str
    count: int


class CategoryCount(BaseModel):
    category: str
    items: int


class Stats(BaseModel):
    items: int
    users: int
    events: int
    events_by_type: dict[str, int]
    events_by_day: list[DayCount]
    top_categories: list[CategoryCount]


class BundleSummary(BaseModel):
    version: str
    created: str
    models: list[str]
    metrics: dict[str, dict[str, float]]
    blend: dict[str, float] = Field(default_factory=dict)
    active: bool


class Bundles(BaseModel):
    active: str | None
    bundles: list[BundleSummary]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    bundle: str | None


class Job(BaseModel):
    job: str
    status: Literal["queued", "running", "done", "failed"] = "queued"
    bundle: str | None = None
    error: str | None = None
    started: str | None = None
    finished: str | None = None


class JobStarted(BaseModel):
    job: str


class Activated(BaseModel):
    active: str
    previous: str | None = None
