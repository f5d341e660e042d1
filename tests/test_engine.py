"""The Engine: one online path over any bundle, the history read at request time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopmind.blend import Blend, normalise_rows
from shopmind.bundle import Bundle
from shopmind.catalog.schema import Event, Item
from shopmind.catalog.store import Store
from shopmind.data.filters import ItemFilter
from shopmind.engine import Answer, Engine
from shopmind.models.base import top_k
from shopmind.synthetic import SyntheticConfig, SyntheticShop, generate, write_to_store
from shopmind.training.config import TrainConfig
from shopmind.training.train import train

MODELS: dict[str, dict[str, Any]] = {
    "pop": {},
    "itemknn": {"neighbors": 30, "recency_decay": 0.2},
    "content": {"recency_decay": 0.3},
}


@pytest.fixture(scope="module")
def synthetic() -> SyntheticShop:
    return generate(SyntheticConfig(seed=4, n_items=200, n_users=150, n_events=7_000))


@pytest.fixture(scope="module")
def trained(
    synthetic: SyntheticShop, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Bundle]:
    home = tmp_path_factory.mktemp("engine")
    url = f"sqlite:///{home / 'shop.sqlite'}"
    with Store(url) as store:
        write_to_store(synthetic, store)
        bundle = train(store, TrainConfig(models=MODELS, max_validation_rows=150), home=home)
    return url, bundle


@pytest.fixture
def engine(trained: tuple[str, Bundle], tmp_path: Path) -> Iterator[Engine]:
    """An engine over a private copy of the store (tests add events and items)."""
    url, bundle = trained
    copy = tmp_path / "shop.sqlite"
    with Store(url) as source, Store(f"sqlite:///{copy}") as store:
        store.upsert_items(list(source.iter_items()))
        store.upsert_users(list(source.iter_users()))
        # No events copied: every test writes the history it needs.
        yield Engine.load(bundle, store)


def _event(user: str, item: str, n: int, kind: str = "view") -> Event:
    return Event(
        id=f"{user}-{n}",
        user_id=user,
        item_id=item,
        type=kind,
        timestamp=datetime(2024, 6, 1, tzinfo=UTC).timestamp() + n,
    )


def test_normalise_rows_maps_scorable_items_onto_0_1() -> None:
    scores = np.array(
        [[2.0, 4.0, np.nan, 3.0], [5.0, 5.0, 5.0, 5.0], [1.0, np.finfo(np.float32).min, 3.0, -1.0]],
        dtype=np.float32,
    )
    out = normalise_rows(scores)
    np.testing.assert_allclose(out[0], [0.0, 1.0, 0.0, 0.5])
    np.testing.assert_allclose(out[1], 0.0)  # nothing to tell apart
    np.testing.assert_allclose(out[2], [0.5, 0.0, 1.0, 0.0])  # demoted counts as nothing


def test_the_served_ranking_is_the_blend_validation_measured(engine: Engine) -> None:
    engine.store.append_events([_event("m", engine.items.id(i), i) for i in (3, 40, 41)])
    answer = engine.recommend("m", 10, exclude="none")
    _assert_serves_the_blend(engine, "m", answer)


def _assert_serves_the_blend(engine: Engine, user: str, answer: Answer) -> np.ndarray:
    """The engine's answer is the Blend scorer's top 10 for the user; the Blend's scores."""
    histories, _ = engine.history(user)
    scores = Blend(engine.models, engine.weights, engine._allowed(None)).score(histories)
    scores[0, ~engine._allowed(None)] = -np.inf
    ids, values = top_k(scores, 10)
    assert [r.index for r in answer.items] == ids[0].tolist()
    np.testing.assert_allclose([r.score for r in answer.items], values[0], rtol=1e-5)
    return scores


