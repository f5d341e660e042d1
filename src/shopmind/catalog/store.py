"""The Store: the shop's items, users and event log in SQLite (default) or PostgreSQL.

Built on SQLAlchemy Core. Times are kept as epoch milliseconds; events keep their arrival
order in ``seq``. Each top-level write runs in its own transaction; ``batch()`` groups many
writes into one that lands whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

import numpy as np
from sqlalchemy import Row, Select, bindparam, delete, func, select
from sqlalchemy.engine import Connection

from shopmind.catalog import _tables as t
from shopmind.catalog import erasures
from shopmind.catalog._engine import (
    StoreError,
    database_errors,
    mask_url,
    open_engine,
    parse_url,
    writer_lock,
)
from shopmind.catalog._group import GroupWriter
from shopmind.catalog._writer import StoreWriter, event_rows
from shopmind.catalog.bounds import time_window
from shopmind.catalog.records import user_export
from shopmind.catalog.rows import (
    EVENT_COLUMNS,
    ITEM_COLUMNS,
    RECENT_COLUMNS,
    USER_COLUMNS,
    event_batch,
    recent,
    split_column,
    to_event,
    to_item,
    to_user,
)
from shopmind.catalog.schema import NOT_BEHAVIOUR, Event, Item, User, from_millis
from shopmind.config import default_store_url

__all__ = ["SCAN_COLUMNS", "Store", "StoreError", "StoreWriter"]

#: Keys of each batch :meth:`Store.scan_events` yields, in order.
SCAN_COLUMNS = ("seq", "user_id", "item_id", "type", "value", "query", "timestamp_ms", "split")


#: A shopper's newest events naming an item, built once (a server runs it on every request).
_RECENT = (
    select(*RECENT_COLUMNS)
    .where(t.events.c.user_id == bindparam("user"), t.events.c.item_id.is_not(None))
    .order_by(t.events.c.timestamp.desc(), t.events.c.seq.desc())
    .limit(bindparam("limit"))
)


def safe_url(url: str | None = None) -> str:
    """The URL ``Store(url)`` opens, password masked, without opening it (StoreError when
    it is not a store URL)."""
    return mask_url(parse_url(default_store_url() if url is None else url))


class Store:
    """The shop's facts in one database; ``Store()`` opens the default SQLite file."""

    def __init__(self, url: str | None = None) -> None:
        self._url = parse_url(default_store_url() if url is None else url)
        self._engine = open_engine(self._url)
        #: Held around every write transaction (SQLite: one writer at a time, in turn).
        self._write_lock = writer_lock(self._url)
        #: SQLite: concurrent appends of events land together, one transaction per group.
        self._group = (
            GroupWriter(lambda: self._connect(write=True)) if self._write_lock.serializes else None
        )
        #: An erasure is still readable in the SQLite files (see :meth:`wipe_erased`).
        self._wipe_due = False
        self._closed = False
        try:
            # In turn with other writers: two processes creating one schema at once would
            # each read "no table" and then fight over the write (SQLite: "locked").
            with database_errors(self._url), self._write_lock():
                t.metadata.create_all(self._engine)
                for index in (*t.events.indexes, *t.items.indexes):  # an older store
                    index.create(self._engine, checkfirst=True)
        except BaseException:
            self._engine.dispose()
            raise

    # -- identity and lifetime -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The full store URL, password included (pass it on, do not print it)."""
        return self._url.render_as_string(hide_password=False)

    @property
    def safe_url(self) -> str:
        """The store URL with the password masked, safe to log and show."""
        return mask_url(self._url)

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._url.get_backend_name()

    def __repr__(self) -> str:
        return f"Store({self.safe_url!r})"

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
        if self._group is not None:
            self._group.close()
        self._closed = True
        self._engine.dispose()
        self._write_lock.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[Connection]:
        if self._closed:
            raise StoreError(f"store {self.safe_url!r} is closed; open a new Store")
        with database_errors(self._url):
            if write:
                with self._write_lock(), self._engine.connect() as conn:
                    conn.execution_options(shopmind_write=True)
                    with conn.begin():
                        yield conn
            else:
                with self._engine.connect() as conn:
                    yield conn

    # -- writes ----------------------------------------------------------------------------

    def batch(self) -> AbstractContextManager[StoreWriter]:
        """One transaction for many writes: committed at exit, rolled back on an exception."""
        return self._batch()

    @contextmanager
    def _batch(self) -> Iterator[StoreWriter]:
        with self._connect(write=True) as conn:
            yield StoreWriter(conn)

    def upsert_items(self, items: Iterable[Item]) -> int:
        """Insert or replace items by id; returns the number of rows written."""
        with self.batch() as writer:
            return writer.upsert_items(items)

    def upsert_users(self, users: Iterable[User]) -> int:
        """Insert or replace users by id; returns the number of rows written."""
        with self.batch() as writer:
            return writer.upsert_users(users)

    def append_events(self, events: Iterable[Event]) -> int:
        """Append events, skipping ids already stored; returns how many were new.

        On a SQLite file the events of concurrent calls land together (group commit, see
        ``catalog/_group.py``), each call all or nothing; it returns once they are committed.
        """
        if self._group is not None:
            return self._group.append(event_rows(events))
        with self.batch() as writer:
            return writer.append_events(events)

    def append_event_columns(self, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> int:
        """Append events given as columns; see :meth:`StoreWriter.append_event_columns`."""
        with self.batch() as writer:
            return writer.append_event_columns(columns)

    def delete_item(self, item_id: str) -> bool:
        """Remove an item from the catalogue (its events stay in the log); False if absent."""
        with self._connect(write=True) as conn:
            result = conn.execute(delete(t.items).where(t.items.c.id == item_id))
            return result.rowcount > 0

    def delete_user(self, user_id: str) -> int:
        """Forget a shopper: their row and all their events; returns the events removed.

        The erasure is logged (when, not who: see :mod:`shopmind.catalog.erasures`) in the
        same transaction, so bundles trained on their data can be told apart; on SQLite the
        freed pages are wiped from the files too (:func:`erasures.wipe_freed_pages`).
        """
        with self._connect(write=True) as conn:
            removed, erased = erasures.record(conn, user_id)
        if erased:
            self._wipe_due = True
            self.wipe_erased()
        return removed

    def wipe_erased(self) -> bool:
        """Wipe the rows :meth:`delete_user` removed from the database files, if that is still
        to do (a reader held the SQLite write-ahead log); True when nothing is left to do."""
        if self._wipe_due:
            self._wipe_due = not erasures.wipe_freed_pages(self)
        return not self._wipe_due

    # -- point reads -----------------------------------------------------------------------

    def get_item(self, item_id: str) -> Item | None:
        """The item with this id, or None."""
        with self._connect() as conn:
            row = conn.execute(select(*ITEM_COLUMNS).where(t.items.c.id == item_id)).first()
        return None if row is None else to_item(row)

    def get_user(self, user_id: str) -> User | None:
        """The user with this id, or None."""
        with self._connect() as conn:
            row = conn.execute(select(*USER_COLUMNS).where(t.users.c.id == user_id)).first()
        return None if row is None else to_user(row)

    def user_events(
        self, user_id: str, limit: int | None = None, *, behaviour: bool = False
    ) -> list[Event]:
        """A user's events, oldest first (by timestamp, then arrival).

        With ``limit``, only the most recent ``limit`` events, still oldest first. With
        ``behaviour``, only what the shopper did (no impressions: what they were shown).
        """
        ev = t.events
        stmt = select(*EVENT_COLUMNS).where(ev.c.user_id == user_id)
        if behaviour:
            stmt = stmt.where(ev.c.type.not_in(sorted(NOT_BEHAVIOUR)))
        if limit is None:
            stmt = stmt.order_by(ev.c.timestamp, ev.c.seq)
        else:
            stmt = stmt.order_by(ev.c.timestamp.desc(), ev.c.seq.desc()).limit(max(limit, 0))
        with self._connect() as conn:
            rows = list(conn.execute(stmt).all())
        if limit is not None:
            rows.reverse()
        return [event for event in map(to_event, rows) if event is not None]

    def catalogue_marker(self) -> tuple[int, int]:
        """(items, newest ``updated_at`` in epoch ms): changes when any item is written or
        deleted, so a serving process polls it to know when to catch up."""
        items = t.items
        with self._connect() as conn:
            count, newest = conn.execute(select(func.count(), func.max(items.c.updated_at))).one()
        return int(count), int(newest or 0)

    def items_changed(self, since_ms: int) -> list[Item]:
        """Items written at or after ``since_ms`` (epoch ms)."""
        stmt = select(*ITEM_COLUMNS).where(t.items.c.updated_at >= since_ms)
        with self._connect() as conn:
            rows = conn.execute(stmt).all()
        return [item for item in map(to_item, rows) if item is not None]

    def recent_item_events(
        self, user_id: str, limit: int
    ) -> list[tuple[str, str, float | None, int]]:
        """A user's newest ``limit`` events that name an item, oldest first, as (item id,
        type, value, epoch ms): the cheap read a server makes on every request."""
        with self._connect() as conn:
            rows = conn.execute(_RECENT, {"user": user_id, "limit": max(limit, 0)}).all()
        return recent(rows[::-1])

    def user_item_ids(self, user_id: str, event_type: str | None = None) -> list[str]:
        """Every item a user has an event with (of ``event_type`` only, when given)."""
        ev = t.events
        stmt = select(ev.c.item_id).distinct().where(ev.c.user_id == user_id)
        stmt = stmt.where(ev.c.item_id.is_not(None))
        if event_type is not None:
            stmt = stmt.where(ev.c.type == event_type)
        with self._connect() as conn:
            return [row[0] for row in conn.execute(stmt).all()]

    def stored_users(self, user_ids: Iterable[str]) -> set[str]:
        """Which of these shoppers the Store still holds anything of (a record or events)."""
        wanted = list(dict.fromkeys(user_ids))
        found: set[str] = set()
        with self._connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(
                    conn.execute(select(t.users.c.id).where(t.users.c.id.in_(chunk))).scalars()
                )
                stmt = select(t.events.c.user_id).distinct().where(t.events.c.user_id.in_(chunk))
                found.update(conn.execute(stmt).scalars())
        return found

    def events_after(self, seq: int) -> int:
        """Behaviour events (impressions left out) that arrived after arrival number ``seq``."""
        ev = t.events
        stmt = select(func.count()).where(ev.c.seq > seq, ev.c.type.not_in(sorted(NOT_BEHAVIOUR)))
        with self._connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def online_events(
        self, types: Iterable[str], since_ms: int, until_ms: int, batch_size: int = 20_000
    ) -> Iterator[tuple[str, str | None, str, float | None, int, dict[str, Any] | None]]:
        """Events of these types from ``since_ms`` to ``until_ms`` (epoch ms, both included)
        by time, as (user id, item id, type, value, epoch ms, context): what the online
        metrics read (impressions and the clicks, carts and purchases after them)."""
        ev = t.events
        stmt = (
            select(ev.c.user_id, ev.c.item_id, ev.c.type, ev.c.value, ev.c.timestamp, ev.c.context)
            .where(ev.c.type.in_(sorted(set(types))))
            .where(ev.c.timestamp.between(since_ms, until_ms))
            .order_by(ev.c.timestamp, ev.c.seq)
        )
        for rows in self._stream(stmt, batch_size):
            for row in rows:
                user, item, kind, value, ts, context = tuple(row)
                if type(user) is str and type(ts) is int:  # a hand-written bad row is skipped
                    ctx = context if isinstance(context, dict) else None
                    yield user, item, kind, value, ts, ctx

    def export_user(self, user_id: str) -> dict[str, Any]:
        """Everything stored about a user, as JSON-ready data (for access requests): the
        record of :func:`~shopmind.catalog.records.user_export`, as the API answers it."""
        return user_export(user_id, self.get_user(user_id), self.user_events(user_id))

    def counts(self) -> dict[str, int]:
        """Rows per table (``items``, ``users``, ``events``) and ``events.<type>`` per type."""
        with self._connect() as conn:
            out = {
                name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in (("items", t.items), ("users", t.users), ("events", t.events))
            }
            per_type = select(t.events.c.type, func.count()).group_by(t.events.c.type)
            for event_type, n in conn.execute(per_type).all():
                out[f"events.{event_type}"] = int(n)
        return out

    def event_time_range(self) -> tuple[datetime, datetime] | None:
        """The first and last event timestamps, or None when there are no events."""
        ts = t.events.c.timestamp
        window = time_window()  # a hand-written far-off time is no time to report
        inside = ts.between(window.earliest_ms, window.latest_ms())
        with self._connect() as conn:
            first, last = conn.execute(select(func.min(ts), func.max(ts)).where(inside)).one()
        return None if first is None else (from_millis(first), from_millis(last))

    def _event_ids(self, seqs: list[int]) -> dict[int, str]:
        """Event ids by arrival number (to name bad rows a scan skips)."""
        ev = t.events
        with self._connect() as conn:
            found = conn.execute(select(ev.c.seq, ev.c.event_id).where(ev.c.seq.in_(seqs)))
            return {int(seq): str(event_id) for seq, event_id in found}

    # -- streaming reads -------------------------------------------------------------------

    def _stream(self, stmt: Select[Any], batch_size: int) -> Iterator[Sequence[Row[Any]]]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        # yield_per: a server-side cursor on PostgreSQL, so memory stays at one batch.
        with self._connect() as conn:
            result = conn.execution_options(yield_per=batch_size).execute(stmt)
            yield from result.partitions()

    def iter_items(self, batch_size: int = 10_000) -> Iterator[Item]:
        """Every item, by id, read ``batch_size`` rows at a time."""
        for rows in self._stream(select(*ITEM_COLUMNS).order_by(t.items.c.id), batch_size):
            yield from (item for item in map(to_item, rows) if item is not None)

    def iter_users(self, batch_size: int = 10_000) -> Iterator[User]:
        """Every user, by id, read ``batch_size`` rows at a time."""
        for rows in self._stream(select(*USER_COLUMNS).order_by(t.users.c.id), batch_size):
            yield from (user for user in map(to_user, rows) if user is not None)

    def scan_events(
        self, batch_size: int = 200_000, *, upto_seq: int | None = None
    ) -> Iterator[dict[str, np.ndarray]]:
        """The whole event log in arrival order, as columnar batches of numpy arrays.

        Keys are :data:`SCAN_COLUMNS`: ``seq`` and ``timestamp_ms`` int64, ``value`` float64
        (NaN when absent), the rest object arrays of str or None; ``split`` is the event's
        ``context["split"]`` (set by benchmark importers) or None.

        Each batch is its own short read, so a long scan keeps no snapshot open (SQLite can
        checkpoint, and wipe erased rows, meanwhile). With ``upto_seq`` no event past that
        arrival number is read: a training snapshot's mark (:mod:`shopmind.catalog.erasures`).
        Impressions (what shoppers were shown, not what they did) are not read.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        ev = t.events
        stmt = select(
            ev.c.seq,
            ev.c.user_id,
            ev.c.item_id,
            ev.c.type,
            ev.c.value,
            ev.c.query,
            ev.c.timestamp,
            split_column(self.backend),
        )
        stmt = stmt.where(ev.c.type.not_in(sorted(NOT_BEHAVIOUR)))
        if upto_seq is not None:
            stmt = stmt.where(ev.c.seq <= upto_seq)
        after: int | None = None
        while True:
            page = stmt if after is None else stmt.where(ev.c.seq > after)
            with self._connect() as conn:
                rows = conn.execute(page.order_by(ev.c.seq).limit(batch_size)).all()
            if rows:
                yield event_batch(rows, self._event_ids)
            if len(rows) < batch_size:
                return
            after = int(rows[-1][0])
