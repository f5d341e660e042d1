"""Per-slice results: cold targets, a category level and a user attribute, on the synthetic shop."""

import numpy as np

from shopmind.data import Dataset, leave_last_out
from shopmind.evaluation import evaluate, slices
from shopmind.models.registry import make_model
from shopmind.synthetic import SyntheticConfig, generate


def test_slices_label_rows_and_cold_targets_are_harder() -> None:
    shop = generate(SyntheticConfig(n_items=600, n_users=600, n_events=40_000, seed=5))
    data = Dataset.from_columns(shop.items, shop.users, shop.events)
    split = leave_last_out(data, target_types=["purchase"])
    popularity = split.train.item_popularity()
    target = slices.first_target(split.test)
    threshold = int(np.median(popularity[target]))  # half the targets fall on each side
    labels = {
        "cold": slices.cold_items(split.train, split.test, threshold=threshold),
        "department": slices.category(data, split.test, level=0),
        "country": slices.user_attribute(data, split.test, "country"),
    }
    for values in labels.values():
        assert len(values) == len(split.test)
    assert (labels["cold"] == "cold").tolist() == (popularity[target] < threshold).tolist()
    departments = {path[0] for path in data.item_side.category if path}
    assert set(labels["department"]) <= departments and len(set(labels["department"])) >= 3
    assert "" not in set(labels["country"])

    result = evaluate(make_model("pop").fit(split.train), split.test, ks=(10,), slices=labels)
    by_cold = result.slices["cold"]
    assert sum(s["rows"] for s in by_cold.values()) == len(split.test)
    # Popularity cannot find items few shoppers bought: its cold slice scores below its warm one.
    assert by_cold["cold"]["hr@10"] < by_cold["warm"]["hr@10"]
    weighted = sum(s["rows"] * s["hr@10"] for s in result.slices["department"].values())
    assert np.isclose(weighted / len(split.test), result.metrics["hr@10"])
