"""Bad rows already in a store (an older version's, or written by hand) are skipped with a
warning naming them: never a failed page, export, snapshot or catalogue read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.schema import CreateTable

from shopmind.catalog import _tables as t
from shopmind.catalog import reads, rows
from shopmind.catalog.schema import Event, Item, User, to_millis
from shopmind.catalog.store import Store
from shopmind.data.dataset import Dataset

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
#: 3000-01-01: a time a datetime holds, far outside the accepted range.
YEAR_3000 = to_millis(datetime(3000, 1, 1, tzinfo=UTC))
#: The first millisecond of the year 10000: past any datetime.
YEAR_10000 = 253_402_300_800_000
#: Before the year 1.
YEAR_0 = -62_200_000_000_000


def _older_items_table(store: Store) -> None:
    """The items table as an older version made it: a title may be NULL."""
    with store._connect(write=True) as conn:
        if store.backend == "postgresql":
            conn.exec_driver_sql("ALTER TABLE items ALTER COLUMN title DROP NOT NULL")
            return
        ddl = str(CreateTable(t.items).compile(dialect=conn.dialect))
        conn.exec_driver_sql("DROP TABLE items")
        conn.exec_driver_sql(ddl.replace("title TEXT NOT NULL", "title TEXT"))
        for index in t.items.indexes:
            index.create(conn)


def _insert(store: Store, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    sql = text(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
    )
    with store._connect(write=True) as conn:
        conn.execute(sql, rows)


def _item(item_id: str, **fields: Any) -> dict[str, Any]:
    row = {
        "id": item_id,
        "title": f"Item {item_id}",
        "description": "",
        "category_path": '["Home", "Kitchen"]',
        "brand": "",
        "price": 10.0,
        "currency": "EUR",
        "attributes": "{}",
        "available": True,
        "created_at": to_millis(T0),
        "updated_at": to_millis(T0),
    }
    return {**row, **fields}


def _event(event_id: str, **fields: Any) -> dict[str, Any]:
    row = {
        "event_id": event_id,
        "user_id": "shopper",
        "item_id": "good",
        "type": "view",
        "value": None,
        "query": None,
        "timestamp": to_millis(T0),
        "context": None,
    }
    return {**row, **fields}


@pytest.fixture
def bad_store(store: Store) -> Store:
    """Good rows, and one bad row of each kind the schema refuses."""
    rows.forget_warnings()  # the same bad rows were warned about over the other backend
    _older_items_table(store)
    sqlite = store.backend == "sqlite"
    broken_json = "{oops" if sqlite else "[1, 2]"  # PostgreSQL holds no broken JSON
    _insert(
        store,
        "items",
        [
            _item("good"),
            _item("year-10000", created_at=YEAR_10000),
            _item("year-3000", created_at=YEAR_3000),
            _item("no-title", title=None),
            _item("bad-json", attributes=broken_json),
            _item("negative", price=-5.0),
        ],
    )
    _insert(
        store,
        "users",
        [
            {"id": "good-user", "attributes": '{"tier": "gold"}', "created_at": to_millis(T0)},
            {"id": "year-0", "attributes": "{}", "created_at": YEAR_0},
        ],
    )
    events = [
        _event("e1", timestamp=to_millis(T0)),
        _event("e2", timestamp=to_millis(T0) + 1000, type="purchase"),
        _event("e3", user_id="year-0", timestamp=to_millis(T0) + 2000),
        _event("s1", item_id=None, type="search", query="kettle", timestamp=to_millis(T0) + 3000),
        _event("far", timestamp=YEAR_10000 + 5000),
        _event("year-3000", item_id="untouched", timestamp=YEAR_3000),
        _event("teleport", type="teleport"),
        _event("no-item", item_id=None),
        _event("huge-value", value=1e300),
        _event("bad-context", context=broken_json),
    ]
    if sqlite:  # SQLite keeps whatever it is given
        events += [_event("text-time", timestamp="soon"), _event("text-value", value="lots")]
    _insert(store, "events", events)
    return store


def test_point_reads_skip_a_bad_row_with_a_warning_naming_it(
    bad_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="shopmind.catalog.rows"):
        assert bad_store.get_item("good") == Item(
            id="good",
            title="Item good",
            category_path=("Home", "Kitchen"),
            price=10.0,
            currency="EUR",
            created_at=T0,
        )
        for item_id in ("year-10000", "year-3000", "no-title", "bad-json", "negative"):
            assert bad_store.get_item(item_id) is None, item_id
        assert bad_store.get_user("year-0") is None
        assert bad_store.get_user("good-user") == User(
            id="good-user", attributes={"tier": "gold"}, created_at=T0
        )
    text = caplog.text
    for table, row_id, field in [
        ("items", "year-10000", "created_at"),
        ("items", "year-3000", "created_at"),
        ("items", "no-title", "title"),
        ("items", "bad-json", "attributes"),
        ("items", "negative", "price"),
        ("users", "year-0", "created_at"),
    ]:
        assert f"{table} '{row_id}': {field}:" in text, (table, row_id, field)
    assert "accepted time range" in text


def test_every_read_of_rows_leaves_the_bad_ones_out(bad_store: Store) -> None:
    assert [i.id for i in bad_store.iter_items()] == ["good"]
    assert [i.id for i in bad_store.items_changed(0)] == ["good"]
    assert [u.id for u in bad_store.iter_users()] == ["good-user"]
    items, total = reads.page_items(bad_store, 50, 0)
    assert [i.id for i in items] == ["good"] and total == 6  # the total counts rows
    users, _ = reads.page_users(bad_store, 50, 0)
    assert [u.id for u, _ in users] == ["good-user"]
    # An unregistered type is read (another process may have registered it), not trained on.
    shown = ["e1", "teleport", "e2", "s1"]
    assert [e.id for e in bad_store.user_events("shopper")] == shown
    assert [e.id for e in bad_store.user_events("shopper", limit=50)] == shown
    export = bad_store.export_user("shopper")
    assert [e["event_id"] for e in export["events"]] == shown
    json.dumps(export)  # JSON-ready
    assert bad_store.export_user("year-0")["user"] is None  # the row is bad, its events are not
    # The hot path reads no context: the event with a broken one still counts as a view there.
    recent = bad_store.recent_item_events("shopper", 100)
    assert {r[0] for r in recent} == {"good"} and len(recent) == 4
    assert all(r[2] is None for r in recent)  # the 1e300 value is not among them
    first, last = bad_store.event_time_range() or (None, None)
    assert first == T0 and last is not None and last.year == 2024
    inserted = bad_store.counts()["events"]
    far_off = 3 if bad_store.backend == "sqlite" else 2  # "soon" is no time either
    assert sum(n for _, n in reads.events_by_day(bad_store, 36_600)) == inserted - far_off


def test_the_training_snapshot_skips_bad_events_and_items(
    bad_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="shopmind.catalog.rows"):
        data = Dataset.from_store(bad_store)
    # e1, e2, e3, and the view whose context is broken (a snapshot reads only its split).
    assert data.n_events == 4 and len(data.search_query) == 1
    assert data.items.to_list() == ["good"]  # no event names the others
    assert int(data.timestamp.max()) < YEAR_3000
    for event_id, field in [
        ("far", "timestamp"),
        ("year-3000", "timestamp"),
        ("teleport", "type"),
        ("no-item", "item_id"),
        ("huge-value", "value"),
    ]:
        assert f"events '{event_id}': {field}:" in caplog.text, event_id


def test_a_stored_event_of_a_type_this_process_did_not_register_is_still_read(
    store: Store,
) -> None:
    """Shown and exported as stored (another process registered it), left out of training."""
    _insert(store, "events", [_event("e1"), _event("custom", type="gift_wrap")])
    assert [e.type for e in store.user_events("shopper")] == ["view", "gift_wrap"]
    assert Dataset.from_store(store).n_events == 1


def test_good_rows_read_back_as_written(store: Store) -> None:
    item = Item(id="p", title="Pan", category_path=("Home", "Kitchen"), price=3.5, created_at=T0)
    event = Event(
        id="e", user_id="u", item_id="p", type="rating", value=4, timestamp=T0, context={"a": 1}
    )
    store.upsert_items([item])
    store.append_events([event])
    assert store.get_item("p") == item
    assert store.user_events("u") == [event]
