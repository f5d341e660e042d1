"""The Store's tables (SQLAlchemy Core): one definition for SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)

metadata = MetaData()

# SQLite only aliases rowid (cheap, monotonic arrival order) for a column typed exactly INTEGER.
_Seq = BigInteger().with_variant(Integer(), "sqlite")
# NULL, not JSON 'null', when a Python value is None: keeps empty contexts free to store.
_Json = JSON(none_as_null=True)

items = Table(
    "items",
    metadata,
    Column("id", Text, primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("category_path", _Json, nullable=False),
    Column("brand", Text, nullable=False, default=""),
    Column("price", Float, nullable=True),
    Column("currency", Text, nullable=False, default=""),
    Column("attributes", _Json, nullable=False),
    Column("available", Boolean, nullable=False, default=True),
    Column("created_at", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    # Serving processes poll for items changed since they last looked (Store.items_changed).
    Index("ix_items_updated", "updated_at"),
)

users = Table(
    "users",
    metadata,
    Column("id", Text, primary_key=True),
    Column("attributes", _Json, nullable=False),
    Column("created_at", BigInteger, nullable=True),
)

events = Table(
    "events",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("event_id", Text, nullable=False, unique=True),
    Column("user_id", Text, nullable=False, index=True),
    Column("item_id", Text, nullable=True, index=True),
    Column("type", Text, nullable=False),
    Column("value", Float, nullable=True),
    Column("query", Text, nullable=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("context", _Json, nullable=True),
    # A shopper's latest events, read on every recommendation, come straight off this index
    # (timestamp, then seq, newest first) instead of a sort of all their events.
    Index("ix_events_user_time", "user_id", "timestamp", "seq"),
    # The online metrics read the impressions and outcomes of a time range.
    Index("ix_events_type_time", "type", "timestamp"),
)

#: Event columns in the order the writers bind them (seq is assigned by the database).
EVENT_COLUMNS = (
    "event_id",
    "user_id",
    "item_id",
    "type",
    "value",
    "query",
    "timestamp",
    "context",
)

# The erasure log: one row per shopper forgotten, without who (a salted hash of the id). A
# bundle trained on a snapshot taken before an erasure, of events up to ``first_seq`` or
# later, holds that shopper's influence (see shopmind.catalog.erasures).
erasures = Table(
    "erasures",
    metadata,
    Column("id", _Seq, primary_key=True, autoincrement=True),
    Column("subject", Text, nullable=False, index=True),
    Column("erased_at", BigInteger, nullable=False),
    # The smallest arrival number (events.seq) among the removed events; NULL when none.
    Column("first_seq", BigInteger, nullable=True),
    Column("events", BigInteger, nullable=False),
)

# Facts about the store itself (key -> value), e.g. the salt of the erasure log's hashes.
store_meta = Table(
    "store_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
