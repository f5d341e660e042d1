"""The training snapshot and its splits on small hand-built shops."""

import numpy as np
import pytest

from shopmind.catalog.schema import Item, User
from shopmind.data import Dataset, Histories, IdMap, as_given, leave_last_out, temporal


def columns(rows: list[tuple[str, str | None, str, int]]) -> dict[str, np.ndarray]:
    """Events as columns from (user, item, type, timestamp_ms) tuples, in arrival order."""
    n = len(rows)
    return {
        "id": np.array([f"e{i}" for i in range(n)], dtype=object),
        "user_id": np.array([r[0] for r in rows], dtype=object),
        "item_id": np.array([r[1] for r in rows], dtype=object),
        "type": np.array([r[2] for r in rows], dtype=object),
        "value": np.full(n, np.nan),
        "query": np.array(["red shoes" if r[2] == "search" else None for r in rows], dtype=object),
        "timestamp_ms": np.array([r[3] for r in rows], dtype=np.int64),
    }


ITEMS = [
    Item(id=f"i{k}", title=f"Item {k}", category_path=("Dept", f"Leaf{k % 2}"), price=k)
    for k in range(5)
]


@pytest.fixture
def shop() -> Dataset:
    events = [
        ("u1", "i0", "view", 10),
        ("u1", "i1", "view", 20),
        ("u1", "i1", "purchase", 30),
        ("u2", "i2", "view", 5),
        ("u1", None, "search", 25),
        ("u1", "i3", "view", 40),
        ("u1", "i4", "purchase", 50),
        ("u2", "i3", "purchase", 6),
        ("u2", "i4", "view", 4),
        ("u3", "i9", "view", 1),  # an item the catalogue does not know
    ]
    return Dataset.from_columns(ITEMS, [User(id="u0")], columns(events))


def test_id_map_round_trip_and_unknowns() -> None:
    ids = IdMap(["a", "b"])
    ids.extend(["b", "c"])
    assert ids.indices(["c", "x", None]).tolist() == [2, -1, -1]
    assert IdMap.from_list(ids.to_list()) == ids
    with pytest.raises(ValueError, match="repeat"):
        IdMap.from_list(["a", "a"])


def test_snapshot_orders_events_per_user_by_time(shop: Dataset) -> None:
    u1 = shop.users.index("u1")
    hist = shop.histories([u1])
    assert shop.items.ids(hist.row(0)) == ["i0", "i1", "i1", "i3", "i4"]
    assert shop.type_names[hist.types[2]] == "purchase"
    assert shop.search_query == ["red shoes"] and shop.users.id(shop.search_user[0]) == "u1"


def test_snapshot_keeps_catalogue_items_and_appends_unknown_ones(shop: Dataset) -> None:
    assert shop.items.ids()[:5] == [f"i{k}" for k in range(5)]
    assert shop.items.index("i9") == 5
    assert shop.item_side.title[5] == "" and np.isnan(shop.item_side.price[5])
    assert "u0" in shop.users  # a known shopper with no events is kept


def test_matrix_uses_event_type_weights(shop: Dataset) -> None:
    m = shop.matrix().toarray()
    u1, i1 = shop.users.index("u1"), shop.items.index("i1")
    assert m[u1, i1] == pytest.approx(1.0 + 4.0)  # a view and a purchase
    assert shop.matrix(binary=True).toarray()[u1, i1] == 1.0


def test_histories_recency_decay_weights_recent_events_more() -> None:
    h = Histories.from_lists([[0, 1, 2]])
    row = h.matrix(3, recency_decay=1.0).toarray()[0]
    assert row[2] > row[1] > row[0] and row[2] == pytest.approx(1.0)


def test_leave_last_out_cuts_the_last_two_targets(shop: Dataset) -> None:
    split = leave_last_out(shop, target_types=["purchase", "view"])
    u1 = shop.users.index("u1")
    row = int(np.flatnonzero(split.test.users == u1)[0])
    assert shop.items.ids(split.test.targets[row].indices) == ["i4"]
    assert shop.items.ids(split.test.histories.row(row)) == ["i0", "i1", "i1", "i3"]
    vrow = int(np.flatnonzero(split.valid.users == u1)[0])
    assert shop.items.ids(split.valid.targets[vrow].indices) == ["i3"]
    # training holds only what came before each evaluated user's validation target
    assert set(split.train.timestamp[split.train.user == u1]) == {10, 20, 30}
    # u3 has a single event: not evaluated, kept whole in training
    assert shop.users.index("u3") not in split.test.users
    assert (split.train.user == shop.users.index("u3")).sum() == 1


def test_leave_last_out_with_purchase_targets_needs_three_purchases(shop: Dataset) -> None:
    split = leave_last_out(shop, target_types=["purchase"])
    assert len(split.test) == 0 and split.train.n_events == shop.n_events


def test_temporal_split_uses_global_cutoffs(shop: Dataset) -> None:
    split = temporal(shop, test_start_ms=35, valid_start_ms=15)
    assert split.train.timestamp.max() < 15
    u1 = shop.users.index("u1")
    test_row = int(np.flatnonzero(split.test.users == u1)[0])
    assert sorted(shop.items.ids(split.test.targets[test_row].indices)) == ["i3", "i4"]
    assert shop.items.ids(split.test.histories.row(test_row)) == ["i0", "i1", "i1"]
    with pytest.raises(ValueError, match="before the test cutoff"):
        temporal(shop, test_start_ms=10, valid_start_ms=20)


def test_as_given_requires_split_tags(shop: Dataset) -> None:
    with pytest.raises(ValueError, match="no given split"):
        as_given(shop)
