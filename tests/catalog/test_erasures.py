"""The Store's side of erasure and of many writers: the erasure log keeps when, not who; a
snapshot reads nothing past its mark; concurrent appends land whole and are counted right."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shopmind.catalog import erasures
from shopmind.catalog.schema import Event, User
from shopmind.catalog.store import Store

NOW = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'shop.sqlite'}") as opened:
        yield opened


def _events(user: str, n: int, tag: str = "e") -> list[Event]:
    return [
        Event(id=f"{tag}-{user}-{i}", user_id=user, item_id=f"i{i}", type="view", timestamp=NOW)
        for i in range(n)
    ]


def test_the_erasure_log_says_when_not_who(store: Store) -> None:
    store.upsert_users([User(id="alice@example.com"), User(id="bob@example.com")])
    store.append_events(_events("bob@example.com", 2) + _events("alice@example.com", 3))
    assert store.delete_user("alice@example.com") == 3
    assert store.delete_user("nobody") == 0  # nothing stored: nothing logged
    [logged] = erasures.after(store, 0)
    assert logged.events == 3 and logged.first_seq == 3  # her first event arrived third
    assert erasures.lookup(store, "alice@example.com") == [logged]
    assert erasures.lookup(store, "bob@example.com") == []
    with store._connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM erasures").all()
    assert "alice" not in repr(rows)
    # A shopper with only a profile is logged too, with no events to look for.
    store.delete_user("bob@example.com")
    store.upsert_users([User(id="carol")])
    store.delete_user("carol")
    assert [e.first_seq for e in erasures.after(store, logged.id)] == [1, None]


def test_a_snapshot_reads_nothing_past_its_mark(store: Store) -> None:
    store.append_events(_events("u1", 5))
    mark = erasures.snapshot_mark(store)
    store.append_events(_events("u2", 4))
    read = [b["user_id"] for b in store.scan_events(batch_size=2, upto_seq=mark.events_seq)]
    assert sum(len(users) for users in read) == 5 and len(read) == 3  # in pages of two
    assert {u for users in read for u in users} == {"u1"}
    assert sum(len(b["seq"]) for b in store.scan_events(batch_size=3)) == 9
    # An erasure after the mark counts against it only for events within it.
    store.delete_user("u2")
    assert erasures.erased_since(mark, erasures.after(store, mark.erasure)) == []
    store.delete_user("u1")
    assert len(erasures.erased_since(mark, erasures.after(store, mark.erasure))) == 1
    # A bundle that kept no mark holds whoever was erased.
    assert len(erasures.erased_since(None, erasures.after(store, 0))) == 2


def test_concurrent_appends_land_whole_and_are_each_counted(store: Store) -> None:
    results: dict[int, int] = {}
    errors: list[BaseException] = []

    def send(n: int) -> None:
        # Every sender also re-sends half of the one before it: duplicates across groups.
        events = _events(f"u{n}", 20) + _events(f"u{n - 1}", 10) if n else _events("u0", 20)
        try:
            results[n] = store.append_events(events)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    # Another process's Store sees all of it, each event once.
    with Store(store.url) as other:
        assert other.counts()["events"] == 40 * 20
        assert other.append_events(_events("u7", 20)) == 0
    assert sum(results.values()) == 40 * 20
    assert all(10 <= added <= 30 for added in results.values())


def test_the_database_files_keep_no_erased_text(sqlite_store: Store, tmp_path: Path) -> None:
    store = sqlite_store
    secret = "a query only alice made"
    others = [e for n in range(30) for e in _events(f"u{n}", 2)]
    search = Event(id="q", user_id="alice@example.com", type="search", query=secret, timestamp=NOW)
    hers = [*_events("alice@example.com", 2), search]
    store.append_events(others[:30] + hers + others[30:])

    def holding() -> list[str]:
        files = sorted(tmp_path.glob("shop.sqlite*"))
        return [f.name for f in files if b"alice@example.com" in f.read_bytes()]

    assert holding()
    store.delete_user("alice@example.com")
    assert holding() == []
    for path in tmp_path.glob("shop.sqlite*"):
        assert secret.encode() not in path.read_bytes()
    with store._connect() as conn:  # deleted rows are overwritten, on any SQLite build
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
