"""Request and response bodies of the HTTP API (the contract the web UI is built against)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from shopmind.catalog.bounds import MAX_ID_LENGTH, MAX_PRICE, MAX_VALUE
from shopmind.catalog.schema import AttributeValue, event_types, not_a_boolean
from shopmind.profiles import Profile


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a time is ISO-8601 text or epoch seconds/milliseconds, not true/false")
    return value


#: What a time may be given as; booleans are not times (nor numbers, here).
_TIME = (
    "ISO-8601 text or epoch seconds/milliseconds, within the accepted time range: from "
    "SHOPMIND_EARLIEST_TIME (default 1990-01-01) to SHOPMIND_MAX_FUTURE_SECONDS (default 86400, "
    "a day) past the current time"
)
Time = Annotated[
    str | int | float | None, BeforeValidator(_not_a_boolean), Field(description=_TIME)
]
#: An id of an item, shopper or event.
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]


#: A number given as a number, not true/false.
_NUMBER = BeforeValidator(not_a_boolean)


def _known_types(schema: dict[str, Any]) -> None:
    schema["enum"] = list(event_types())


class Problem(BaseModel):
    """An error: what is wrong and, where the caller can fix it, how."""

    detail: str
    #: On a 403: the scope the endpoint needs, and the scopes the key sent has (none: the key
    #: is not one of the API's).
    needs: Literal["read", "ingest", "admin"] | None = None
    held: list[Literal["read", "ingest", "admin"]] | None = None


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- writes -------------------------------------------------------------------------------


class ItemIn(_In):
    item_id: Id
    title: str = ""
    description: str = ""
    #: The category path, root first (a list, or text such as "Outdoor > Camping > Tents").
    category: list[str] | str = Field(default_factory=list)
    brand: str = ""
    price: Annotated[float, Field(ge=0, le=MAX_PRICE, allow_inf_nan=False), _NUMBER] | None = None
    currency: str = ""
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    available: StrictBool = True
    created_at: Time = None


class ItemsIn(_In):
    items: list[ItemIn]


class UserIn(_In):
    user_id: Id
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    created_at: Time = None


class UsersIn(_In):
    users: list[UserIn]


class EventIn(_In):
    #: The idempotency key: an event id already stored is counted as a duplicate.
    event_id: Id
    user_id: Id
    item_id: Annotated[str, Field(max_length=MAX_ID_LENGTH)] | None = None
    #: One of the event types the shop knows (listed in the schema as this process has them).
    type: Annotated[str, Field(json_schema_extra=_known_types)]
    value: (
        Annotated[float, Field(ge=-MAX_VALUE, le=MAX_VALUE, allow_inf_nan=False), _NUMBER] | None
    ) = None
    query: str | None = None
    #: When it happened; now when absent.
    timestamp: Time = None
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
    #: The profile read from those events (null when no bundle is served yet).
    profile: Profile | None = None


class ExplanationOut(BaseModel):
    """Why an item is served: its sources' shares of its score, the history items behind it
    (strongest first), the category that explains it when none does, the rules that moved
    it, and the sentence shown to the shopper."""

    sources: dict[str, float]
    because: list[str]
    category: str | None = None
    rules: list[str]
    sentence: str


class DroppedOut(BaseModel):
    """A candidate that was not served: the stage that dropped it and why; for an
    out-ranked one its score and the gap to the last served item's."""

    item_id: str
    stage: str
    why: str
    detail: str | None = None
    score: float | None = None
    gap: float | None = None


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
    explanation: ExplanationOut | None = None


class ServedList(BaseModel):
    """What an answer says about itself, for the impression the storefront records of it."""

    #: This answer's id: an impression of it, and clicks on it, carry it in their context.
    request_id: str
    #: for_you, cross_category, similar, complementary or search.
    placement: str
    bundle: str
    #: The running experiment and the shopper's arm, when the answer came from one.
    experiment: str | None = None
    arm: str | None = None


class Recommendations(ServedList):
    user_id: str
    items: list[AnsweredItem]
    #: Set for fallbacks (unknown shopper: trending) and for empty lists.
    reason: str | None = None
    #: With ``explain=full``: the candidates that were not served, and why.
    dropped: list[DroppedOut] | None = None


