"""The profiles' fixtures: a synthetic shop and every shopper's profile in it."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.data.dataset import ItemSide
from shopmind.profiles import Profile, ProfileItems, build_profiles
from shopmind.synthetic import SyntheticConfig, SyntheticShop, generate


@pytest.fixture(scope="session")
def synthetic() -> SyntheticShop:
    return generate(SyntheticConfig(seed=3, n_items=1_500, n_users=1_200, n_events=60_000))


@pytest.fixture(scope="session")
def profiled(synthetic: SyntheticShop) -> tuple[dict[str, Profile], dict[str, int]]:
    """Every shopper's profile (at the shop's last event) and their item-event count."""
    items = ProfileItems.build(ItemSide.from_items(synthetic.items))
    index = {item.id: i for i, item in enumerate(synthetic.items)}
    ev = synthetic.events
    item = np.array([index.get(i, -1) if i else -1 for i in ev["item_id"]], np.int64)
    as_of = float(ev["timestamp_ms"].max())
    profiles = build_profiles(
        ev["user_id"], item, ev["type"], ev["value"], ev["timestamp_ms"], items, as_of_ms=as_of
    )
    users, counts = np.unique(ev["user_id"][item >= 0], return_counts=True)
    return profiles, dict(zip(users.tolist(), counts.tolist(), strict=True))
