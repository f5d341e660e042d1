"""What the catalogue accepts: the window every stored time must fall in, and numeric and text
bounds. The schema (:mod:`shopmind.catalog.schema`) checks them on the way in, for the API and
the importers alike; the Store's reads (:mod:`shopmind.catalog.rows`) check them on the way out.

The time window is read from the environment, here and nowhere else:

- ``SHOPMIND_EARLIEST_TIME``: the earliest time accepted, ISO-8601 (default 1990-01-01, UTC);
- ``SHOPMIND_MAX_FUTURE_SECONDS``: how far past the current time a time may be (default 86400,
  one day: a clock a little ahead is fine, a date in the year 3000 is not).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EARLIEST_ENV = "SHOPMIND_EARLIEST_TIME"
FUTURE_ENV = "SHOPMIND_MAX_FUTURE_SECONDS"
DEFAULT_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
DEFAULT_FUTURE_SECONDS = 86_400.0

#: A price is a finite number in [0, MAX_PRICE].
MAX_PRICE = 1e12
#: An event's value is a finite number in [-MAX_VALUE, MAX_VALUE].
MAX_VALUE = 1e9
#: Ids (items, users, events) have at most this many characters (they are indexed keys).
MAX_ID_LENGTH = 256
#: An event's context nests objects and lists at most this deep.
MAX_CONTEXT_DEPTH = 16

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _WindowSettings(BaseSettings):
    """The two environment settings of the window (validated, with pydantic's messages)."""

    model_config = SettingsConfigDict(env_prefix="SHOPMIND_", extra="ignore")

    earliest_time: datetime = DEFAULT_EARLIEST
    max_future_seconds: float = Field(default=DEFAULT_FUTURE_SECONDS, ge=0, le=100 * 365 * 86_400)

    @field_validator("earliest_time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class TimeWindow:
    """Times from ``earliest`` to ``future_seconds`` past the current time, both included."""

    earliest: datetime = DEFAULT_EARLIEST
    future_seconds: float = DEFAULT_FUTURE_SECONDS

    @property
    def earliest_ms(self) -> int:
        return epoch_millis(self.earliest)

    def latest_ms(self) -> int:
        """The latest time accepted now, in epoch milliseconds."""
        now = datetime.now(UTC).timestamp() + self.future_seconds
        return math.floor(now * 1000)

    def contains_ms(self, millis: int) -> bool:
        return self.earliest_ms <= millis <= self.latest_ms()

    def describe(self) -> str:
        """The window in words, as error messages give it."""
        latest = datetime.fromtimestamp(self.latest_ms() // 1000, tz=UTC)
        return (
            f"from {_iso(self.earliest)} to {_iso(latest)} ({_duration(self.future_seconds)} "
            f"past the current time; {EARLIEST_ENV} and {FUTURE_ENV} set the range)"
        )

    def check(self, moment: datetime) -> datetime:
        """``moment`` in UTC when it is inside the window; ValueError saying the range if not."""
        millis = epoch_millis(moment)
        if not self.contains_ms(millis):
            raise ValueError(
                f"{moment.isoformat()} is outside the accepted time range: {self.describe()}"
            )
        return moment.astimezone(UTC)


def time_window() -> TimeWindow:
    """The window the environment sets (read again when the variables change)."""
    return _window(os.environ.get(EARLIEST_ENV), os.environ.get(FUTURE_ENV))


@lru_cache(maxsize=16)
def _window(earliest: str | None, future: str | None) -> TimeWindow:
    try:
        settings = _WindowSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"SHOPMIND_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise ValueError(f"the time window settings are wrong: {problems}") from None
    return TimeWindow(settings.earliest_time, settings.max_future_seconds)


def epoch_millis(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime, for any year datetime holds (no overflow near
    its limits, unlike ``moment.timestamp()`` after a conversion to UTC)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _duration(seconds: float) -> str:
    if seconds % 86_400 == 0 and seconds:
        days = int(seconds // 86_400)
        return "1 day" if days == 1 else f"{days} days"
    return f"{seconds:g} seconds"


# -- text -----------------------------------------------------------------------------------


def check_text(value: str) -> str:
    """``value`` when a database can store it as text: no NUL, no lone surrogate."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL (\\u0000) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (it holds a lone surrogate)") from None
    return value


def check_json(value: Any, depth: int = 0) -> Any:
    """``value`` when it is JSON a database stores and gives back as it was: finite numbers,
    storable text, nesting at most :data:`MAX_CONTEXT_DEPTH` deep."""
    if depth > MAX_CONTEXT_DEPTH:
        raise ValueError(f"nested deeper than {MAX_CONTEXT_DEPTH} levels")
    if isinstance(value, str):
        return check_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"numbers must be finite, got {value}")
    if isinstance(value, dict):
        for key, inner in value.items():
            check_text(str(key))
            check_json(inner, depth + 1)
    elif isinstance(value, list | tuple):
        for inner in value:
            check_json(inner, depth + 1)
    return value
