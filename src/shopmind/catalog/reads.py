"""Read-side queries the API pages through: paged items and users, per-day event counts and
titles by id (the Store itself has point reads and full scans). SQL stays in ``catalog/``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, Text, cast, func, or_, select

from shopmind.catalog import _tables as t
from shopmind.catalog.bounds import time_window
from shopmind.catalog.rows import ITEM_COLUMNS, USER_COLUMNS, to_item, to_user
from shopmind.catalog.schema import DAY_MS, Item, User
from shopmind.catalog.store import Store


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def page_items(
    store: Store, limit: int, offset: int, query: str | None = None, category: str | None = None
) -> tuple[list[Item], int]:
    """Items by id and how many match: ``query`` is a substring of the title, brand or id (any
    case); ``category`` names one level of the category path (``A > B`` means its last level).

    ``total`` counts rows; a page leaves out rows the schema refuses (warned about)."""
    it = t.items
    stmt: Select[Any] = select(*ITEM_COLUMNS)
    if query:
        like = _like(query)
        stmt = stmt.where(
            or_(
                func.lower(it.c.title).like(like, escape="\\"),
                func.lower(it.c.brand).like(like, escape="\\"),
                func.lower(it.c.id).like(like, escape="\\"),
            )
        )
    if category and category.split(">")[-1].strip():
        # The path is a JSON list; a level matches as a whole quoted JSON string.
        level = json.dumps(category.split(">")[-1].strip())
        stmt = stmt.where(
            func.lower(cast(it.c.category_path, Text)).like(_like(level), escape="\\")
        )
    with store._connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
        rows = conn.execute(stmt.order_by(it.c.id).limit(limit).offset(offset)).all()
    return [item for item in map(to_item, rows) if item is not None], total


def page_users(store: Store, limit: int, offset: int) -> tuple[list[tuple[User, int]], int]:
    """Users by id with their event counts, and how many users there are."""
    us, ev = t.users, t.events
    counts = select(ev.c.user_id, func.count().label("n")).group_by(ev.c.user_id).subquery()
    stmt = (
        select(*USER_COLUMNS, func.coalesce(counts.c.n, 0).label("n_events"))
        .outerjoin(counts, counts.c.user_id == us.c.id)
        .order_by(us.c.id)
        .limit(limit)
        .offset(offset)
    )
    with store._connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(us)).scalar_one())
        rows = conn.execute(stmt).all()
    users = [(to_user(row), int(row.n_events)) for row in rows]
    return [(user, n) for user, n in users if user is not None], total


def user_exists(store: Store, user_id: str) -> bool:
    """Whether a user row is stored (whether or not it reads as a valid user)."""
    with store._connect() as conn:
        query = select(t.users.c.id).where(t.users.c.id == user_id)
        return conn.execute(query).first() is not None


def user_event_count(store: Store, user_id: str) -> int:
    with store._connect() as conn:
        query = select(func.count()).select_from(t.events).where(t.events.c.user_id == user_id)
        return int(conn.execute(query).scalar_one())


def events_by_day(store: Store, days: int = 90) -> list[tuple[str, int]]:
    """Events per UTC day, for the last ``days`` days that have any (oldest first).

    Events outside the accepted time range (a hand-written far-off time) are not counted."""
    ev = t.events
    day = func.floor(ev.c.timestamp / DAY_MS)
    window = time_window()
    inside = ev.c.timestamp.between(window.earliest_ms, window.latest_ms())
    with store._connect() as conn:
        rows = conn.execute(
            select(day, func.count()).where(inside).group_by(day).order_by(day.desc()).limit(days)
        ).all()
    return [
        (datetime.fromtimestamp(int(d) * 86_400, tz=UTC).date().isoformat(), int(n))
        for d, n in reversed(rows)
    ]


def titles(store: Store, item_ids: set[str]) -> dict[str, str]:
    """Titles of the given items (those the catalogue holds)."""
    if not item_ids:
        return {}
    with store._connect() as conn:
        rows = conn.execute(select(t.items.c.id, t.items.c.title).where(t.items.c.id.in_(item_ids)))
        return {row.id: row.title for row in rows}
