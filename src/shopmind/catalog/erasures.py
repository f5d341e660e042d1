"""The erasure log, and the snapshot marks bundles are checked against.

Deleting a shopper (:meth:`Store.delete_user`) records one row here, in the same transaction:
when, how many events went, and the smallest arrival number (``events.seq``) among them —
never who: the subject is an HMAC of the id under a salt kept in the store, enough to answer
"was this shopper erased, and when" for someone who already knows the id.

A training snapshot records its :class:`SnapshotMark` first: the newest erasure so far and
the newest event's arrival number, and it reads no event past that number. A bundle built
from it holds the influence of exactly the erasures after its mark whose first removed event
is at or before the mark's event number (:func:`erased_since`); it may hold nothing else of a
shopper erased since.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from shopmind.catalog import _tables as t
from shopmind.catalog._engine import SQLITE_BUSY_TIMEOUT_MS

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

log = logging.getLogger(__name__)

_SALT_KEY = "erasure_salt"
#: How long wiping the SQLite write-ahead log waits for readers before trying again later.
WIPE_WAIT_MS = 250


@dataclass(frozen=True)
class Erasure:
    """One forgotten shopper, without who."""

    id: int
    erased_at_ms: int
    #: The smallest arrival number among the removed events; None when there were none.
    first_seq: int | None
    events: int


@dataclass(frozen=True)
class SnapshotMark:
    """Where a training snapshot stood: what a bundle built from it can hold."""

    #: The newest erasure recorded before the snapshot (0: none).
    erasure: int
    #: The newest event's arrival number then; the snapshot reads no event past it.
    events_seq: int
    #: When the mark was taken (epoch ms): of two snapshots, the later one is newer.
    taken_ms: int


def salt(conn: Connection) -> bytes:
    """The store's salt for subject hashes (made on first use, kept in the store)."""
    meta = t.store_meta
    found = conn.execute(select(meta.c.value).where(meta.c.key == _SALT_KEY)).scalar()
    if found is None:
        module = postgresql if conn.dialect.name == "postgresql" else sqlite
        insert = module.insert(meta).values(key=_SALT_KEY, value=secrets.token_hex(32))
        conn.execute(insert.on_conflict_do_nothing(index_elements=[meta.c.key]))
        found = conn.execute(select(meta.c.value).where(meta.c.key == _SALT_KEY)).scalar_one()
    return bytes.fromhex(found)


def subject_hash(key: bytes, user_id: str, purpose: str = "erasure") -> str:
    """The keyed hash of a shopper id for ``purpose`` (an erasure row, a log line)."""
    return hmac.new(key, f"{purpose}:{user_id}".encode(), hashlib.sha256).hexdigest()


def record(conn: Connection, user_id: str) -> tuple[int, bool]:
    """Remove a shopper's events and row and log the erasure, inside ``conn``'s transaction;
    returns the events removed and whether anything was (nothing is logged otherwise)."""
    ev = t.events
    # The arrival numbers of exactly the rows removed (not of a count taken before).
    seqs = conn.execute(ev.delete().where(ev.c.user_id == user_id).returning(ev.c.seq)).all()
    removed = len(seqs)
    had_row = conn.execute(t.users.delete().where(t.users.c.id == user_id)).rowcount > 0
    if removed or had_row:
        conn.execute(
            t.erasures.insert().values(
                subject=subject_hash(salt(conn), user_id),
                erased_at=int(time.time() * 1000),
                first_seq=min(int(row[0]) for row in seqs) if seqs else None,
                events=removed,
            )
        )
    return removed, bool(removed or had_row)


def snapshot_mark(store: Store) -> SnapshotMark:
    """The mark a training snapshot takes before it reads anything (erasures first: an
    erasure committed while the events are read is after the mark, so it counts against it)."""
    taken = int(time.time() * 1000)
    with store._connect() as conn:
        erasure = conn.execute(select(func.max(t.erasures.c.id))).scalar()
    with store._connect() as conn:
        seq = conn.execute(select(func.max(t.events.c.seq))).scalar()
    return SnapshotMark(int(erasure or 0), int(seq or 0), taken)


def newest(store: Store) -> int:
    """The newest erasure's number (0: none); one cheap query, for polling."""
    with store._connect() as conn:
        return int(conn.execute(select(func.max(t.erasures.c.id))).scalar() or 0)


def after(store: Store, erasure: int) -> list[Erasure]:
    """The erasures recorded after number ``erasure``, oldest first."""
    er = t.erasures
    stmt = select(er.c.id, er.c.erased_at, er.c.first_seq, er.c.events)
    with store._connect() as conn:
        rows = conn.execute(stmt.where(er.c.id > erasure).order_by(er.c.id)).all()
    return [_erasure(row) for row in rows]


def _erasure(row: Row[Any, Any, Any, Any]) -> Erasure:
    first = row.first_seq
    return Erasure(
        int(row.id), int(row.erased_at), None if first is None else int(first), int(row.events)
    )


def erased_since(mark: SnapshotMark | None, erasures: list[Erasure]) -> list[Erasure]:
    """Those of ``erasures`` whose shopper's events a snapshot with this mark may hold
    (without a mark, every erasure that removed events)."""
    if mark is None:
        return [e for e in erasures if e.first_seq is not None]
    return [
        e
        for e in erasures
        if e.id > mark.erasure and e.first_seq is not None and e.first_seq <= mark.events_seq
    ]


def lookup(store: Store, user_id: str) -> list[Erasure]:
    """The erasures of this shopper id (for an operator who knows it), oldest first."""
    er = t.erasures
    with store._connect() as conn:
        subject = subject_hash(salt(conn), user_id)
        stmt = select(er.c.id, er.c.erased_at, er.c.first_seq, er.c.events)
        rows = conn.execute(stmt.where(er.c.subject == subject).order_by(er.c.id)).all()
    return [_erasure(row) for row in rows]


def log_key(store: Store) -> bytes:
    """The store's salt, for hashing shopper ids in log lines."""
    with store._connect(write=True) as conn:
        return salt(conn)


def wipe_freed_pages(store: Store) -> bool:
    """Make deleted rows unreadable from the database files; True when done.

    SQLite (opened with ``secure_delete``) zeroes deleted rows in its pages, but the
    write-ahead log still holds the pages as they were: this checkpoints it into the
    database and truncates it to nothing. A reader still inside an older snapshot keeps
    its frames in use: then it waits :data:`WIPE_WAIT_MS` and returns False (call again
    later). PostgreSQL keeps dead rows until (auto)vacuum; nothing is done there.
    """
    if store.backend != "sqlite":
        return True
    with store._write_lock():
        raw = store._engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"PRAGMA busy_timeout={WIPE_WAIT_MS}")
            try:
                busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            finally:
                cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                cursor.close()
        finally:
            raw.close()
    if busy:
        log.info("the write-ahead log is in use by a reader; wiping it again later")
    return not busy
