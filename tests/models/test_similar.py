"""Similar items: text neighbours from the vector index, blended with co-interaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopmind.data import Dataset, leave_last_out
from shopmind.models import make_model
from shopmind.models.similar import SimilarItems, tune_blend
from shopmind.synthetic import SyntheticConfig, generate
from shopmind.text.embed import embed_items, embed_texts
from shopmind.text.encoder import EncoderSettings

TORCH = EncoderSettings(backend="torch")


@pytest.fixture(scope="module")
def case() -> tuple[Any, Any, np.ndarray, SimilarItems]:
    shop = generate(SyntheticConfig(n_items=400, n_users=600, n_events=30_000, seed=11))
    data = Dataset.from_columns(shop.items, shop.users, shop.events)
    split = leave_last_out(data, target_types=["purchase"])
    vectors = embed_items(split.train.item_side, settings=TORCH)
    knn = make_model("itemknn", neighbors=50).fit(split.train)
    similar = SimilarItems.build(vectors, knn.similarity, blend=0.5)  # type: ignore[attr-defined]
    return shop, split, vectors, similar


def leaves(split: Any) -> np.ndarray:
    return np.array([p[-1] for p in split.train.item_side.category], dtype=object)


def test_text_neighbours_share_the_leaf_category(case: Any) -> None:
    _, split, _, similar = case
    leaf = leaves(split)
    queries = np.arange(0, split.train.n_items, 5)
    ids, scores = similar.similar(queries, 5, blend=0.0)
    same = np.mean([np.mean(leaf[ids[r]] == leaf[q]) for r, q in enumerate(queries)])
    # A leaf holds ~5 of 400 items: chance agreement is ~1%.
    assert same >= 0.5, same
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    assert not (ids == queries[:, None]).any()  # an item is never its own neighbour


def test_blending_in_behaviour_finds_planted_complements(case: Any) -> None:
    shop, split, _, similar = case
    items = split.train.items
    pairs = [(items.index(a), items.index(b)) for a, b in shop.truth.complementary_pairs]
    sources = np.array([a for a, _ in pairs])

    def found(blend: float) -> float:
        ids, _ = similar.similar(sources, 10, blend=blend)
        return float(np.mean([b in ids[r] for r, (_, b) in enumerate(pairs)]))

    # Complements sit in another department: their text is unlike; behaviour links them.
    assert found(0.5) >= found(0.0) + 0.1, (found(0.0), found(0.5))


def test_filters_are_respected(case: Any) -> None:
    _, split, _, similar = case
    allowed = np.zeros(split.train.n_items, dtype=bool)
    allowed[::3] = True
    ids, _ = similar.similar(np.arange(30), 10, allowed=allowed)
    assert allowed[ids[ids >= 0]].all()
    assert (ids >= 0).all()  # a third of 400 items is plenty for 10 answers


def test_new_item_joins_its_neighbours_without_retraining(case: Any, tmp_path: Path) -> None:
    _, split, _, built = case
    similar = SimilarItems.load(built.save(tmp_path / "similar"))  # a served copy
    side = split.train.item_side
    item = 11
    text = (
        f"{side.title[item]} (new edition). {side.brand[item]}. {' > '.join(side.category[item])}"
    )
    (new,) = similar.add_items(embed_texts([text], settings=TORCH))
    assert new == split.train.n_items
    ids, _ = similar.similar([item], 5)
    assert new in ids[0]
    ids, _ = similar.similar([new], 5)
    leaf = leaves(split)
    assert np.mean(leaf[ids[0]] == leaf[item]) >= 0.6  # the new item's own neighbours


def test_save_load_round_trip(case: Any, tmp_path: Path) -> None:
    _, _, _, similar = case
    loaded = SimilarItems.load(similar.save(tmp_path / "s"))
    queries = np.arange(40)
    for a, b in zip(loaded.similar(queries, 10), similar.similar(queries, 10), strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.blend == similar.blend


def test_blend_is_chosen_on_validation(case: Any) -> None:
    _, split, _, similar = case
    best, scores = tune_blend(similar, split.valid, blends=(0.0, 0.5, 1.0))
    assert best in scores and scores[best] == max(scores.values())
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    # On this shop purchases follow views of the same items and planted complements:
    # behaviour carries information text alone does not.
    assert scores[0.5] > scores[0.0]
