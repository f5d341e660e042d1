"""Batch writes into one open transaction: upserts of items and users, appends of events."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from shopmind.catalog import _tables as t
from shopmind.catalog.schema import Event, Item, User, to_millis

#: Rows per statement: large enough to amortise round trips, small enough to bound memory.
CHUNK_ROWS = 5_000

#: Keys of :meth:`StoreWriter.append_event_columns`; ``context`` may be left out.
EVENT_COLUMN_KEYS = ("id", "user_id", "item_id", "type", "value", "query", "timestamp_ms")

_T = TypeVar("_T")
EventRow = tuple[str, str, str | None, str, float | None, str | None, int, str | None]

_COLUMNS = ", ".join(t.EVENT_COLUMNS)
_SQLITE_APPEND = (
    f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join('?' * len(t.EVENT_COLUMNS))}) "
    "ON CONFLICT (event_id) DO NOTHING"
)
# One statement per chunk over column arrays: PostgreSQL reports an exact count of new rows
# for it (executemany does not), and it is several times faster than row-by-row inserts.
_POSTGRES_APPEND = (
    f"INSERT INTO events ({_COLUMNS}) "
    "SELECT event_id, user_id, item_id, type, value, query, timestamp, context::json "
    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::text[], "
    f"%s::int8[], %s::text[]) AS batch ({_COLUMNS}) "
    "ON CONFLICT (event_id) DO NOTHING"
)


def _chunks(values: Iterable[_T], size: int = CHUNK_ROWS) -> Iterator[list[_T]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _now_millis() -> int:
    return to_millis(datetime.now(UTC))


def _json_or_none(value: Mapping[str, Any] | None) -> str | None:
    # default=str: a context may hold dates or decimals from a source system.
    return json.dumps(value, ensure_ascii=False, default=str) if value else None


def _item_row(item: Item, now: int) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "description": item.description,
        "category_path": list(item.category_path),
        "brand": item.brand,
        "price": item.price,
        "currency": item.currency,
        "attributes": dict(item.attributes),
        "available": item.available,
        "created_at": None if item.created_at is None else to_millis(item.created_at),
        "updated_at": now,
    }


def _user_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "attributes": dict(user.attributes),
        "created_at": None if user.created_at is None else to_millis(user.created_at),
    }


def _event_row(event: Event) -> EventRow:
    return (
        event.id,
        event.user_id,
        event.item_id,
        event.type,
        event.value,
        event.query,
        to_millis(event.timestamp),
        _json_or_none(event.context),
    )


def event_rows(events: Iterable[Event]) -> list[EventRow]:
    """Events as the rows :meth:`StoreWriter.append_rows` binds."""
    return [_event_row(event) for event in events]


def _texts(values: Sequence[Any] | np.ndarray, *, nullable: bool) -> list[Any]:
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "OU":
            out: list[Any] = values.tolist()
        else:
            out = values.astype(str).tolist()
    else:
        out = list(values)
    if nullable:
        return [None if v is None or v != v or v == "" else v for v in out]  # v != v: NaN
    return out


def _floats(values: Sequence[Any] | np.ndarray) -> list[float | None]:
    array = np.asarray(values, dtype=np.float64)
    out: list[float | None] = array.tolist()
    if np.isnan(array).any():
        out = [None if v != v else v for v in out]
    return out


class StoreWriter:
    """Writes into one open transaction; get one from ``Store.batch()``."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._dialect = connection.dialect.name

    def _insert(self, table: Table) -> Any:
        module = postgresql if self._dialect == "postgresql" else sqlite
        return module.insert(table)

    def _upsert(self, table: Table, rows: Iterable[dict[str, Any]]) -> int:
        stmt = self._insert(table)
        updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != "id"}
        # An update that does not know when the thing was created keeps the known date.
        updates["created_at"] = func.coalesce(stmt.excluded.created_at, table.c.created_at)
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.id], set_=updates)
        written = 0
        for chunk in _chunks(rows):
            # One statement may not touch a row twice (PostgreSQL); the last version wins.
            unique = list({row["id"]: row for row in chunk}.values())
            self._conn.execute(stmt, unique)
            written += len(unique)
        return written

    def upsert_items(self, items: Iterable[Item]) -> int:
        """Insert or replace items by id; returns the number of rows written."""
        now = _now_millis()
        return self._upsert(t.items, (_item_row(item, now) for item in items))

    def upsert_users(self, users: Iterable[User]) -> int:
        """Insert or replace users by id; returns the number of rows written."""
        return self._upsert(t.users, (_user_row(user) for user in users))

    def append_events(self, events: Iterable[Event]) -> int:
        """Append events, skipping ids already stored; returns how many were new."""
        return self._append_rows(_event_row(event) for event in events)

    def append_event_columns(self, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> int:
        """Append events given as columns (the trusted fast path for generators).

        Keys: id, user_id, item_id, type, value, query, timestamp_ms, and optionally context
        (one mapping or None per event). Values are not validated beyond their shape; NaN
        values and None/empty item ids and queries become NULL. Returns how many were new.
        """
        missing = [key for key in EVENT_COLUMN_KEYS if key not in columns]
        if missing:
            raise ValueError(
                f"append_event_columns: missing column(s) {', '.join(missing)}; "
                f"pass all of {', '.join(EVENT_COLUMN_KEYS)} (context is optional)"
            )
        lengths = {
            key: len(columns[key]) for key in (*EVENT_COLUMN_KEYS, "context") if key in columns
        }
        if len(set(lengths.values())) > 1:
            raise ValueError(f"append_event_columns: columns differ in length: {lengths}")
        n = lengths["id"]
        contexts: Iterable[str | None]
        if "context" in columns:
            contexts = [_json_or_none(c) for c in columns["context"]]
        else:
            contexts = [None] * n
        rows: Iterable[EventRow] = zip(
            _texts(columns["id"], nullable=False),
            _texts(columns["user_id"], nullable=False),
            _texts(columns["item_id"], nullable=True),
            _texts(columns["type"], nullable=False),
            _floats(columns["value"]),
            _texts(columns["query"], nullable=True),
            np.asarray(columns["timestamp_ms"], dtype=np.int64).tolist(),
            contexts,
            strict=True,
        )
        return self._append_rows(rows)

    def append_rows(self, rows: Iterable[EventRow]) -> int:
        """Append rows made by :func:`event_rows`, skipping ids already stored; how many
        were new."""
        return self._append_rows(rows)

    def _append_rows(self, rows: Iterable[EventRow]) -> int:
        added = 0
        for chunk in _chunks(rows):
            if self._dialect == "postgresql":
                arrays = tuple(list(column) for column in zip(*chunk, strict=True))
                result = self._conn.exec_driver_sql(_POSTGRES_APPEND, arrays)
            else:
                result = self._conn.exec_driver_sql(_SQLITE_APPEND, chunk)
            added += max(result.rowcount, 0)
        return added
