"""Stored rows into records: the one way every read of the Store turns rows into items, users
and events.

A row the schema would refuse (written by an older version, or by hand: a time far out of
range, a NULL title, broken JSON, an unknown event type in the training snapshot) is skipped
with a warning naming its table, id, field and why. One bad row never fails a page, a
shopper's export, a training snapshot or a server's start. The rules are the schema's own
(:mod:`shopmind.catalog.schema`, :mod:`shopmind.catalog.bounds`): what may be written is what
may be read back.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError
from sqlalchemy import Text, case, cast, func
from sqlalchemy.sql.elements import ColumnElement

from shopmind.catalog import _tables as t
from shopmind.catalog.bounds import MAX_VALUE, time_window
from shopmind.catalog.schema import (
    ITEMLESS_EVENT_TYPES,
    STORED,
    Event,
    Item,
    User,
    event_types,
    from_millis,
)

log = logging.getLogger(__name__)

_M = TypeVar("_M", bound=BaseModel)

#: Bad rows named one by one per table and read; the rest are counted.
WARN_ROWS = 20
#: Distinct bad rows warned about per process (a page read again warns once).
_WARNED_MAX = 10_000
_warned: set[tuple[str, str, str]] = set()


def _raw(column: Any) -> ColumnElement[Any]:
    """A JSON column as its stored text: the driver never parses it (a bad one would fail
    the whole read), :func:`_json` does, row by row."""
    return cast(column, Text).label(column.name)


_it, _us, _ev = t.items.c, t.users.c, t.events.c
ITEM_COLUMNS = (
    *(_it.id, _it.title, _it.description, _raw(_it.category_path), _it.brand, _it.price),
    *(_it.currency, _raw(_it.attributes), _it.available, _it.created_at),
)
USER_COLUMNS = (_us.id, _raw(_us.attributes), _us.created_at)
EVENT_COLUMNS = (
    *(_ev.seq, _ev.event_id, _ev.user_id, _ev.item_id, _ev.type, _ev.value, _ev.query),
    *(_ev.timestamp, _raw(_ev.context)),
)
#: A shopper's recent item events, as :func:`recent` reads them.
RECENT_COLUMNS = (_ev.item_id, _ev.type, _ev.value, _ev.timestamp, _ev.seq)


class BadRow(ValueError):
    """A stored value the schema refuses: ``field`` and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def skipped(table: str, row_id: Any, field: str, reason: str) -> None:
    """Warn (once per row and field in this process) that a stored row is left out."""
    key = (table, str(row_id), field)
    if key in _warned:
        return
    if len(_warned) < _WARNED_MAX:
        _warned.add(key)
    log.warning(
        "skipped a bad stored row: %s %r: %s: %s (fix or delete the row)",
        table,
        row_id,
        field,
        reason,
    )


# -- point reads: rows through the schema ----------------------------------------------------


def to_item(row: Any) -> Item | None:
    """The item of a row of :data:`ITEM_COLUMNS`, or None (warned) when the row is bad."""
    return _validated(
        "items",
        row.id,
        Item,
        lambda: {
            "id": row.id,
            "title": row.title,
            "description": row.description,
            "category_path": _json(row.category_path, "category_path", list, []),
            "brand": row.brand,
            "price": row.price,
            "currency": row.currency,
            "attributes": _json(row.attributes, "attributes", dict, {}),
            "available": row.available,
            "created_at": _moment(row.created_at, "created_at"),
        },
    )


def to_user(row: Any) -> User | None:
    """The user of a row of :data:`USER_COLUMNS`, or None (warned) when the row is bad."""
    return _validated(
        "users",
        row.id,
        User,
        lambda: {
            "id": row.id,
            "attributes": _json(row.attributes, "attributes", dict, {}),
            "created_at": _moment(row.created_at, "created_at"),
        },
    )


def to_event(row: Any) -> Event | None:
    """The event of a row of :data:`EVENT_COLUMNS`, or None (warned) when the row is bad.

    A type this process has not registered is kept (another process did); every other rule
    of the schema holds.
    """
    return _validated(
        "events",
        row.event_id,
        Event,
        lambda: {
            "id": row.event_id,
            "user_id": row.user_id,
            "item_id": row.item_id,
            "type": row.type,
            "value": row.value,
            "query": row.query,
            "timestamp": _moment(row.timestamp, "timestamp", required=True),
            "context": _json(row.context, "context", dict, {}),
        },
    )


def _validated(
    table: str, row_id: Any, model: type[_M], fields: Callable[[], dict[str, Any]]
) -> _M | None:
    try:
        return model.model_validate(fields(), context=STORED)
    except BadRow as bad:
        skipped(table, row_id, bad.field, bad.reason)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"]) or "(row)"
        skipped(table, row_id, field, str(error["msg"]).removeprefix("Value error, "))
    return None


