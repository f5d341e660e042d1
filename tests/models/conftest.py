"""Fixtures for the model tests: a small hand-planted shop and the synthetic shop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from shopmind.catalog.schema import Item, User
from shopmind.data import Dataset, Split, leave_last_out


@dataclass(frozen=True)
class PlantedShop:
    """A shop whose structure the tests know: item clusters and one complementary pair."""

    items: list[Item]
    users: list[User]
    events: dict[str, np.ndarray]
    cluster_of_item: np.ndarray  # cluster per item (item j is "i{j:03d}")
    pair: tuple[str, str]  # buying a makes buying b next likely (across clusters)


def planted_shop(
    seed: int = 7,
    n_clusters: int = 3,
    items_per_cluster: int = 30,
    n_users: int = 300,
    pair_rate: float = 0.12,
) -> PlantedShop:
    """Shoppers each stick to one cluster of items (85% of picks, Zipf-popular within it).

    Each picked item is either viewed or purchased (no funnel, so a purchase target is never in
    its own history); every shopper buys at least three distinct items. A share ``pair_rate``
    of shoppers buy the planted pair (a, b) back to back, with a in cluster 0 and b in
    cluster 1, b among the least popular of its cluster.
    """
    rng = np.random.default_rng(seed)
    n_items = n_clusters * items_per_cluster
    cluster_of_item = np.repeat(np.arange(n_clusters), items_per_cluster)
    zipf = 1.0 / np.arange(1, items_per_cluster + 1) ** 0.8
    zipf /= zipf.sum()
    a, b = 12, items_per_cluster + 25
    columns: dict[str, list[Any]] = {k: [] for k in ("id", "user_id", "item_id", "type", "value")}
    stamps: list[int] = []
    for u in range(n_users):
        cluster = u % n_clusters
        picks: list[int] = []
        for _ in range(int(rng.integers(6, 12))):
            if rng.random() < 0.85:
                item = cluster * items_per_cluster + int(rng.choice(items_per_cluster, p=zipf))
            else:
                item = int(rng.integers(n_items))
            if item not in picks and item not in (a, b):
                picks.append(item)
        bought = [i < 3 or rng.random() < 0.5 for i in range(len(picks))]
        order = rng.permutation(len(picks))
        picks, bought = [picks[k] for k in order], [bought[k] for k in order]
        if rng.random() < pair_rate:
            at = int(rng.integers(len(picks) + 1))
            picks[at:at] = [a, b]
            bought[at:at] = [True, True]
        clock = 1_700_000_000_000 + u * 86_400_000
        for k in range(len(picks)):
            steps = ["purchase"] if bought[k] else ["view"]
            for step in steps:
                clock += 60_000
                columns["id"].append(f"e{len(stamps)}")
                columns["user_id"].append(f"u{u:04d}")
                columns["item_id"].append(f"i{picks[k]:03d}")
                columns["type"].append(step)
                columns["value"].append(np.nan)
                stamps.append(clock)
    events = {k: np.asarray(v, dtype=object) for k, v in columns.items()}
    events["value"] = np.asarray(columns["value"], dtype=np.float64)
    events["query"] = np.full(len(stamps), None, dtype=object)
    events["timestamp_ms"] = np.asarray(stamps, dtype=np.int64)
    items = [
        Item(id=f"i{j:03d}", title=f"item {j}", category_path=(f"cluster {cluster_of_item[j]}",))
        for j in range(n_items)
    ]
    users = [User(id=f"u{u:04d}") for u in range(n_users)]
    return PlantedShop(items, users, events, cluster_of_item, (f"i{a:03d}", f"i{b:03d}"))


@pytest.fixture(scope="session")
def shop() -> PlantedShop:
    return planted_shop()


@pytest.fixture(scope="session")
def dataset(shop: PlantedShop) -> Dataset:
    return Dataset.from_columns(shop.items, shop.users, shop.events)


@pytest.fixture(scope="session")
def split(dataset: Dataset) -> Split:
    """Leave-last-purchase-out: the test target is each shopper's last purchase."""
    return leave_last_out(dataset, target_types=["purchase"])


@dataclass(frozen=True)
class SyntheticCase:
    """The synthetic shop as the model tests use it."""

    complementary_pairs: list[tuple[str, str]]
    split: Split


@pytest.fixture(scope="session")
def synthetic() -> SyntheticCase:
    """A small synthetic shop (with funnels: a purchase follows a view of the same item)."""
    from shopmind.synthetic import SyntheticConfig, generate

    shop = generate(SyntheticConfig(n_items=400, n_users=600, n_events=30_000, seed=11))
    data = Dataset.from_columns(shop.items, shop.users, shop.events)
    split = leave_last_out(data, target_types=["purchase"])
    return SyntheticCase(list(shop.truth.complementary_pairs), split)