def test_two_stage_ranking_serves_the_validated_blend_from_few_candidates(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few candidates per model, and the content model proposes from its HNSW index (a graph
    # over 200 items finds the exact top): the engine still serves what the Blend measures.
    monkeypatch.setattr("shopmind.blend.CANDIDATES", 15)
    monkeypatch.setattr("shopmind.models.content.INDEX_FROM", 50)
    content = engine.models["content"]
    engine.store.append_events([_event("m", engine.items.id(i), i) for i in (3, 40, 41, 90)])
    answer = engine.recommend("m", 10, exclude="none")
    assert content.index is not None and content.index.kind == "hnsw"
    scores = _assert_serves_the_blend(engine, "m", answer)
    proposed = int((scores[0] >= 0).sum())
    assert 15 <= proposed <= 15 * len(engine.weights) < engine.n_items  # a true shortlist


def test_candidates_come_from_the_items_the_filters_allow(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shopmind.blend.CANDIDATES", 5)
    monkeypatch.setattr("shopmind.models.content.INDEX_FROM", 50)
    engine.store.append_events([_event("f", engine.items.id(i), i) for i in (3, 40, 41)])
    leaves = [path[-1] for path in engine.side.category if path]
    leaf = min(set(leaves), key=leaves.count)  # the rarest category: few items pass
    rule = ItemFilter(categories=(leaf,), available_only=False)
    passing = int(rule.mask(engine.side).sum())
    answer = engine.recommend("f", 10, rule, exclude="none")
    # Every model proposes from the passing items only, so the rows fill up to k.
    assert len(answer.items) == min(10, passing) and answer.reason is None
    assert all(leaf in engine.side.category[r.index] for r in answer.items)


def test_history_is_read_at_request_time(engine: Engine) -> None:
    first = engine.recommend("live", 10)
    assert first.reason is not None and "trending" in first.reason
    engine.store.append_events([_event("live", engine.items.id(7), 1)])
    second = engine.recommend("live", 10)
    assert second.reason is None
    assert [r.item_id for r in second.items] != [r.item_id for r in first.items]
    title = engine.side.title[7]
    assert any(r.reason == f"because you viewed {title}" for r in second.items)
    # A viewed item may come back (only purchases are excluded), never as its own reason.
    again = engine.recommend("live", 300, ItemFilter(available_only=False))
    (itself,) = [r for r in again.items if r.index == 7]
    assert itself.reason != f"because you viewed {title}"
    engine.store.append_events([_event("live", engine.items.id(7), 2, "purchase")])
    third = engine.recommend("live", 10)
    assert engine.items.id(7) not in [r.item_id for r in third.items]
    assert any(r.reason == f"because you bought {title}" for r in third.items)


def test_exclusions_reach_past_the_history_window(engine: Engine) -> None:
    engine.history_limit = 3  # the window holds the newest three events only
    bought, viewed = 5, [40, 41, 42, 43, 44]
    engine.store.append_events([_event("old", engine.items.id(bought), 0, "purchase")])
    engine.store.append_events(
        [_event("old", engine.items.id(i), n + 1) for n, i in enumerate(viewed)]
    )
    histories, _ = engine.history("old")
    assert bought not in histories.items.tolist()  # out of the window ...
    every = ItemFilter(available_only=False)
    served = [r.index for r in engine.recommend("old", 300, every).items]
    assert bought not in served and served  # ... and still never offered again
    unseen = [r.index for r in engine.recommend("old", 300, every, exclude="seen").items]
    assert not {bought, *viewed} & set(unseen)


@pytest.mark.parametrize("names", [["pop"], ["itemknn"], ["content"], ["itemknn", "content"]])
def test_any_subset_of_models_serves(
    names: list[str], synthetic: SyntheticShop, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    with Store(url) as store:
        write_to_store(synthetic, store)
        config = TrainConfig(models={n: MODELS[n] for n in names}, validate_models=False)
        engine = Engine.load(train(store, config, home=tmp_path), store)
        user = synthetic.users[0].id
        answer = engine.recommend(user, 5)
        assert len(answer.items) == 5 and answer.reason is None
        assert all(set(r.models) <= set(names) and r.models for r in answer.items)
        assert engine.weights == {n: pytest.approx(1 / len(names)) for n in names}
        similar = engine.similar_items(synthetic.items[0].id, 5)
        assert (len(similar.items) == 5) == (names != ["pop"])


def test_new_items_line_up_across_id_map_side_data_models_and_index(engine: Engine) -> None:
    n = engine.n_items
    source = engine.item_record(5)
    new = [
        Item(id="new-a", title=source["title"], category_path=tuple(source["category"]), price=9.0),
        Item(id="new-b"),  # no text at all
    ]
    assert engine.upsert_items(new) == ["new-a", "new-b"]
    assert engine.upsert_items(new) == []  # known now: an update, not an addition
    assert engine.n_items == n + 2 and engine.items.index("new-b") == n + 1
    assert len(engine.side.title) == n + 2 and engine.side.price[n] == 9.0
    assert engine.models["content"].n_items == n + 2
    assert engine.similar is not None and engine.similar.n_items == n + 2
    assert not engine.similar.has_text[n + 1]  # blank text is never served by text
    similar = engine.similar_items("new-a", 3)
    assert similar.items[0].index == 5  # its text twin
    assert similar.items[0].models == ["text"]


def test_catalogue_changes_apply_without_retraining(engine: Engine) -> None:
    everything = engine.recommend("anyone", 300, exclude="none")
    first = everything.items[0].item_id
    item = engine.store.get_item(first)
    assert item is not None
    engine.upsert_items([item.model_copy(update={"available": False})])
    assert first not in [r.item_id for r in engine.recommend("anyone", 300).items]
    assert first in [
        r.item_id for r in engine.recommend("anyone", 300, ItemFilter(available_only=False)).items
    ]
    engine.upsert_items([item])
    engine.delete_items([first])
    assert first not in [
        r.item_id for r in engine.recommend("anyone", 300, ItemFilter(available_only=False)).items
    ]


def test_loading_catches_up_with_items_added_after_training(
    trained: tuple[str, Bundle], tmp_path: Path
) -> None:
    url, bundle = trained
    with Store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        with Store(url) as source:
            store.upsert_items(list(source.iter_items()))
        store.upsert_items([Item(id="late", title="Late Arrival Tent", category_path=("Outdoor",))])
        engine = Engine.load(bundle, store)
    assert engine.items.index("late") == len(engine.items) - 1
    assert engine.item_record(engine.items.index("late"))["title"] == "Late Arrival Tent"


def test_a_model_the_engine_has_never_heard_of_plugs_in(
    synthetic: SyntheticShop, tmp_path: Path
) -> None:
    """The sequential Transformer (registered by its own change) is served by name alone, and
    as a text-aware model it takes items posted after training."""
    sasrec = {"epochs": 1, "item_repr": "sum"}
    with Store(f"sqlite:///{tmp_path / 'shop.sqlite'}") as store:
        write_to_store(synthetic, store)
        config = TrainConfig(models={"pop": {}, "sasrec": sasrec}, max_validation_rows=50)
        engine = Engine.load(train(store, config, home=tmp_path), store)
        answer = engine.recommend(synthetic.users[0].id, 5)
        assert len(answer.items) == 5 and answer.reason is None
        assert set(engine.bundle.metrics) == {"pop", "sasrec", "blend"}
        assert any("sasrec" in r.models for r in answer.items)
        twin = engine.item_record(3)
        new = Item(id="posted", title=twin["title"], category_path=tuple(twin["category"]))
        assert engine.upsert_items([new]) == ["posted"]
        model = engine.models["sasrec"]
        assert model.n_items == engine.n_items
        store.append_events([_event("fan", twin["item_id"], 1)])
        histories, _ = engine.history("fan")
        scores = model.score(histories)[0]
        assert np.isfinite(scores[-1]) and scores[-1] != 0.0  # scored from its text
