"""The content model: shoppers as interest vectors over the language model's item embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from conformance import RecommenderConformance, purchase_histories

from shopmind.data import Dataset, Histories, leave_last_out
from shopmind.models import make_model, recommend
from shopmind.models.content import NO_TEXT, ContentRecommender, spherical_kmeans
from shopmind.synthetic import SyntheticConfig, generate

TORCH = {"encoder": {"backend": "torch"}}


class TestContent(RecommenderConformance):
    model_name = "content"
    params: ClassVar[dict[str, Any]] = {**TORCH, "recency_decay": 0.3}
    # The planted shop's items are "item 12, cluster 0": text says little there; the synthetic
    # shop (real category vocabulary) is where content must win.
    accuracy_margin = None
    synthetic_margin = 0.05


class TestContentInterests(RecommenderConformance):
    model_name = "content"
    params: ClassVar[dict[str, Any]] = {**TORCH, "interests": 3}
    accuracy_margin = None
    synthetic_margin = 0.05


@pytest.fixture(scope="module")
def shop_split() -> tuple[Any, Any]:
    shop = generate(SyntheticConfig(n_items=400, n_users=600, n_events=30_000, seed=11))
    data = Dataset.from_columns(shop.items, shop.users, shop.events)
    return shop, leave_last_out(data, target_types=["purchase"])


@pytest.fixture(scope="module")
def content(shop_split: tuple[Any, Any]) -> ContentRecommender:
    _, split = shop_split
    model = make_model("content", **TORCH).fit(split.train)
    assert isinstance(model, ContentRecommender)
    return model


def test_one_event_gives_recommendations_that_reflect_it(
    content: ContentRecommender, shop_split: tuple[Any, Any]
) -> None:
    _, split = shop_split
    side = split.train.item_side
    leaves = np.array([path[-1] if path else "" for path in side.category])
    hits = []
    for item in range(0, split.train.n_items, 40):
        ids, _ = recommend(
            content, purchase_histories(split.train, [[item]]), 10, exclude_history=True
        )
        hits.append(np.mean(leaves[ids[0]] == leaves[item]))
    # Nine in ten of the items recommended after a single view share its leaf category
    # (a leaf holds ~5 of the 400 items, so chance is ~1%).
    assert np.mean(hits) >= 0.3, np.mean(hits)


def test_items_nobody_touched_are_scored(content: ContentRecommender, shop_split: Any) -> None:
    _, split = shop_split
    touched = np.zeros(split.train.n_items, dtype=bool)
    touched[split.train.item] = True
    untouched = np.flatnonzero(~touched)
    assert len(untouched) > 0
    scores = content.score(split.test.histories.take(np.arange(20)))
    assert np.isfinite(scores[:, untouched]).all()
    assert (scores[:, untouched] > NO_TEXT).all()


def test_new_item_is_recommendable_without_retraining(
    content: ContentRecommender, shop_split: Any, tmp_path: Path
) -> None:
    _, split = shop_split
    side = split.train.item_side
    item = 7
    model = ContentRecommender.load(content.save(tmp_path / "content"))  # a served copy
    assert isinstance(model, ContentRecommender)
    before = model.n_items
    # A new product with text close to item 7's: same title wording, category and brand.
    text = (
        f"{side.title[item]} (new edition). {side.brand[item]}. {' > '.join(side.category[item])}"
    )
    (new,) = model.add_items([text])
    assert new == before and model.n_items == before + 1
    ids, _ = recommend(model, purchase_histories(split.train, [[item]]), 5, exclude_history=True)
    assert new in ids[0], ids[0]


def test_blank_text_is_never_preferred() -> None:
    model = ContentRecommender(**TORCH)
    vectors = np.eye(3, 4, dtype=np.float32)
    vectors[2] = 0.0  # no text
    model.set_item_vectors(vectors)
    scores = model.score(Histories.from_lists([[0]]))
    assert scores[0, 2] == NO_TEXT and scores[0, 1] > NO_TEXT


def test_interest_clusters_keep_two_interests_apart() -> None:
    rng = np.random.default_rng(0)
    a, b = np.eye(8, dtype=np.float32)[0], np.eye(8, dtype=np.float32)[1]
    vectors = np.stack(
        [a + 0.05 * rng.standard_normal(8) for _ in range(5)]
        + [b + 0.05 * rng.standard_normal(8) for _ in range(5)]
    ).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    centroids = spherical_kmeans(vectors, np.ones(10), 2)
    assert sorted(np.argmax(np.abs(centroids), axis=1).tolist()) == [0, 1]


def test_whitening_is_fitted_on_the_catalogue_and_kept_for_new_items(
    content: ContentRecommender, shop_split: Any
) -> None:
    _, split = shop_split
    assert content.whitening is not None
    assert content.whitening.dims == min(256, split.train.n_items // 4)
    # A new item with an existing item's raw embedding lands on that item's whitened row.
    raw = ContentRecommender(**TORCH, whiten=0).fit(split.train)
    assert raw.whitening is None
    model = ContentRecommender(**TORCH)
    model.set_item_vectors(raw.item_vectors)
    (new,) = model.add_item_vectors(raw.item_vectors[[7]])
    np.testing.assert_allclose(model.item_vectors[new], model.item_vectors[7], atol=1e-6)
    np.testing.assert_allclose(model.item_vectors[:new], content.item_vectors, atol=1e-5)
    # Whitening spreads the shop out: two random items are far less alike than before.
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, split.train.n_items, (2, 500))
    raw_cos = np.mean(np.sum(raw.item_vectors[a] * raw.item_vectors[b], axis=1))
    white_cos = np.mean(np.sum(content.item_vectors[a] * content.item_vectors[b], axis=1))
    assert white_cos < raw_cos - 0.1


def test_a_small_catalogue_is_not_whitened() -> None:
    model = ContentRecommender(**TORCH)
    model.set_item_vectors(np.eye(40, 8, dtype=np.float32))  # 40 // 4 = 10 < 16 directions
    assert model.whitening is None


def _clustered_catalogue(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Unit vectors around 20 topics (like a shop's categories), a few blank."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((20, dim))
    vectors = topics[rng.integers(0, 20, n)] + 0.4 * rng.standard_normal((n, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[::97] = 0.0  # items without text
    return vectors.astype(np.float32)


def test_candidates_from_the_index_hold_the_exact_top(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("shopmind.models.content.INDEX_FROM", 1_000)
    model = ContentRecommender(**TORCH, whiten=0, interests=2)
    model.set_item_vectors(_clustered_catalogue(3_000))
    rng = np.random.default_rng(1)
    histories = Histories.from_lists([rng.integers(0, 3_000, 6).tolist() for _ in range(50)])
    found = model.candidates(histories, 40)
    assert found is not None and model.index is not None and model.index.kind == "hnsw"
    exact = np.argsort(-model.score(histories), axis=1, kind="stable")[:, :40]
    recall = np.mean([len(set(exact[r]) & set(found[r])) / 40 for r in range(50)])
    assert recall >= 0.97, recall
    assert not (~model.has_text[found[found >= 0]]).any()  # blank items are never proposed
    # A filter: only allowed items come back, the best of them still found.
    allowed = np.zeros(3_000, dtype=bool)
    allowed[::3] = True
    some = model.candidates(histories, 10, allowed)
    assert some is not None and allowed[some[some >= 0]].all()
    # Saved with the model: loading serves from the same graph, nothing rebuilt.
    loaded = ContentRecommender.load(model.save(tmp_path / "content"))
    assert isinstance(loaded, ContentRecommender) and loaded.index is not None
    np.testing.assert_array_equal(loaded.candidates(histories, 40), found)
    # A new item joins the graph at once and is proposed to a shopper of its topic.
    (new,) = loaded.add_item_vectors(model.item_vectors[[5]])
    assert loaded.index is not None and len(loaded.index) == 3_001
    nearby = loaded.candidates(Histories.from_lists([[5]]), 5)
    assert nearby is not None and new in nearby[0]


def test_a_small_catalogue_has_no_index_and_scores_exactly() -> None:
    model = ContentRecommender(**TORCH, whiten=0)
    model.set_item_vectors(_clustered_catalogue(500))
    assert model.candidates(Histories.from_lists([[1, 2]]), 10) is None
    assert "index" not in model._state()
