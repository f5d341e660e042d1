"""Segments: the planted ones are found, named from their data, and kept current."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from shopmind.profiles import Profile
from shopmind.profiles.segments import SegmentConfig, SegmentModel, find_segments
from shopmind.synthetic import SyntheticShop

Profiled = tuple[dict[str, Profile], dict[str, int]]


@pytest.fixture(scope="module")
def found(profiled: Profiled) -> tuple[SegmentModel, dict[str, list[str]]]:
    return find_segments(profiled[0])


def test_the_planted_segments_are_found(
    synthetic: SyntheticShop, found: tuple[SegmentModel, dict[str, list[str]]]
) -> None:
    model, members = found
    label = {u: s for s, users in members.items() for u in users}
    users = sorted(label)
    planted = [synthetic.truth.user_segment[u] for u in users]
    assert adjusted_rand_score(planted, [label[u] for u in users]) >= 0.6
    # k is the silhouette's choice, and the shop planted five segments.
    assert model.chosen_k == max(model.scores, key=lambda k: model.scores[k]) == 5
    assert model.criterion == "silhouette" and set(model.scores) == set(range(2, 11))


def test_each_segment_is_named_and_measured_from_its_members(
    synthetic: SyntheticShop, profiled: Profiled, found: tuple[SegmentModel, dict[str, list[str]]]
) -> None:
    model, members = found
    profiles = profiled[0]
    assert sum(s.size for s in model.segments) == len(profiles)
    assert [s.size for s in model.segments] == sorted(
        (s.size for s in model.segments), reverse=True
    )
    assert sum(s.kpis.revenue_share for s in model.segments) == pytest.approx(1.0, abs=1e-3)
    departments = {d for ds in synthetic.truth.segment_departments for d in ds}
    for segment in model.segments:
        group = [profiles[u] for u in members[segment.id]]
        assert len(group) == segment.size
        top = next(iter(segment.categories))
        assert top in departments and segment.name.startswith(top)
        assert f"{segment.size} shoppers" in segment.description
        purchases = sum(p.activity.purchases for p in group)
        assert segment.kpis.purchases == purchases
        revenue = sum(p.activity.monetary or 0 for p in group)
        assert segment.kpis.average_order_value == pytest.approx(revenue / purchases, abs=0.01)
    # Each planted segment's own departments lead the segment that holds most of its shoppers.
    for planted, wanted in enumerate(synthetic.truth.segment_departments):
        ours = [
            u for u, s in synthetic.truth.user_segment.items() if s == planted and u in profiles
        ]
        best = max(members, key=lambda sid: len(set(members[sid]) & set(ours)))
        segment = model.get(best)
        assert segment is not None and next(iter(segment.categories)) in wanted[:2]


def test_a_profile_lands_in_its_members_segment_and_the_model_reads_back(
    profiled: Profiled, found: tuple[SegmentModel, dict[str, list[str]]], tmp_path: Path
) -> None:
    model, members = found
    profiles = profiled[0]
    for sid, users in members.items():
        for user in users[:30]:
            assigned = model.assign(profiles[user])
            assert assigned is not None and assigned.id == sid
    model.save(tmp_path / "segments", members)
    again, members_again = SegmentModel.load(tmp_path / "segments")
    assert again == model and members_again == members


def test_a_tiny_shop_gets_one_segment_and_no_events_none(profiled: Profiled) -> None:
    few = dict(list(profiled[0].items())[:2])
    model, members = find_segments(few, SegmentConfig())
    assert model.chosen_k == 1 and len(model.segments) == 1 and model.scores == {}
    assert sorted(members["s1"]) == sorted(few)
    empty = next(iter(few.values())).model_copy(
        update={"activity": few[next(iter(few))].activity.model_copy(update={"events": {}})}
    )
    assert model.assign(empty) is None
    assert np.isfinite(np.asarray(model.centroids)).all()


def test_a_catalogue_under_one_root_is_segmented_a_level_down() -> None:
    from shopmind.catalog.schema import Item
    from shopmind.data.dataset import ItemSide
    from shopmind.profiles import ProfileItems, ShopperEvents, build_profile

    catalogue = [
        Item(id=f"{leaf}{n}", title=f"{leaf} thing {n}", category_path=["Lab", leaf], price=9.0)
        for leaf in ("Pipettes", "Gloves")
        for n in range(1, 6)
    ]
    items = ProfileItems.build(ItemSide.from_items(catalogue))
    profiles = {}
    for u in range(40):
        first = 0 if u % 2 else 5  # odd shoppers buy pipettes, even ones gloves
        rows = [(first + (u + j) % 5, "purchase", None, 1_000_000 + j) for j in range(4)]
        profiles[f"s{u}"] = build_profile(f"s{u}", ShopperEvents.of(rows), items, as_of_ms=2e6)
    model, members = find_segments(profiles)
    assert model.level == 2 and model.categories == ["Lab > Gloves", "Lab > Pipettes"]
    assert model.chosen_k == 2
    groups = sorted(sorted(int(u[1:]) % 2 for u in m) for m in members.values())
    assert groups == [[0] * 20, [1] * 20]
    assert {s.name.split(" · ")[0] for s in model.segments} == {"Gloves", "Pipettes"}
