"""The Store, run against SQLite and a real PostgreSQL server with the same tests."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from shopmind.catalog.schema import Event, Item, User, to_millis
from shopmind.catalog.store import SCAN_COLUMNS, Store, StoreError

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def event(n: int, user: str = "u1", item: str | None = "i1", **fields: object) -> Event:
    base: dict[str, object] = {
        "id": f"e{n}",
        "user_id": user,
        "item_id": item,
        "type": "view",
        "timestamp": T0.timestamp() + n,
    }
    return Event.model_validate(base | fields)


def columns(n: int, start: int = 0) -> dict[str, np.ndarray]:
    ids = np.arange(start, start + n)
    return {
        "id": np.array([f"c{i}" for i in ids], dtype=object),
        "user_id": np.array([f"u{i % 7}" for i in ids], dtype=object),
        "item_id": np.array([f"i{i % 11}" for i in ids], dtype=object),
        "type": np.array(["view", "purchase"] * (n // 2) + ["view"] * (n % 2), dtype=object),
        "value": np.where(ids % 3 == 0, 2.0, np.nan),
        "query": np.array([None] * n, dtype=object),
        "timestamp_ms": to_millis(T0) + ids * 1000,
    }


def test_upsert_then_update_changes_fields(store: Store) -> None:
    first = Item(id="i1", title="Kettle", category_path=("Home", "Kitchen"), price=20.0)
    assert store.upsert_items([first, Item(id="i2", title="Mug")]) == 2
    assert store.get_item("i1") == first
    changed = Item(
        id="i1",
        title="Steel kettle",
        brand="Acme",
        price=None,
        attributes={"colour": "red", "litres": 1.5},
        available=False,
    )
    store.upsert_items([changed])
    assert store.get_item("i1") == changed
    assert store.get_item("missing") is None
    assert store.counts()["items"] == 2


def test_upsert_keeps_known_creation_date_and_last_duplicate_wins(store: Store) -> None:
    store.upsert_items([Item(id="i1", title="old", created_at=T0)])
    store.upsert_items([Item(id="i1", title="a"), Item(id="i1", title="b")])
    item = store.get_item("i1")
    assert item is not None
    assert (item.title, item.created_at) == ("b", T0)


def test_users_round_trip_and_update(store: Store) -> None:
    store.upsert_users([User(id="u1", attributes={"country": "FR"}, created_at=T0)])
    store.upsert_users([User(id="u1", attributes={"country": "DE", "tier": 2})])
    user = store.get_user("u1")
    assert user == User(id="u1", attributes={"country": "DE", "tier": 2}, created_at=T0)
    assert [u.id for u in store.iter_users()] == ["u1"]


def test_append_events_is_idempotent(store: Store) -> None:
    batch = [event(i) for i in range(5)]
    assert store.append_events(batch) == 5
    assert store.append_events(batch) == 0
    assert store.append_events([*batch, event(5)]) == 1
    assert store.counts()["events"] == 6
    # A duplicate inside one batch is added once.
    assert store.append_events([event(9), event(9)]) == 1


def test_append_event_columns_is_idempotent(store: Store) -> None:
    assert store.append_event_columns(columns(100)) == 100
    assert store.append_event_columns(columns(100)) == 0
    assert store.append_event_columns(columns(100, start=50)) == 50
    assert store.counts()["events"] == 150
    values = np.concatenate([batch["value"] for batch in store.scan_events()])
    expected = np.where(np.arange(150) % 3 == 0, 2.0, np.nan)
    np.testing.assert_array_equal(values, expected)


def test_append_event_columns_rejects_missing_or_ragged_columns(store: Store) -> None:
    cols = columns(3)
    del cols["timestamp_ms"]
    with pytest.raises(ValueError, match="timestamp_ms"):
        store.append_event_columns(cols)
    ragged = columns(3) | {"value": np.zeros(2)}
    with pytest.raises(ValueError, match="differ in length"):
        store.append_event_columns(ragged)
    assert store.counts()["events"] == 0


def test_delete_user_removes_their_events_and_row(store: Store) -> None:
    store.upsert_users([User(id="u1"), User(id="u2")])
    store.append_events([event(1, "u1"), event(2, "u1"), event(3, "u2")])
    assert store.delete_user("u1") == 2
    assert store.get_user("u1") is None
    assert store.user_events("u1") == []
    assert store.export_user("u1") == {"user_id": "u1", "user": None, "events": []}
    assert [e.id for e in store.user_events("u2")] == ["e3"]
    assert store.counts()["users"] == 1
    assert store.delete_user("nobody") == 0


def test_delete_item(store: Store) -> None:
    store.upsert_items([Item(id="i1")])
    assert store.delete_item("i1") is True
    assert store.delete_item("i1") is False
    assert store.get_item("i1") is None


def test_scan_events_returns_everything_in_arrival_order(store: Store) -> None:
    late = event(1, "u1", "i1", context={"split": "test"})
    early = event(0, "u2", "i2", type="rating", value=4.5, context={"split": "train"})
    search = event(2, "u1", None, type="search", query="red kettle", context={"page": 2})
    store.append_events([late, early])
    store.append_events([search])
    batches = list(store.scan_events())
    assert len(batches) == 1
    (scan,) = batches
    assert tuple(scan) == SCAN_COLUMNS
    assert scan["seq"].dtype == np.int64 and scan["timestamp_ms"].dtype == np.int64
    assert np.all(np.diff(scan["seq"]) > 0)
    assert scan["user_id"].tolist() == ["u1", "u2", "u1"]  # arrival, not time, order
    assert scan["item_id"].tolist() == ["i1", "i2", None]
    assert scan["type"].tolist() == ["view", "rating", "search"]
    np.testing.assert_array_equal(scan["value"], [np.nan, 4.5, np.nan])
    assert scan["query"].tolist() == [None, None, "red kettle"]
    assert scan["timestamp_ms"].tolist() == [to_millis(e.timestamp) for e in (late, early, search)]
    assert scan["split"].tolist() == ["test", "train", None]


def test_scan_events_streams_in_small_batches(store: Store) -> None:
    assert store.append_event_columns(columns(10_000)) == 10_000
    sizes, seen = [], []
    for batch in store.scan_events(batch_size=777):
        sizes.append(len(batch["seq"]))
        seen.extend(batch["timestamp_ms"].tolist())
    assert sizes[:-1] == [777] * (len(sizes) - 1) and sum(sizes) == 10_000
    assert seen == sorted(seen)  # generated in time order, so arrival order is time order
    counts = store.counts()
    assert (counts["events"], counts["events.view"], counts["events.purchase"]) == (
        10_000,
        5_000,
        5_000,
    )


def test_batch_rolls_back_everything_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError, match="boom"), store.batch() as writer:
        writer.upsert_items([Item(id="i1")])
        writer.upsert_users([User(id="u1")])
        writer.append_events([event(1)])
        writer.append_event_columns(columns(10))
        raise RuntimeError("boom")
    assert store.counts() == {"items": 0, "users": 0, "events": 0}


def test_batch_commits_at_exit(store: Store) -> None:
    with store.batch() as writer:
        assert writer.append_events([event(1), event(2)]) == 2
        assert writer.append_events([event(2)]) == 0
        writer.upsert_items([Item(id="i1")])
    assert store.counts()["events"] == 2 and store.get_item("i1") is not None


def test_unicode_round_trips(store: Store) -> None:
    item = Item(
        id="sku-ß-漢字",
        title="Crème brûlée torch 🔥",
        description='Zürich — "quotes" and \\ backslash',
        category_path=("Küche", "Gerät"),
        attributes={"色": "赤", "note": "emoji 🎉"},
    )
    store.upsert_items([item])
    assert store.get_item(item.id) == item
    search = event(1, "ユーザー", None, type="search", query="кофе 咖啡", context={"ключ": "値"})
    store.append_events([search])
    assert store.user_events("ユーザー") == [search]
    assert next(store.scan_events())["query"].tolist() == ["кофе 咖啡"]


def test_user_events_are_chronological_and_limit_keeps_the_latest(store: Store) -> None:
    store.append_events([event(3), event(1), event(2), event(4, user="u2")])
    assert [e.id for e in store.user_events("u1")] == ["e1", "e2", "e3"]
    assert [e.id for e in store.user_events("u1", limit=2)] == ["e2", "e3"]
    exported = store.export_user("u1")
    assert [e["event_id"] for e in exported["events"]] == ["e1", "e2", "e3"]


def test_recent_item_events_are_the_newest_with_an_item_oldest_first(store: Store) -> None:
    store.append_events(
        [
            event(3),
            event(1, item="i0"),
            event(2, type="rating", value=4.0),
            event(5, item=None, type="search", query="tent"),
            event(4, user="u2"),
        ]
    )
    assert store.recent_item_events("u1", 10) == [
        ("i0", "view", None, round(event(1).timestamp.timestamp() * 1000)),
        ("i1", "rating", 4.0, round(event(2).timestamp.timestamp() * 1000)),
        ("i1", "view", None, round(event(3).timestamp.timestamp() * 1000)),
    ]
    assert [e[1] for e in store.recent_item_events("u1", 2)] == ["rating", "view"]
    assert store.recent_item_events("nobody", 5) == []


def test_iter_items_streams_all_items(store: Store) -> None:
    items = [Item(id=f"i{n:03d}", price=float(n)) for n in range(25)]
    store.upsert_items(items)
    assert list(store.iter_items(batch_size=4)) == items


def test_counts_and_time_range(store: Store) -> None:
    assert store.event_time_range() is None
    store.append_events([event(5), event(1, type="purchase")])
    assert store.event_time_range() == (event(1).timestamp, event(5).timestamp)
    assert store.counts() == {
        "items": 0,
        "users": 0,
        "events": 2,
        "events.view": 1,
        "events.purchase": 1,
    }


def test_reopening_keeps_the_data(store: Store) -> None:
    store.append_events([event(1)])
    with Store(store.url) as again:
        assert again.counts()["events"] == 1


def test_closed_store_says_so(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.counts()


# -- opening: URLs and errors (backend-specific, not parametrised) ----------------------------


def test_default_url_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOPMIND_STORE", raising=False)
    monkeypatch.setenv("SHOPMIND_HOME", str(tmp_path / "home"))
    with Store() as default:
        assert default.url == f"sqlite:///{tmp_path / 'home' / 'shopmind.sqlite'}"
        assert (tmp_path / "home" / "shopmind.sqlite").exists()
    monkeypatch.setenv("SHOPMIND_STORE", f"sqlite:///{tmp_path / 'other' / 'x.sqlite'}")
    with Store() as chosen:
        assert chosen.url.endswith("other/x.sqlite")


def test_sqlite_file_uses_wal_and_creates_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "shop.sqlite"
    with Store(f"sqlite:///{path}") as opened:
        opened.append_events([event(1)])
        assert opened.backend == "sqlite"
    assert path.exists()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_in_memory_sqlite_works() -> None:
    with Store("sqlite://") as memory:
        memory.append_events([event(1)])
        assert memory.counts()["events"] == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "cannot read the store URL"),
        ("mysql://shop:hunter2@db/shop", "SQLite or PostgreSQL"),
        ("postgresql+pg8000://shop:hunter2@127.0.0.1/shop", "install the PostgreSQL driver"),
    ],
)
def test_bad_urls_raise_store_error_without_the_password(url: str, expected: str) -> None:
    with pytest.raises(StoreError, match=expected) as caught:
        Store(url)
    assert "hunter2" not in str(caught.value)


def test_unreachable_server_names_url_and_fix() -> None:
    with refusing_port() as port:
        url = f"postgresql://shop:hunter2@127.0.0.1:{port}/shop?connect_timeout=2"
        with pytest.raises(StoreError, match="check the PostgreSQL server is running") as caught:
            Store(url)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "***" in message and "hunter2" not in message


@pytest.mark.postgres
def test_repr_masks_the_password(postgres_url: str) -> None:
    url = postgres_url.replace("postgres@", "postgres:s3cret@")  # trust auth ignores it
    with Store(url) as opened:
        assert repr(opened) == f"Store({url.replace('s3cret', '***')!r})"
        assert opened.safe_url in repr(opened) and opened.url == url
        assert opened.backend == "postgresql"


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is bound but not listening: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_a_store_made_before_the_history_index_gets_it_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:  # as a store from before the index existed
        conn.execute("DROP INDEX ix_events_user_time")

    def indexes() -> set[str]:
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
        return {name for (name,) in rows}

    assert "ix_events_user_time" not in indexes()
    Store(f"sqlite:///{path}").close()
    assert "ix_events_user_time" in indexes()
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM events WHERE user_id = 'u' "
            "ORDER BY timestamp DESC, seq DESC LIMIT 100"
        ).fetchall()
    assert any("ix_events_user_time" in str(row) for row in plan), plan
    assert not any("TEMP B-TREE" in str(row) for row in plan), "no sort of a shopper's events"
