"""The Engine: one online path over any bundle, the history read at request time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from shopmind.bundle import Bundle
from shopmind.catalog.schema import Event, Item
from shopmind.catalog.store import Store
from shopmind.data.filters import ItemFilter
from shopmind.data.split import EvalSet
from shopmind.engine import Engine
from shopmind.evaluation.pipeline import requests_for
from shopmind.ranking.sources import Sources
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


def _batch_served(engine: Engine, user: str, k: int) -> list[int]:
    """What the pipeline serves for the user's history when run as a batch of rows (the
    path validation and `shopmind evaluate --bundle` take)."""
    histories, _ = engine.history(user)
    ctx = engine.context()
    rows = EvalSet(np.zeros(1, np.int64), histories, sp.csr_matrix((1, engine.n_items)))
    (slate,) = engine.recommendations.run_batch(
        requests_for(rows, ctx.type_names, k), ctx, engine.items
    )
    return slate.served_items.tolist()


def test_the_engine_serves_what_a_batch_of_rows_measures(engine: Engine) -> None:
    engine.store.append_events([_event("m", engine.items.id(i), i) for i in (3, 40, 41)])
    answer = engine.recommend("m", 10)
    assert answer.reason is None and len(answer.items) == 10
    assert [r.index for r in answer.items] == _batch_served(engine, "m", 10)


def test_few_candidates_per_source_from_the_hnsw_index_serve_the_same_list(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few candidates per source, and the content model proposes from its HNSW index (a graph
    # over 200 items finds the exact top): online and batch still serve one list.
    monkeypatch.setattr("shopmind.models.content.INDEX_FROM", 50)
    engine.recommendations.sources = Sources.of(engine.models, 15, trending=5)
    content = engine.models["content"]
    engine.store.append_events([_event("m", engine.items.id(i), i) for i in (3, 40, 41, 90)])
    answer = engine.recommend("m", 10)
    assert content.index is not None and content.index.kind == "hnsw"
    assert [r.index for r in answer.items] == _batch_served(engine, "m", 10)
    slate = answer.slate
    assert slate is not None
    assert 15 <= len(slate.items) <= 15 * len(engine.models) + 5 < engine.n_items  # a shortlist
    for name, column in slate.sources.items():  # every source scored every candidate
        assert len(column.score) == len(slate.items)
        assert (column.rank >= 0).sum() <= (5 if name == "trending" else 15)


def test_candidates_come_from_the_items_the_filters_allow(engine: Engine) -> None:
    engine.recommendations.sources = Sources.of(engine.models, 5)
    engine.store.append_events([_event("f", engine.items.id(i), i) for i in (3, 40, 41)])
    leaves = [path[-1] for path in engine.side.category if path]
    leaf = min(set(leaves), key=leaves.count)  # the rarest category: few items pass
    rule = ItemFilter(categories=(leaf,), available_only=False)
    passing = int(rule.mask(engine.side).sum())
    answer = engine.recommend("f", 10, rule, exclude="none")
    assert answer.slate is not None and answer.slate.allowed is not None
    servable = int(answer.slate.allowed.sum())  # the passing items but the one just viewed
    assert passing - 1 <= servable <= passing
    # Every source proposes from the servable items only, so the rows fill up to k.
    assert len(answer.items) == min(10, servable) and answer.reason is None
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
    # "Recommended for you" does not lead with the product just viewed ...
    every = ItemFilter(available_only=False)
    assert 7 not in [r.index for r in engine.recommend("live", 300, every).items]
    slate = engine.recommend("live", 10).slate
    assert slate is not None and slate.excluded["recent"].tolist() == [7]
    # ... but a product viewed before may come back, never as its own reason.
    engine.store.append_events([_event("live", engine.items.id(8), 2)])
    again = engine.recommend("live", 300, every)
    (itself,) = [r for r in again.items if r.index == 7]
    assert itself.reason != f"because you viewed {title}"
    engine.store.append_events([_event("live", engine.items.id(7), 3, "purchase")])
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
        assert {"pop", "sasrec", "blend", "served"} >= set(engine.bundle.metrics) >= {"sasrec"}
        assert answer.slate is not None and "sasrec" in answer.slate.sources
        assert (answer.slate.sources["sasrec"].rank >= 0).any()  # it proposes candidates
        twin = engine.item_record(3)
        new = Item(id="posted", title=twin["title"], category_path=tuple(twin["category"]))
        assert engine.upsert_items([new]) == ["posted"]
        model = engine.models["sasrec"]
        assert model.n_items == engine.n_items
        store.append_events([_event("fan", twin["item_id"], 1)])
        histories, _ = engine.history("fan")
        scores = model.score(histories)[0]
        assert np.isfinite(scores[-1]) and scores[-1] != 0.0  # scored from its text
