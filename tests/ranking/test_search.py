"""Search in the trained bundle: chosen on validation, personalised for a shopper's history only
as far as the query leaves open, and the same for everyone without a history."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from shopmind.data.histories import Histories
from shopmind.engine import Engine
from shopmind.ranking.search import SEARCH_EXCLUSION
from shopmind.ranking.slate import Request, Slate

from .conftest import Trained


def _request(engine: Engine, query: str, history: list[int], k: int = 10) -> Request:
    return Request(
        history=Histories.from_lists([history]),
        kinds=("purchase",) * len(history),
        k=k,
        placement="search",
        exclusion=SEARCH_EXCLUSION,
        query=query,
    )


def _run(engine: Engine, request: Request, **settings: object) -> Slate:
    assert engine.searching is not None
    cfg = engine.searching.index.settings.model_copy(update=settings)
    return engine.searching.run(request, engine.context(), engine.items, settings=cfg)


@pytest.fixture
def leaf_and_brand(engine: Engine) -> Iterator[tuple[str, str, list[int]]]:
    """A leaf with several brands, one of them, and that brand's items of the leaf."""
    side = engine.side
    by: dict[str, dict[str, list[int]]] = {}
    for i, (path, brand) in enumerate(zip(side.category, side.brand, strict=True)):
        by.setdefault(path[-1], {}).setdefault(brand, []).append(i)
    leaf, brands = max(by.items(), key=lambda kv: (len(kv[1]), sum(map(len, kv[1].values()))))
    brand, items = max(brands.items(), key=lambda kv: len(kv[1]))
    yield leaf, brand, items


def test_training_records_the_settings_it_chose_on_validation(trained: Trained) -> None:
    folder = trained.bundle.search_folder
    assert folder is not None
    meta = json.loads((folder / "settings.json").read_text())
    chosen = meta["chosen"]
    assert chosen["queries"]["category"] > 0 and chosen["queries"]["title"] > 0
    assert {"lexical", "semantic", "rrf"} <= set(chosen["fusion_ndcg@10"])
    assert chosen["personal_ndcg@10"], "the personal weights were compared"
    best = max(v["all"] for v in chosen["personal_ndcg@10"].values())
    assert meta["settings"]["personal"] == 0 or best >= max(
        v["all"] for v in chosen["fusion_ndcg@10"].values()
    )
    assert 0.0 < chosen["served"]["ndcg@10"] <= 1.0


def test_a_shopper_without_history_gets_the_unpersonalised_ranking(
    engine: Engine, leaf_and_brand: tuple[str, str, list[int]]
) -> None:
    leaf, _, _ = leaf_and_brand
    anonymous = _run(engine, _request(engine, leaf.lower(), []), personal=2.0)
    plain = _run(engine, _request(engine, leaf.lower(), []), personal=0.0)
    assert anonymous.served_items.tolist() == plain.served_items.tolist()
    assert all(e.sources.get("personal", 0.0) == 0.0 for e in anonymous.explanations)


def test_an_ambiguous_query_is_ranked_by_the_shoppers_taste(
    engine: Engine, trained: Trained
) -> None:
    """Shoppers keep to a price band (planted): a query that a whole department matches — the
    name of their favourite one — comes back closer to the prices they pay."""
    side = engine.side
    gaps: dict[str, list[float]] = {"plain": [], "personal": []}
    for user in trained.shop.users[:80]:
        history, _ = engine.history(user.id)
        past = history.items[history.items >= 0]
        if len(past) < 5:
            continue
        leaves = [side.category[i][0] for i in past.tolist()]
        leaf = max(set(leaves), key=leaves.count)
        usual = float(np.median(side.price[past]))
        request = _request(engine, leaf.lower(), past.tolist())
        for arm, weight in (("plain", 0.0), ("personal", 1.0)):
            served = _run(engine, request, personal=weight, profile_share=0.5).served_items
            top = side.price[served[:3]]
            gaps[arm].append(float(np.mean(np.abs(np.log(top / usual)))))
    assert len(gaps["plain"]) >= 30
    assert np.mean(gaps["personal"]) < np.mean(gaps["plain"]) - 0.2


def test_a_specific_query_keeps_its_match_first_whatever_the_history(
    engine: Engine, leaf_and_brand: tuple[str, str, list[int]]
) -> None:
    _, _, items = leaf_and_brand
    side = engine.side
    others = [i for i in range(engine.n_items) if side.brand[i] != side.brand[items[0]]]
    target = others[0]
    code = side.attributes[target]["model"]
    query = f"{side.brand[target]} {code}".lower()
    slate = _run(engine, _request(engine, query, items), personal=1.0, adaptive=True)
    assert slate.served_items[0] == target


def test_the_engine_reads_the_shoppers_history_from_the_store(
    trained: Trained, engine: Engine, leaf_and_brand: tuple[str, str, list[int]]
) -> None:
    leaf, _, _ = leaf_and_brand
    assert engine.searching is not None
    engine.searching.index.settings = engine.searching.index.settings.model_copy(
        update={"personal": 1.0}
    )
    user = trained.shop.users[0].id
    history, _ = engine.history(user)
    assert (history.items >= 0).any(), "the first shopper has item events"
    known = engine.search(leaf.lower(), user, 10)
    anonymous = engine.search(leaf.lower(), None, 10)
    assert known.slate is not None and known.slate.interpretation is not None
    assert known.slate.request.history.items.tolist() == history.items.tolist()
    assert any(r.explanation and r.explanation.sources.get("personal") for r in known.items)
    assert not any(r.explanation and r.explanation.sources.get("personal") for r in anonymous.items)
