"""Complements and the category graph: the synthetic shop's planted pairs are found, look-alikes
are not, a new item is completed through its category, and a bundle keeps them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from shopmind.catalog.schema import DAY_MS
from shopmind.data.dataset import Dataset, ItemSide
from shopmind.data.idmap import IdMap
from shopmind.relations.complements import Complements, RelationsConfig
from shopmind.relations.pairs import follow_pairs
from shopmind.synthetic import SyntheticConfig, SyntheticShop, generate
from shopmind.synthetic import vocabulary as vocab


@pytest.fixture(scope="module")
def shop() -> SyntheticShop:
    return generate(SyntheticConfig(seed=4))


@pytest.fixture(scope="module")
def data(shop: SyntheticShop) -> Dataset:
    return Dataset.from_columns(shop.items, shop.users, shop.events)


@pytest.fixture(scope="module")
def mined(data: Dataset) -> Complements:
    return Complements.build(data, RelationsConfig())


def _top(m: Complements, a: int) -> int | None:
    row = slice(m.strength.indptr[a], m.strength.indptr[a + 1])
    if row.start == row.stop:
        return None
    return int(m.strength.indices[row][np.argmax(m.strength.data[row])])


def test_the_planted_pairs_are_the_top_complements_with_precision_over_0_8(
    shop: SyntheticShop, data: Dataset, mined: Complements
) -> None:
    ids = data.items
    partner = {ids.index(a): ids.index(b) for a, b in shop.truth.complementary_pairs}
    tops = {a: b for a in range(data.n_items) if (b := _top(mined, a)) is not None}
    assert len(tops) >= 50, "behaviour gives many items complements of their own"
    precision = np.mean([partner.get(a) == b for a, b in tops.items()])
    assert precision >= 0.8, precision
    # Recall: with the category graph completing the rarely bought items, the partner is
    # among the ten complements of nearly every planted source.
    allowed = np.ones(data.n_items, bool)
    pop = np.bincount(data.item, minlength=data.n_items).astype(np.float64)
    cat = data.item_side.category
    found = [b in mined.of(a, 10, allowed, cat, pop)[0] for a, b in partner.items()]
    assert np.mean(found) >= 0.9, np.mean(found)


def test_look_alikes_are_never_complements(data: Dataset, mined: Complements) -> None:
    # The shop's substitutes are the items of one leaf (same words, same kind of product):
    # shoppers compare them all the time, and none is ever returned as a complement.
    cat = data.item_side.category
    a, b = mined.strength.nonzero()
    assert len(a) and all(cat[x] != cat[y] for x, y in zip(a.tolist(), b.tolist(), strict=True))
    allowed = np.ones(data.n_items, bool)
    pop = np.bincount(data.item, minlength=data.n_items).astype(np.float64)
    for anchor in range(0, data.n_items, 97):
        got = mined.of(anchor, 10, allowed, cat, pop)[0]
        assert all(cat[g] != cat[anchor] for g in got.tolist())


def test_complements_are_directed(shop: SyntheticShop, data: Dataset, mined: Complements) -> None:
    ids = data.items
    pairs = [(ids.index(a), ids.index(b)) for a, b in shop.truth.complementary_pairs]
    forward = [mined.strength[a, b] for a, b in pairs if mined.strength[a, b] > 0]
    backward = [mined.strength[b, a] for a, b in pairs if mined.strength[a, b] > 0]
    assert forward and np.mean(forward) > 3 * np.mean(backward)


def test_the_category_graph_holds_the_planted_leaf_links(mined: Complements) -> None:
    planted = {
        (
            " > ".join(vocab.LEAVES[vocab.LEAF_INDEX[a]].path),
            " > ".join(vocab.LEAVES[vocab.LEAF_INDEX[b]].path),
        )
        for a, b in vocab.COMPLEMENTARY_LEAVES
    }
    strongest = mined.graph.strongest(20)
    share = np.mean([(e.source, e.target) in planted for e in strongest])
    assert share >= 0.8, [(e.source, e.target, e.lift) for e in strongest]
    assert all(e.lift > 1 and e.support >= 3 for e in strongest)


def test_a_new_item_gets_complements_through_its_category(
    shop: SyntheticShop, data: Dataset, mined: Complements
) -> None:
    # An item that arrives after training, in a planted source leaf: no events of its own.
    source, target = vocab.COMPLEMENTARY_LEAVES[0]
    leaf = vocab.LEAVES[vocab.LEAF_INDEX[source]].path
    goal = vocab.LEAVES[vocab.LEAF_INDEX[target]].path
    cat = [*data.item_side.category, leaf]
    new = len(cat) - 1
    allowed = np.ones(len(cat), bool)
    pop = np.r_[np.bincount(data.item, minlength=data.n_items), 0].astype(np.float64)
    got, scores = mined.of(new, 5, allowed, cat, pop)
    assert len(got) == 5 and all(cat[g] == goal for g in got.tolist()), [cat[g] for g in got]
    assert np.all(np.diff(scores) <= 0)
    why = mined.why(new, int(got[0]), cat)
    assert why.origin == "category" and why.target_category == " > ".join(goal)
    assert "go on to" in why.sentence("a new tent")


def test_near_duplicate_text_is_rejected_in_any_category() -> None:
    # Two shoppers buy item 0 then view item 1 (another leaf, the same text) and item 2.
    user = np.array([0, 0, 0, 1, 1, 1])
    item = np.array([0, 1, 2, 0, 1, 2])
    types = ("view", "purchase")
    kind = np.array([1, 0, 0, 1, 0, 0], np.int16)
    ts = np.arange(6) * 60_000
    text = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)
    side = ItemSide.from_items([])
    side = ItemSide(
        title=["a", "a copy", "b"],
        description=["", "", ""],
        brand=["", "", ""],
        category=[("X",), ("Y",), ("Z",)],
        price=np.full(3, np.nan),
        available=np.ones(3, bool),
        attributes=[{}, {}, {}],
    )
    data = Dataset(
        users=IdMap(["u0", "u1"]),
        items=IdMap(["i0", "i1", "i2"]),
        user=user,
        item=item,
        type=kind,
        timestamp=ts,
        value=np.full(6, np.nan, np.float32),
        split=np.zeros(6, np.int8),
        item_side=side,
        user_attributes=[{}, {}],
        type_names=types,
    )
    found = Complements.build(data, RelationsConfig(min_support=1, min_lift=0.0), text)
    assert found.strength[0, 2] > 0 and found.strength[0, 1] == 0


def test_a_shopper_counts_once_and_later_follows_count_less() -> None:
    # Shopper 0 buys A and views B at once, three times over; shopper 1 views B a week later.
    user = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    item = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    ts = np.array([0, 1, 2, 3, 4, 5, 0, 7 * DAY_MS]) * 1
    ts[:6] *= 60_000
    anchor = np.array([True, False, True, False, True, False, True, False])
    pairs = follow_pairs(user, item, ts, anchor, 2, 5, 14.0, 60.0, 0.25)
    assert pairs.a.tolist() == [0] and pairs.b.tolist() == [1]
    assert pairs.support.tolist() == [1.25]
    assert pairs.anchored.tolist() == [2, 0] and pairs.n_users == 2


def test_a_bundle_keeps_them(tmp_path: Path, data: Dataset, mined: Complements) -> None:
    mined.save(tmp_path / "relations")
    again = Complements.load(tmp_path / "relations")
    assert (again.strength != mined.strength).nnz == 0
    assert (again.support != mined.support).nnz == 0
    assert again.graph.strongest(10) == mined.graph.strongest(10)
    assert again.config == mined.config
    allowed = np.ones(data.n_items, bool)
    pop = np.zeros(data.n_items)
    cat = data.item_side.category
    for a in (0, 5, 50):
        assert (
            again.of(a, 8, allowed, cat, pop)[0].tolist()
            == mined.of(a, 8, allowed, cat, pop)[0].tolist()
        )


def test_the_config_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="window_events"):
        RelationsConfig(window_events=0)
    assert Counter(RelationsConfig().model_dump())  # round-trips as plain data


def test_an_item_without_a_category_borrows_its_text_neighbours_links(
    data: Dataset, mined: Complements
) -> None:
    # A new item filed nowhere whose text is like a planted source leaf's items: it is
    # completed through that leaf's links, and says so.
    source, target = vocab.COMPLEMENTARY_LEAVES[0]
    leaf = vocab.LEAVES[vocab.LEAF_INDEX[source]].path
    goal = vocab.LEAVES[vocab.LEAF_INDEX[target]].path
    cat = [*data.item_side.category, ()]
    new = len(cat) - 1
    like = [i for i, p in enumerate(data.item_side.category) if p == leaf][:5]
    allowed = np.ones(len(cat), bool)
    pop = np.r_[np.bincount(data.item, minlength=data.n_items), 0].astype(np.float64)
    assert mined.of(new, 5, allowed, cat, pop)[0].tolist() == []  # no category, no neighbours
    got, _ = mined.of(new, 5, allowed, cat, pop, neighbours=lambda _: like)
    assert len(got) == 5 and all(cat[g] == goal for g in got.tolist())
    why = mined.why(new, int(got[0]), cat, lambda _: like)
    assert why.borrowed and why.source_category == " > ".join(leaf)
    assert why.sentence("a new tent").startswith("goes with a new tent: items like it are in ")
