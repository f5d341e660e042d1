"""The shop's facts: items, users and behaviour events, validated at the door."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shopmind.catalog.bounds import (
    MAX_ID_LENGTH,
    MAX_PRICE,
    MAX_VALUE,
    check_json,
    check_text,
    time_window,
)

#: Event types every shop has. Shops may add their own with :func:`register_event_type`.
_EVENT_TYPES: list[str] = [
    "view",
    "click",
    "add_to_cart",
    "remove_from_cart",
    "purchase",
    "rating",
    "wishlist",
    "search",
    "dismiss",
    "impression",
]

#: A served list as the shopper saw it: the items (in order) of one answer, its request id
#: and placement in ``context`` (see :func:`check_impression`). Not behaviour: training and
#: profiles never read it; the online metrics do.
IMPRESSION = "impression"
#: Types whose events carry no item (a search is a query, not a product; an impression is a
#: list of products, in its context).
ITEMLESS_EVENT_TYPES = frozenset({"search", IMPRESSION})
#: Types that are not shopper behaviour (left out of training snapshots and profiles).
NOT_BEHAVIOUR = frozenset({IMPRESSION})
#: Items one impression lists at most (an answer has at most 1,000).
MAX_IMPRESSION_ITEMS = 1_000


def event_types() -> tuple[str, ...]:
    """The known event types, in registration order (their index is their stable code)."""
    return tuple(_EVENT_TYPES)


def register_event_type(name: str) -> int:
    """Add a shop-specific event type (idempotent); returns its code."""
    name = name.strip()
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"event type {name!r}: use letters, digits and underscores")
    if name not in _EVENT_TYPES:
        _EVENT_TYPES.append(name)
    return _EVENT_TYPES.index(name)


def event_type_code(name: str) -> int:
    """The integer code of a known event type."""
    try:
        return _EVENT_TYPES.index(name)
    except ValueError:
        raise ValueError(
            f"unknown event type {name!r}: expected one of {', '.join(_EVENT_TYPES)} "
            "(register a shop-specific type with register_event_type)"
        ) from None


def parse_timestamp(value: Any) -> datetime:
    """Parse ISO-8601 text, epoch seconds or epoch milliseconds into an aware UTC datetime.

    ValueError (never OverflowError) for anything else: booleans, NaN, infinities, numbers or
    offsets past the years a datetime holds. :func:`bounded_time` also checks the window.
    """
    moment = _parse(value)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        # 9999-12-31T23:59:59-23:59 is a datetime, but not one that exists in UTC.
        raise ValueError(f"{value!r} is past the years a time can have") from None


def bounded_time(value: Any) -> datetime:
    """A time the catalogue accepts: :func:`parse_timestamp`, inside the window of
    :func:`~shopmind.catalog.bounds.time_window` (ValueError saying the range if not)."""
    window = time_window()
    try:
        # The window is checked before the conversion to UTC, which overflows far outside it.
        return window.check(_parse(value))
    except _OutOfRange:
        raise ValueError(
            f"{value!r} is outside the accepted time range: {window.describe()}"
        ) from None


class _OutOfRange(ValueError):
    """A number no time of any window can be."""


#: 9999-12-31T23:59:59Z, the last second a datetime holds, as epoch seconds.
_MAX_EPOCH_SECONDS = 253_402_300_799


def _parse(value: Any) -> datetime:
    """An aware datetime, in the offset the text gave (UTC for numbers and naive times)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise ValueError("expected ISO-8601 text or epoch seconds/milliseconds, got a boolean")
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("empty timestamp")
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"{value!r} is neither ISO-8601 (2024-05-01T12:00:00Z) "
                    "nor epoch seconds/milliseconds"
                ) from None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    else:
        raise ValueError(f"cannot read a timestamp from {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError(f"timestamp {value!r} must be a finite number")
    if number < 0:
        raise _OutOfRange(f"timestamp {value!r} is before 1970: epochs are not negative")
    # Epoch seconds stay below 1e11 until the year 5138; anything larger is milliseconds.
    seconds = number / 1000.0 if number >= 1e11 else number
    if seconds > _MAX_EPOCH_SECONDS:
        raise _OutOfRange(f"timestamp {value!r} is past the year 9999")
    return datetime.fromtimestamp(seconds, tz=UTC)


#: Milliseconds in a day (the Store and the Dataset keep time as epoch milliseconds).
DAY_MS = 86_400_000


def to_millis(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (how the Store and Dataset keep time)."""
    return round(moment.timestamp() * 1000)


def from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000.0, tz=UTC)


def _non_empty(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


#: Text a database stores as it was given (no NUL, no lone surrogate).
Text = Annotated[str, AfterValidator(check_text)]
#: An id: text of at most MAX_ID_LENGTH characters (ids are indexed keys).
IdText = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH), AfterValidator(check_text)]


def not_a_boolean(value: Any) -> Any:
    """``value``, unless it is a boolean (ValueError): true is no number here."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


#: A number given as a number: JSON's true is no price (pydantic alone would read it as 1.0).
Number = Annotated[float, BeforeValidator(not_a_boolean)]


def _attribute(value: str | int | float | bool) -> str | int | float | bool:
    if isinstance(value, str):
        return check_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a number must be finite, got {value}")
    return value


#: An attribute's value: storable text, a finite number, or true/false.
AttributeValue = Annotated[str | int | float | bool, AfterValidator(_attribute)]


def _optional_time(value: Any) -> datetime | None:
    return (
        None
        if value is None or (isinstance(value, str) and not value.strip())
        else (bounded_time(value))
    )


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Item(_Record):
    """A product of the catalogue."""

    id: IdText
    title: Text = ""
    description: Text = ""
    category_path: tuple[Text, ...] = ()
    brand: Text = ""
    price: Number | None = None
    currency: Text = ""
    attributes: dict[Text, AttributeValue] = Field(default_factory=dict)
    available: bool = True
    created_at: datetime | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _non_empty(value, "item id")

    @field_validator("category_path", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        if isinstance(value, str):
            # "Root > Leaf" or "Root,Leaf" in flat files; a list elsewhere.
            sep = ">" if ">" in value else ("|" if "|" in value else ",")
            value = [part for part in value.split(sep)] if value.strip() else []
        if isinstance(value, list | tuple):
            parts = [str(part).strip() for part in value]
            if any(not part for part in parts):
                raise ValueError("category path parts must be non-empty strings")
            return tuple(parts)
        return value

    @field_validator("price")
    @classmethod
    def _price(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ValueError(f"price must be a finite number >= 0, got {value}")
        if value is not None and value > MAX_PRICE:
            raise ValueError(f"price must be at most {MAX_PRICE:g}, got {value:g}")
        return value

    @field_validator("created_at", mode="before")
    @classmethod
    def _created(cls, value: Any) -> Any:
        return _optional_time(value)

    def text_fields(self) -> dict[str, str]:
        """The fields a text template may use."""
        return {
            "title": self.title,
            "description": self.description,
            "brand": self.brand,
            "category": " > ".join(self.category_path),
        }


class User(_Record):
    """A shopper; attributes are whatever the shop knows (country, tier, ...)."""

    id: IdText
    attributes: dict[Text, AttributeValue] = Field(default_factory=dict)
    created_at: datetime | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _non_empty(value, "user id")

    @field_validator("created_at", mode="before")
    @classmethod
    def _created(cls, value: Any) -> Any:
        return _optional_time(value)


#: Validation context of rows read back from the Store: an event type this process has not
#: registered is kept (another process registered it), every other rule holds.
STORED = {"stored": True}


class Event(_Record):
    """One thing a shopper did. ``id`` is the idempotency key: re-sending it adds nothing."""

    id: IdText
    user_id: IdText
    item_id: IdText | None = None
    type: Text
    value: Number | None = None
    query: Text | None = None
    timestamp: datetime
    context: dict[Text, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _non_empty(value, "event id")

    @field_validator("user_id")
    @classmethod
    def _user(cls, value: str) -> str:
        return _non_empty(value, "user id")

    @field_validator("item_id")
    @classmethod
    def _item(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else value.strip()

    @field_validator("type")
    @classmethod
    def _type(cls, value: str, info: ValidationInfo) -> str:
        if info.context and info.context.get("stored"):
            return _non_empty(value, "event type")
        event_type_code(value)
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and abs(value) <= MAX_VALUE):
            raise ValueError(
                f"value must be a finite number from {-MAX_VALUE:g} to {MAX_VALUE:g}, got {value}"
            )
        return value

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp(cls, value: Any) -> datetime:
        return bounded_time(value)

    @field_validator("context")
    @classmethod
    def _context(cls, value: dict[str, Any]) -> dict[str, Any]:
        return dict(check_json(value))

    @model_validator(mode="after")
    def _item_or_query(self) -> Event:
        if self.type == IMPRESSION:
            check_impression(self.context)
        elif self.type in ITEMLESS_EVENT_TYPES:
            if not self.query:
                raise ValueError(f"a {self.type} event needs a query")
        elif self.item_id is None:
            raise ValueError(f"a {self.type} event needs an item_id")
        return self


def check_impression(context: dict[str, Any]) -> None:
    """An impression's context names what was shown: ``request_id`` (the answer's),
    ``placement`` and ``items`` (ids in the order shown, position 1 first); ValueError
    naming the key and the fix otherwise. ``bundle``, ``experiment`` and ``arm``, when the
    answer gave them, are copied from it too."""
    request = context.get("request_id")
    if not isinstance(request, str) or not request.strip() or len(request) > MAX_ID_LENGTH:
        raise ValueError(
            "an impression needs context.request_id: the request_id of the answer shown"
        )
    placement = context.get("placement")
    if not isinstance(placement, str) or not placement.strip():
        raise ValueError(
            "an impression needs context.placement: the placement of the answer shown "
            "(for_you, similar, complementary, cross_category or search)"
        )
    items = context.get("items")
    if (
        not isinstance(items, list)
        or not items
        or len(items) > MAX_IMPRESSION_ITEMS
        or not all(isinstance(i, str) and i.strip() and len(i) <= MAX_ID_LENGTH for i in items)
    ):
        raise ValueError(
            "an impression needs context.items: the ids of the items shown, in order "
            f"(1 to {MAX_IMPRESSION_ITEMS:,} item ids)"
        )
    for key in ("bundle", "experiment", "arm"):
        if context.get(key) is not None and not isinstance(context[key], str):
            raise ValueError(f"an impression's context.{key} must be text, as the answer gave it")