def _json(value: Any, field: str, kind: type, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise BadRow(field, "not valid JSON") from None
    if value is None:
        return default
    if not isinstance(value, kind):
        raise BadRow(field, f"expected a JSON {'object' if kind is dict else 'list'}")
    return value


def _moment(value: Any, field: str, *, required: bool = False) -> datetime | None:
    if value is None and not required:
        return None
    if type(value) is not int:  # a bool is not a time either
        raise BadRow(field, f"expected epoch milliseconds, got {value!r}")
    try:
        return from_millis(value)
    except (OverflowError, ValueError, OSError):
        raise BadRow(field, f"{value} ms is past the years a time can have") from None


# -- the hot path: a shopper's recent item events --------------------------------------------


def recent(rows: Sequence[Any]) -> list[tuple[str, str, float | None, int]]:
    """(item id, type, value, epoch ms) of rows of :data:`RECENT_COLUMNS`, bad ones left out
    (cheap checks: this runs on every recommendation)."""
    window = time_window()
    lo, hi = window.earliest_ms, window.latest_ms()
    out = []
    for item, kind, value, ts, seq in rows:
        problem = _event_problem(item, kind, value, ts, lo, hi)
        if problem is None:
            out.append((item, kind, None if value is None else float(value), ts))
        else:
            skipped("events", f"seq {seq}", *problem)
    return out


def _event_problem(
    item: Any, kind: Any, value: Any, ts: Any, lo: int, hi: int
) -> tuple[str, str] | None:
    if not (isinstance(item, str) and item):
        return "item_id", f"expected an item id, got {item!r}"
    if not (isinstance(kind, str) and kind):
        return "type", f"expected an event type, got {kind!r}"
    if value is not None and not _good_value(value):
        return "value", f"expected a finite number within ±{MAX_VALUE:g}, got {value!r}"
    if type(ts) is not int or not lo <= ts <= hi:
        return "timestamp", f"{ts!r} ms is outside the accepted time range"
    return None


def _good_value(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= MAX_VALUE
    )


# -- the training snapshot: columnar batches ----------------------------------------------------


def split_column(backend: str) -> ColumnElement[Any]:
    """The events' ``context["split"]``, NULL (not an error) where a context is not a JSON
    object: SQLite's json_extract fails the whole statement on one malformed context."""
    split = _ev.context["split"].as_string()
    if backend == "sqlite":
        guard = func.json_valid(_ev.context) == 1
    else:
        guard = func.json_typeof(_ev.context) == "object"
    return case((guard, split), else_=None).label("split")


def event_batch(
    rows: Sequence[Any], event_ids: Callable[[list[int]], dict[int, str]] | None = None
) -> dict[str, np.ndarray]:
    """Columns of a scan batch (seq, user_id, item_id, type, value, query, timestamp, split
    rows) as :meth:`Store.scan_events` yields them, without the rows the schema refuses.

    ``event_ids`` looks up the event ids of bad rows (by seq) for the warnings.
    """
    seq, user, item, kind, value, query, ts, split = zip(*rows, strict=True)
    known = set(event_types())
    itemless = ITEMLESS_EVENT_TYPES
    window = time_window()
    lo, hi = window.earliest_ms, window.latest_ms()

    times = np.array(ts)
    if times.dtype.kind != "i":  # SQLite keeps whatever was written: text, reals
        good = [type(x) is int and lo <= x <= hi for x in ts]
        times = np.array([x if ok else 0 for x, ok in zip(ts, good, strict=True)], np.int64)
    good_time = (times >= lo) & (times <= hi)
    try:
        values = np.array(value, dtype=np.float64)  # None becomes NaN
    except (TypeError, ValueError):
        values = np.array([v if _good_value(v) else np.inf for v in value], dtype=np.float64)
        values[np.array([v is None for v in value], dtype=bool)] = np.nan
    good_value = np.isnan(values) | (np.abs(values) <= MAX_VALUE)
    good_user = np.array([type(u) is str and u != "" for u in user], dtype=bool)
    good_type = np.array([k in known for k in kind], dtype=bool)
    is_search = np.array([k in itemless for k in kind], dtype=bool)
    has_item = np.array([type(i) is str and i != "" for i in item], dtype=bool)
    good_item = np.where(is_search, [i is None or type(i) is str for i in item], has_item)
    good_query = np.array([q is None or type(q) is str for q in query], dtype=bool)
    checks = (
        ("timestamp", good_time, "outside the accepted time range"),
        ("type", good_type, "not a known event type (register it in the training process)"),
        ("user_id", good_user, "expected a user id"),
        ("item_id", good_item, "expected an item id"),
        ("value", good_value, f"expected a finite number within ±{MAX_VALUE:g}"),
        ("query", good_query, "expected text"),
    )
    keep = np.logical_and.reduce([ok for _, ok, _ in checks])
    seqs = np.array(seq, dtype=np.int64)
    if not keep.all():
        _warn_batch(seqs, checks, keep, event_ids)
    return {
        "seq": seqs[keep],
        "user_id": np.array(user, dtype=object)[keep],
        "item_id": np.array(item, dtype=object)[keep],
        "type": np.array(kind, dtype=object)[keep],
        "value": values[keep],
        "query": np.array(query, dtype=object)[keep],
        "timestamp_ms": times.astype(np.int64)[keep],
        "split": np.array(split, dtype=object)[keep],
    }


def _warn_batch(
    seqs: np.ndarray,
    checks: Sequence[tuple[str, np.ndarray, str]],
    keep: np.ndarray,
    event_ids: Callable[[list[int]], dict[int, str]] | None,
) -> None:
    bad = np.flatnonzero(~keep)
    named = [int(seqs[i]) for i in bad[:WARN_ROWS]]
    ids = event_ids(named) if event_ids is not None else {}
    for i, number in zip(bad[:WARN_ROWS].tolist(), named, strict=True):
        field, _, reason = next(c for c in checks if not c[1][i])
        skipped("events", ids.get(number, f"seq {number}"), field, reason)
    if len(bad) > WARN_ROWS:
        log.warning(
            "skipped %d more bad stored rows of events in this batch (fix or delete them)",
            len(bad) - WARN_ROWS,
        )


def forget_warnings() -> None:
    """Warn again about rows already warned about (a new store, or a test)."""
    _warned.clear()