class InterpretationOut(BaseModel):
    """How a search query was read."""

    query: str
    #: The words retrieval matched (the query without its price phrase).
    text: str
    min_price: float | None = None
    max_price: float | None = None
    #: Brands named in the query (a filter).
    brands: list[str]
    #: Categories named in the query; a filter when ``category_filter``.
    categories: list[str]
    category_filter: bool
    #: Misspelt words and the catalogue words they were read as.
    corrected: dict[str, str]
    #: Parts of the interpretation dropped because nothing passed them.
    relaxed: list[str]
    #: The interpretation in one line, as the storefront shows it.
    summary: str


class SearchOut(ServedList):
    query: str
    user_id: str | None = None
    interpretation: InterpretationOut | None = None
    items: list[AnsweredItem]
    reason: str | None = None


class SimilarItemsOut(ServedList):
    item_id: str
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
    #: The retrain guard's decision on it, when a retrain made it (activated or why not).
    decision: dict[str, Any] | None = None


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
    #: Whether the bundle became the active one (not when the active one is newer).
    activated: bool | None = None
    #: Why it failed (a job whose process died says so).
    error: str | None = None
    #: What started it (manual, schedule, events, erasure) and the retrain guard's verdict.
    trigger: str | None = None
    decision: str | None = None
    started: str | None = None
    finished: str | None = None
    #: The process running it, and its host.
    pid: int | None = None
    host: str | None = None


class JobStarted(BaseModel):
    job: str


class Activated(BaseModel):
    active: str
    previous: str | None = None


class OnlineTotals(BaseModel):
    """One group's online figures; rates are per item shown (an impression)."""

    key: str
    #: Impression events (lists shown), items shown in them, and the shoppers they went to.
    lists: int
    impressions: int
    shoppers: int
    clicks: int
    carts: int
    purchases: int
    revenue: float
    ctr: float | None
    atc_rate: float | None
    cvr: float | None
    revenue_per_impression: float | None


class OnlineMetrics(BaseModel):
    since: str
    until: str
    by: str
    window_hours: float
    groups: list[OnlineTotals]
    #: Outcomes by how they were attributed: "<type>.request" (they carried the answer's
    #: request id), "<type>.window" (an impression of the item shortly before), or
    #: "<type>.unattributed".
    attributed: dict[str, int]


class ArmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Letters, digits, '_', '.', '-' (at most 40)")
    bundle: str | None = Field(default=None, description="A bundle version (none: the active)")
    rules: str | None = Field(default=None, description="A rules version (none: the active)")
    share: float = Field(description="Its share of the traffic; the shares add up to 1")


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    arms: list[ArmIn] = Field(description="Two or more; the first is the control")
    placements: list[str] = Field(
        default_factory=list, description="The placements it covers (none: all)"
    )
    metric: Literal["ctr", "atc_rate", "cvr", "revenue_per_impression"] = "ctr"


class ArmOut(BaseModel):
    name: str
    bundle: str | None = None
    rules: str | None = None
    share: float
    stopped: str | None = None
    stopped_why: str | None = None


class ExperimentOut(BaseModel):
    id: str
    name: str
    arms: list[ArmOut]
    placements: list[str]
    metric: str
    status: Literal["running", "ended"]
    created: str
    ended: str | None = None
    promoted: str | None = None
    decision: str | None = None


class Experiments(BaseModel):
    running: str | None
    experiments: list[ExperimentOut]


class Estimate(BaseModel):
    """A rate with its 95% confidence interval (delta method over shoppers)."""

    value: float | None
    low: float | None
    high: float | None


class VersusControl(BaseModel):
    metric: str
    difference: float | None
    relative: float | None
    low: float | None
    high: float | None
    z: float | None
    p_value: float | None
    #: The level of the test (0.05 over the number of treatment arms).
    alpha: float
    significant: bool
    #: Impressions each arm needs to see this difference with 80% power, and how many
    #: more than it has (0 once significant; null before any difference is seen).
    impressions_needed: int | None
    more_impressions: int | None


class ArmResult(ArmOut):
    impressions: int
    lists: int
    shoppers: int
    clicks: int
    carts: int
    purchases: int
    revenue: float
    metrics: dict[str, Estimate]
    versus_control: VersusControl | None = None


class ExperimentResults(BaseModel):
    experiment: ExperimentOut
    arms: list[ArmResult]
