"""The shop's facts: items, users and behaviour events, validated at the door."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
]

#: Types whose events carry no item (a search is a query, not a product).
ITEMLESS_EVENT_TYPES = frozenset({"search"})


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
    """Parse ISO-8601 text, epoch seconds or epoch milliseconds into an aware UTC datetime."""
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
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"timestamp {value!r} must be a finite, non-negative epoch")
    # Epoch seconds stay below 1e11 until the year 5138; anything larger is milliseconds.
    seconds = number / 1000.0 if number >= 1e11 else number
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


AttributeValue = str | int | float | bool


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Item(_Record):
    """A product of the catalogue."""

    id: str
    title: str = ""
    description: str = ""
    category_path: tuple[str, ...] = ()
    brand: str = ""
    price: float | None = None
    currency: str = ""
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
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
        return value

    @field_validator("created_at", mode="before")
    @classmethod
    def _created(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_timestamp(value)

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

    id: str
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    created_at: datetime | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _non_empty(value, "user id")

    @field_validator("created_at", mode="before")
    @classmethod
    def _created(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_timestamp(value)


class Event(_Record):
    """One thing a shopper did. ``id`` is the idempotency key: re-sending it adds nothing."""

    id: str
    user_id: str
    item_id: str | None = None
    type: str
    value: float | None = None
    query: str | None = None
    timestamp: datetime
    context: dict[str, Any] = Field(default_factory=dict)

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
    def _type(cls, value: str) -> str:
        event_type_code(value)
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"value must be finite, got {value}")
        return value

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp(cls, value: Any) -> datetime:
        return parse_timestamp(value)

    @model_validator(mode="after")
    def _item_or_query(self) -> Event:
        if self.type in ITEMLESS_EVENT_TYPES:
            if not self.query:
                raise ValueError(f"a {self.type} event needs a query")
        elif self.item_id is None:
            raise ValueError(f"a {self.type} event needs an item_id")
        return self
