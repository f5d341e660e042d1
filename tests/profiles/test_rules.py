"""Rule segments: conditions a shop writes pick exactly the shoppers who meet them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from shopmind.catalog.schema import DAY_MS
from shopmind.profiles import Profile
from shopmind.profiles.rules import Condition, RuleSegmentIn, RuleSegments, ShopperFacts
from shopmind.synthetic import SyntheticShop

Profiled = tuple[dict[str, Profile], dict[str, int]]


@pytest.fixture(scope="module")
def facts_and_purchases(
    synthetic: SyntheticShop, profiled: Profiled
) -> tuple[ShopperFacts, list[tuple[str, tuple[str, ...], int]]]:
    paths = {item.id: item.category_path for item in synthetic.items}
    ev = synthetic.events
    columns = zip(ev["user_id"], ev["item_id"], ev["type"], ev["timestamp_ms"], strict=True)
    bought = [
        (str(u), paths[i], int(ts)) for u, i, k, ts in columns if k == "purchase" and i in paths
    ]
    as_of = float(ev["timestamp_ms"].max())
    segment_of = {u: ("s1" if n % 2 else "s2") for n, u in enumerate(sorted(profiled[0]))}
    return ShopperFacts.build(profiled[0], segment_of, bought, as_of), bought


def test_bought_in_a_category_recently_and_a_price_band_pick_exactly_those_shoppers(
    facts_and_purchases: tuple[ShopperFacts, list[tuple[str, tuple[str, ...], int]]],
    profiled: Profiled,
) -> None:
    facts, bought = facts_and_purchases
    rules = [
        Condition(bought_in="Outdoor", within_days=20),
        Condition(price_percentile={"min": 50}),
    ]
    got = {facts.users[r] for r in facts.matching(rules)}
    since = facts.as_of_ms - 20 * DAY_MS
    recent = {u for u, path, ts in bought if path and path[0] == "Outdoor" and ts >= since}
    dear = {u for u, p in profiled[0].items() if (p.price.percentile or -1) >= 50}
    assert got == recent & dear and len(got) > 10
    # A leaf name or a path, in any case, names the same category.
    leaf = next(path for _, path, _ in bought if path and path[0] == "Outdoor")
    by_name = {facts.users[r] for r in facts.matching([Condition(bought_in=leaf[-1].upper())])}
    by_path = {facts.users[r] for r in facts.matching([Condition(bought_in=" > ".join(leaf))])}
    assert by_name == by_path == {u for u, path, _ in bought if path == leaf}


def test_lifecycle_segment_activity_and_attention_conditions(
    facts_and_purchases: tuple[ShopperFacts, list[tuple[str, tuple[str, ...], int]]],
    profiled: Profiled,
) -> None:
    facts, _ = facts_and_purchases
    profiles = profiled[0]

    def picked(*rules: Condition) -> set[str]:
        return {facts.users[r] for r in facts.matching(list(rules))}

    assert picked(Condition(lifecycle=["at_risk", "lapsed"])) == {
        u for u, p in profiles.items() if p.activity.lifecycle in ("at_risk", "lapsed")
    }
    assert picked(Condition(purchases={"min": 5}), Condition(segment="s1")) == {
        u for n, u in enumerate(sorted(profiles)) if n % 2 and profiles[u].activity.purchases >= 5
    }
    keen = picked(Condition(engaged_with="Books", min_share=0.5))
    assert keen and keen == {
        u for u, p in profiles.items()
        if any(a.name == "Books" and a.share >= 0.5 for a in p.categories[0].affinities)
    }  # fmt: skip
    assert picked(Condition(bought_in="No Such Category")) == set()


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({}, "exactly one of"),
        ({"bought_in": "A", "lifecycle": ["new"]}, "found: bought_in, lifecycle"),
        ({"within_days": 3, "lifecycle": ["new"]}, "within_days goes with bought_in"),
        ({"price_percentile": {}}, "give min, max or both"),
        ({"price_percentile": {"min": 80, "max": 20}}, "min (80.0) is above max (20.0)"),
        ({"lifecycle": ["sleeping"]}, "'new', 'active', 'at_risk', 'lapsed'"),
        ({"bought_in": "A", "color": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_condition_names_itself(rule: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RuleSegmentIn(name="x", rules=[{"bought_in": "Books"}, rule])  # type: ignore[list-item]
    assert says in str(caught.value)
    assert all(e["loc"][:2] == ("rules", 1) for e in caught.value.errors())


def test_rule_segments_are_kept_in_the_home_and_facts_read_back(
    facts_and_purchases: tuple[ShopperFacts, list[tuple[str, tuple[str, ...], int]]], tmp_path: Path
) -> None:
    kept = RuleSegments(tmp_path)
    first = kept.add(RuleSegmentIn(name="Outdoor", rules=[Condition(bought_in="Outdoor")]))
    second = kept.add(RuleSegmentIn(name="Lapsed", rules=[Condition(lifecycle=["lapsed"])]))
    assert (first.id, second.id) == ("r1", "r2")
    assert [s.name for s in RuleSegments(tmp_path).all()] == ["Outdoor", "Lapsed"]
    assert kept.delete("r1") and not kept.delete("r1")
    assert kept.add(RuleSegmentIn(name="Again", rules=[Condition(segment="s1")])).id == "r1"
    facts, _ = facts_and_purchases
    facts.save(tmp_path / "f")
    again = ShopperFacts.load(tmp_path / "f")
    rules = [Condition(bought_in="Outdoor", within_days=30)]
    assert np.array_equal(again.matching(rules), facts.matching(rules))
