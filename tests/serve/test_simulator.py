"""The storefront simulator against the app: its shoppers click by their planted preferences,
the server attributes exactly what they did, and an A/B test finds the better bundle."""

from __future__ import annotations

from typing import Any

import numpy as np

from shopmind.catalog.store import Store
from shopmind.synthetic import generate
from shopmind.synthetic.storefront import StorefrontSimulator
from shopmind.training.config import TrainConfig

from .conftest import SHOP

Shop = Any
POPULARITY = TrainConfig(models={"pop": {}}, max_validation_rows=100, search=None)


def test_simulated_shoppers_like_their_own_department_and_price_band(shop: Shop) -> None:
    generated = generate(SHOP)
    simulator = StorefrontSimulator(generated, client=None)  # type: ignore[arg-type]
    user = generated.users[0].id
    mine = generated.truth.user_department[user]
    own = [simulator.fit(user, i.id) for i in generated.items if i.category_path[0] == mine]
    other = [simulator.fit(user, i.id) for i in generated.items if i.category_path[0] != mine]
    assert np.mean(own) > 3 * np.mean(other)
    assert all(0 < f <= 1 for f in own + other)


def test_an_ab_test_of_the_served_bundle_against_popularity_finds_the_served_one_better(
    own_shop: Shop, client_for: Any
) -> None:
    from shopmind.training.train import train

    with Store(own_shop.url) as store:
        popular = train(store, POPULARITY, home=own_shop.home, activate=False).version
    generated = generate(SHOP)
    with client_for(own_shop) as api:
        arms = [
            {"name": "popularity", "bundle": popular, "share": 0.5},
            {"name": "served", "share": 0.5},
        ]
        experiment = api.post("/v1/admin/experiments", json={"name": "ab", "arms": arms}).json()
        simulator = StorefrontSimulator(generated, api, seed=3, k=10)
        tally = simulator.run(500)
        results = api.get(f"/v1/experiments/{experiment['id']}").json()
        by_arm = {a["name"]: a for a in results["arms"]}
        for name, arm in by_arm.items():  # the server counted what the shoppers did
            assert arm["impressions"] == tally.impressions[name] > 0
            assert arm["clicks"] == tally.clicks[name]
            assert arm["carts"] == tally.carts[name]
            assert arm["purchases"] == tally.purchases[name]
        assert tally.ctr("served") > tally.ctr("popularity")
        # What the served lists offered fits the planted preferences better, item by item.
        assert tally.mean_fit("served") > tally.mean_fit("popularity")
        assert tally.own_share("served") > tally.own_share("popularity")
        test = by_arm["served"]["versus_control"]
        assert test["difference"] > 0 and test["significant"], test
        assert by_arm["served"]["revenue"] > 0
        online = api.get("/v1/metrics/online?by=arm").json()
        assert online["attributed"].get("purchase.window", 0) == sum(tally.purchases.values())
