"""The synthetic shop is deterministic, realistic, and its planted structure is observable."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from shopmind.catalog.schema import Event, Item, User, to_millis
from shopmind.synthetic import SyntheticConfig, SyntheticShop, generate, write_to_store

CONFIG = SyntheticConfig(n_items=800, n_users=500, n_events=30_000, seed=3)
TINY = SyntheticConfig(n_items=200, n_users=80, n_events=3_000)


@pytest.fixture(scope="module")
def shop() -> SyntheticShop:
    return generate(CONFIG)


def _item_events(shop: SyntheticShop) -> dict[str, np.ndarray]:
    has_item = shop.events["type"] != "search"
    return {key: column[has_item] for key, column in shop.events.items()}


def _leaf(shop: SyntheticShop) -> dict[str, tuple[str, ...]]:
    return {item.id: item.category_path for item in shop.items}


def _segment_of(shop: SyntheticShop, user_ids: np.ndarray) -> np.ndarray:
    return np.array([shop.truth.user_segment[u] for u in user_ids])


def _price_percentile(shop: SyntheticShop) -> dict[str, float]:
    by_leaf: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for item in shop.items:
        by_leaf[item.category_path].append(item.price or 0.0)
    sorted_prices = {leaf: np.sort(prices) for leaf, prices in by_leaf.items()}
    return {
        item.id: float(
            np.searchsorted(sorted_prices[item.category_path], item.price or 0.0)
            / max(len(sorted_prices[item.category_path]) - 1, 1)
        )
        for item in shop.items
    }


def _assert_same(a: SyntheticShop, b: SyntheticShop) -> None:
    assert a.items == b.items
    assert a.users == b.users
    assert a.truth == b.truth
    assert a.events.keys() == b.events.keys()
    for key in a.events:
        assert np.array_equal(a.events[key], b.events[key], equal_nan=key == "value"), key


def test_config_round_trips_through_json() -> None:
    config = SyntheticConfig(seed=1, n_items=500, n_days=30, exploration=0.1)
    assert SyntheticConfig.model_validate_json(config.model_dump_json()) == config


def test_config_rejects_impossible_sizes() -> None:
    with pytest.raises(ValidationError, match="n_segments"):
        SyntheticConfig(n_users=3, n_segments=5)
    with pytest.raises(ValidationError, match="n_items"):
        SyntheticConfig(n_items=10)
    with pytest.raises(ValidationError):
        SyntheticConfig(click_rate=1.5)


def test_same_seed_gives_the_same_shop() -> None:
    _assert_same(generate(TINY), generate(TINY))


def test_another_seed_gives_another_shop() -> None:
    first, second = generate(TINY), generate(TINY.model_copy(update={"seed": 8}))
    assert [i.title for i in first.items] != [i.title for i in second.items]
    assert first.truth.user_segment != second.truth.user_segment
    assert not np.array_equal(first.events["timestamp_ms"], second.events["timestamp_ms"])


def test_event_count_is_near_the_target(shop: SyntheticShop) -> None:
    assert abs(shop.n_events - CONFIG.n_events) < 0.1 * CONFIG.n_events
    assert set(shop.events) == {
        "id",
        "user_id",
        "item_id",
        "type",
        "value",
        "query",
        "timestamp_ms",
    }
    assert all(len(column) == shop.n_events for column in shop.events.values())


def test_category_tree_is_deep_and_wide(shop: SyntheticShop) -> None:
    paths = {item.category_path for item in shop.items}
    assert all(len(path) >= 3 for path in paths)
    assert len({path[0] for path in paths}) >= 5
    assert len(paths) >= 40
    assert all(path[-1] not in path[:-1] for path in paths)


def test_brands_belong_to_departments(shop: SyntheticShop) -> None:
    departments_of_brand: dict[str, set[str]] = defaultdict(set)
    for item in shop.items:
        departments_of_brand[item.brand].add(item.category_path[0])
    assert len(departments_of_brand) >= 30
    assert all(len(depts) == 1 for depts in departments_of_brand.values())


def test_prices_are_positive_and_each_leaf_has_its_own_level(shop: SyntheticShop) -> None:
    by_leaf: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for item in shop.items:
        assert item.price is not None and item.price > 0
        assert item.currency == "EUR"
        by_leaf[item.category_path].append(item.price)
    medians = np.array([np.median(prices) for prices in by_leaf.values()])
    assert len(np.unique(np.round(medians))) >= 30
    assert medians.max() / medians.min() > 50
    # The leaf explains most of the spread of log prices (each leaf its own log-normal).
    logs = [np.log(prices) for prices in by_leaf.values()]
    everything = np.concatenate(logs)
    within = sum(((p - p.mean()) ** 2).sum() for p in logs)
    assert within / ((everything - everything.mean()) ** 2).sum() < 0.3
    cameras = next(p for leaf, p in by_leaf.items() if leaf[-1] == "Mirrorless Cameras")
    flour = next(p for leaf, p in by_leaf.items() if leaf[-1] == "Baking Flour")
    assert np.median(cameras) > 20 * np.median(flour)


def test_titles_share_words_within_a_leaf(shop: SyntheticShop) -> None:
    def words(item: Item) -> set[str]:
        return set((item.title + " " + item.description).lower().split()) - {
            "with", "and", "for", "is", "it", "the", "this", "from", "made", "comes", "a",
        }  # fmt: skip

    rng = np.random.default_rng(0)
    items = shop.items
    pairs = rng.integers(0, len(items), size=(4_000, 2))
    same, other = [], []
    for a, b in pairs:
        if a == b:
            continue
        shared = len(words(items[a]) & words(items[b]) - {items[a].brand.lower()}) >= 2
        leaf_a, leaf_b = items[a].category_path, items[b].category_path
        if leaf_a == leaf_b:
            same.append(shared)
        elif leaf_a[0] != leaf_b[0]:
            other.append(shared)
    assert len(same) >= 20
    assert np.mean(same) > 0.8
    assert np.mean(other) < 0.2
    assert all(item.description.count(".") >= 3 for item in items)


def test_events_reference_known_users_and_items(shop: SyntheticShop) -> None:
    users, items = {u.id for u in shop.users}, {i.id for i in shop.items}
    events = shop.events
    assert set(events["user_id"]) <= users
    assert set(events["item_id"][events["type"] != "search"]) <= items
    assert len(set(events["id"])) == shop.n_events
    assert set(events["user_id"]) == users  # every shopper did something


def test_times_are_sorted_and_inside_the_window(shop: SyntheticShop) -> None:
    ts = shop.events["timestamp_ms"]
    start = to_millis(CONFIG.start)
    assert ts.dtype == np.int64
    assert np.all(np.diff(ts) >= 0)
    assert ts.min() >= start and ts.max() <= start + CONFIG.n_days * 86_400_000
    days = (ts - start) // 86_400_000
    assert len(np.unique(days)) == CONFIG.n_days
    hours = Counter(((ts // 3_600_000) % 24).tolist())
    assert hours[20] > 3 * hours[3]  # evenings are busier than the small hours


def test_users_signed_up_before_their_first_event(shop: SyntheticShop) -> None:
    first: dict[str, int] = {}
    for user, ts in zip(shop.events["user_id"], shop.events["timestamp_ms"], strict=True):
        first.setdefault(user, int(ts))
    for user in shop.users:
        assert user.created_at is not None and to_millis(user.created_at) < first[user.id]
        assert set(user.attributes) == {"country", "age_band"}


def test_purchases_follow_a_view_and_a_cart(shop: SyntheticShop) -> None:
    events = _item_events(shop)
    history: dict[tuple[str, str], list[str]] = defaultdict(list)
    for user, item, kind in zip(events["user_id"], events["item_id"], events["type"], strict=True):
        history[(user, item)].append(kind)
    purchases = 0
    for kinds in history.values():
        counts: Counter[str] = Counter()
        for kind in kinds:
            counts[kind] += 1
            if kind == "purchase":
                purchases += 1
                assert counts["add_to_cart"] >= counts["purchase"] and counts["view"] >= 1
            if kind == "rating":
                assert counts["purchase"] >= 1
    assert purchases > 500


def test_values_are_quantities_and_ratings(shop: SyntheticShop) -> None:
    kind, value = shop.events["type"], shop.events["value"]
    ratings = value[kind == "rating"]
    assert len(ratings) > 100 and set(np.unique(ratings)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert len(np.unique(ratings)) == 5
    quantities = value[(kind == "purchase") | (kind == "add_to_cart")]
    assert np.all(quantities >= 1) and np.all(quantities == np.round(quantities))
    assert np.all(np.isnan(value[(kind == "view") | (kind == "search") | (kind == "click")]))


def test_searches_have_a_query_and_no_item(shop: SyntheticShop) -> None:
    events = shop.events
    search = events["type"] == "search"
    assert search.sum() > 0.02 * shop.n_events
    assert all(isinstance(q, str) and q for q in events["query"][search])
    assert all(item is None for item in events["item_id"][search])
    assert all(q is None for q in events["query"][~search])


def test_a_search_is_about_what_the_shopper_views_next(shop: SyntheticShop) -> None:
    events, titles = shop.events, {item.id: item.title.lower() for item in shop.items}
    next_view: dict[str, str] = {}
    matches = []
    for i in range(shop.n_events - 1, -1, -1):  # backwards: remember each user's next view
        user = events["user_id"][i]
        if events["type"][i] == "view":
            next_view[user] = titles[events["item_id"][i]]
        elif events["type"][i] == "search" and user in next_view:
            query = set(events["query"][i].split()) - {"cheap", "best", "with", "for"}
            matches.append(bool(query & set(next_view[user].split())))
    assert np.mean(matches) > 0.5


def test_segments_shop_in_their_departments(shop: SyntheticShop) -> None:
    events, leaf = _item_events(shop), _leaf(shop)
    segment = _segment_of(shop, events["user_id"])
    department = np.array([leaf[item][0] for item in events["item_id"]])
    assert len(shop.truth.segment_departments) == CONFIG.n_segments
    for s, preferred in enumerate(shop.truth.segment_departments):
        assert 1 <= len(preferred) <= 2
        inside = np.isin(department, preferred)
        assert inside[segment == s].mean() > 0.6, s
        assert inside[segment != s].mean() < 0.3, s


def test_countries_lean_by_segment(shop: SyntheticShop) -> None:
    segment = np.array([shop.truth.user_segment[u.id] for u in shop.users])
    country = np.array([u.attributes["country"] for u in shop.users])
    for s in range(CONFIG.n_segments):
        top, _ = Counter(country[segment == s].tolist()).most_common(1)[0]
        assert (country[segment == s] == top).mean() > 1.5 * (country[segment != s] == top).mean()


def test_price_bands_are_observable(shop: SyntheticShop) -> None:
    events = shop.events
    bought = events["type"] == "purchase"
    percentile = _price_percentile(shop)
    paid = np.array([percentile[item] for item in events["item_id"][bought]])
    segment = _segment_of(shop, events["user_id"][bought])
    bands = shop.truth.segment_price_band
    assert {"budget", "premium"} <= set(bands)

    def mean_for(band: str) -> float:
        return float(paid[np.isin(segment, [s for s, b in enumerate(bands) if b == band])].mean())

    assert mean_for("premium") > mean_for("budget") + 0.15
    user_band = np.array([shop.truth.user_price_band[u] for u in events["user_id"][bought]])
    assert paid[user_band == "premium"].mean() > paid[user_band == "budget"].mean() + 0.2
    loyal = np.mean(
        [shop.truth.user_price_band[u] == bands[s] for u, s in shop.truth.user_segment.items()]
    )
    assert 0.7 < loyal < 0.95


def test_complementary_leaves_cross_departments(shop: SyntheticShop) -> None:
    leaves = shop.truth.complementary_leaves
    assert len(leaves) >= 30
    assert all(a[0] != b[0] and len(a) >= 3 for a, b in leaves)
    leaf, planted = _leaf(shop), set(leaves)
    assert len(shop.truth.complementary_pairs) >= 30
    assert all((leaf[a], leaf[b]) in planted for a, b in shop.truth.complementary_pairs)


def test_complementary_pairs_are_observable(shop: SyntheticShop) -> None:
    events = _item_events(shop)
    partner = dict(shop.truth.complementary_pairs)
    times: dict[tuple[str, str], list[int]] = defaultdict(list)
    for user, item, ts in zip(
        events["user_id"], events["item_id"], events["timestamp_ms"], strict=True
    ):
        times[(user, item)].append(int(ts))
    users_of: dict[str, set[str]] = defaultdict(set)
    for user, item in times:
        users_of[item].add(user)
    follows = [
        any(t > ts for t in times.get((user, partner[item]), []))
        for user, item, ts, kind in zip(
            events["user_id"],
            events["item_id"],
            events["timestamp_ms"],
            events["type"],
            strict=True,
        )
        if kind == "purchase" and item in partner
    ]
    base = np.mean([len(users_of[b]) / len(shop.users) for b in set(partner.values())])
    assert len(follows) > 200
    assert np.mean(follows) > 0.45
    assert np.mean(follows) > 5 * base


def test_consumables_are_bought_again(shop: SyntheticShop) -> None:
    events, leaf = shop.events, _leaf(shop)
    repeatable = set(shop.truth.repeat_leaves)
    assert len(repeatable) >= 5 and len(shop.truth.repeat_cycle_days) == len(repeatable)
    bought = Counter(
        (user, item)
        for user, item, kind in zip(
            events["user_id"], events["item_id"], events["type"], strict=True
        )
        if kind == "purchase"
    )
    again = defaultdict(list)
    for (_, item), n in bought.items():
        again[leaf[item] in repeatable].append(n >= 2)
    assert np.mean(again[True]) > 0.3
    assert np.mean(again[True]) > 3 * np.mean(again[False])


def test_popularity_has_a_long_tail(shop: SyntheticShop) -> None:
    counts = Counter(_item_events(shop)["item_id"].tolist())
    observed = np.array([counts.get(item.id, 0) for item in shop.items])
    top = np.sort(observed)[::-1][: len(observed) // 10]
    assert top.sum() > 0.4 * observed.sum()
    rank = np.array([shop.truth.item_popularity_rank[item.id] for item in shop.items])
    assert sorted(rank.tolist()) == list(range(len(shop.items)))
    spearman = np.corrcoef(np.argsort(np.argsort(-rank)), np.argsort(np.argsort(observed)))[0, 1]
    assert spearman > 0.7


def test_cold_items_are_new_and_unseen(shop: SyntheticShop) -> None:
    cold = set(shop.truth.cold_items)
    assert cold and cold.isdisjoint(_item_events(shop)["item_id"].tolist())
    newest_warm = max(i.created_at for i in shop.items if i.id not in cold and i.created_at)
    assert all(i.created_at and i.created_at > newest_warm for i in shop.items if i.id in cold)


def test_iter_events_yields_valid_events() -> None:
    small = generate(TINY)
    events = list(small.iter_events())
    assert len(events) == small.n_events
    assert all(isinstance(event, Event) for event in events)
    first = events[0]
    assert first.id == small.events["id"][0]
    assert to_millis(first.timestamp) == small.events["timestamp_ms"][0]
    assert {e.type for e in events} >= {"view", "click", "add_to_cart", "purchase", "search"}


def test_more_segments_than_departments_pairs_still_work() -> None:
    shop = generate(TINY.model_copy(update={"n_segments": 8}))
    assert len(set(shop.truth.user_segment.values())) == 8
    assert len(shop.truth.segment_names) == 8


class _RecordingStore:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def upsert_items(self, items: list[Item]) -> int:
        self.calls.append(("items", items))
        return len(items)

    def upsert_users(self, users: list[User]) -> int:
        self.calls.append(("users", users))
        return len(users)

    def append_event_columns(self, columns: dict[str, np.ndarray]) -> int:
        self.calls.append(("events", columns))
        return len(columns["id"])


def test_write_to_store_loads_items_then_users_then_events() -> None:
    small, store = generate(TINY), _RecordingStore()
    write_to_store(small, store)
    assert [name for name, _ in store.calls] == ["items", "users", "events"]
    assert store.calls[0][1] is small.items and store.calls[2][1] is small.events
