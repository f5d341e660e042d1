"""Search finds what the synthetic catalogues plant: per kind of query, lexical against semantic
against both (the English shop with the default encoder, the Chinese one with the multilingual).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from shopmind.catalog.schema import Item
from shopmind.data.dataset import ItemSide
from shopmind.data.histories import Histories
from shopmind.data.idmap import IdMap
from shopmind.ranking.context import ItemArrays, RankingContext
from shopmind.ranking.rules import RuleSet
from shopmind.ranking.search import SEARCH_EXCLUSION, SearchPipeline
from shopmind.ranking.slate import Request, Slate
from shopmind.search.fusion import SearchSettings
from shopmind.search.index import SearchIndex
from shopmind.synthetic import SyntheticConfig, generate
from shopmind.synthetic.chinese import chinese_catalogue, chinese_queries
from shopmind.synthetic.queries import Query, english_queries, ndcg_at
from shopmind.text.encoder import MULTILINGUAL_MODEL, EncoderSettings

ARMS = {
    "lexical": SearchSettings(sides=("lexical",), personal=0.0),
    "semantic": SearchSettings(sides=("semantic",), personal=0.0),
    "hybrid": SearchSettings(fusion="blend", lexical_weight=0.5, personal=0.0),
}


@dataclass
class Searched:
    items: list[Item]
    queries: list[Query]
    pipeline: SearchPipeline
    ctx: RankingContext
    ids: IdMap

    def run(self, text: str, settings: SearchSettings) -> Slate:
        request = Request(
            history=Histories.empty(1),
            kinds=(),
            k=10,
            placement="search",
            exclusion=SEARCH_EXCLUSION,
            query=text,
        )
        return self.pipeline.run(request, self.ctx, self.ids, settings=settings)

    def ndcg(self, arm: str) -> dict[str, float]:
        by: dict[str, list[float]] = {}
        for q in self.queries:
            served = self.run(q.text, ARMS[arm]).served_items.tolist()
            by.setdefault(q.kind, []).append(ndcg_at(served, q.relevant))
        out = {kind: float(np.mean(v)) for kind, v in by.items()}
        out["all"] = float(np.mean([x for v in by.values() for x in v]))
        return out


def _searched(items: Sequence[Item], queries: list[Query], encoder: EncoderSettings) -> Searched:
    side = ItemSide.from_items(list(items))
    index = SearchIndex.build(side, encoder)
    ctx = RankingContext(models={}, items=ItemArrays.of_catalogue(side))
    pipeline = SearchPipeline(index, {}, RuleSet())
    return Searched(list(items), queries, pipeline, ctx, IdMap([i.id for i in items]))


@pytest.fixture(scope="module")
def english() -> Searched:
    items = generate(SyntheticConfig(seed=3, n_items=400, n_users=20, n_events=200)).items
    return _searched(items, english_queries(items, seed=1), EncoderSettings())


@pytest.fixture(scope="module")
def chinese() -> Searched:
    items = chinese_catalogue(n_items=96)
    return _searched(items, chinese_queries(items), EncoderSettings(model=MULTILINGUAL_MODEL))


def test_english_each_side_finds_what_it_should_and_both_together_do_best(
    english: Searched,
) -> None:
    lexical, semantic, hybrid = (english.ndcg(arm) for arm in ARMS)
    # Words the catalogue never uses: only the meaning finds the shelf.
    assert semantic["synonym"] > lexical["synonym"] + 0.2
    # Two letters swapped are read as the catalogue's word.
    assert lexical["misspelling"] >= 0.8
    # A brand, noun and model code: the one product leads.
    assert hybrid["title"] >= 0.95
    assert hybrid["category"] >= 0.95
    assert hybrid["all"] >= max(lexical["all"], semantic["all"]) - 0.02
    assert hybrid["all"] >= 0.8


def test_chinese_queries_are_segmented_priced_and_understood(chinese: Searched) -> None:
    lexical, semantic, hybrid = (chinese.ndcg(arm) for arm in ARMS)
    assert hybrid["category"] >= 0.95 and hybrid["title"] >= 0.95
    assert semantic["synonym"] > lexical["synonym"]
    assert hybrid["all"] >= 0.85


@pytest.mark.parametrize("shop", ["english", "chinese"])
def test_a_price_bound_holds_for_every_result(shop: str, request: pytest.FixtureRequest) -> None:
    searched: Searched = request.getfixturevalue(shop)
    priced = [q for q in searched.queries if q.kind == "price"]
    assert priced
    for q in priced:
        slate = searched.run(q.text, ARMS["hybrid"])
        found = slate.interpretation
        assert found is not None and found.max_price is not None, q.text
        prices = [searched.items[i].price for i in slate.served_items.tolist()]
        assert prices and all(p is not None and p <= found.max_price for p in prices), q.text


def test_each_result_says_which_side_found_it(english: Searched) -> None:
    synonym = next(q for q in english.queries if q.kind == "synonym")
    slate = english.run(synonym.text, ARMS["hybrid"])
    assert slate.explanations
    first = slate.explanations[0]
    assert set(first.sources) <= {"lexical", "semantic", "personal"}
    assert abs(sum(first.sources.values()) - 1.0) < 1e-3
    titled = next(q for q in english.queries if q.kind == "title")
    hit = english.run(titled.text, ARMS["hybrid"])
    assert hit.explanations[0].sentence.startswith("its title matches")


def test_nothing_allowed_relaxes_the_query_filters_and_says_so(english: Searched) -> None:
    slate = english.run("mirrorless camera under 1", ARMS["hybrid"])
    found = slate.interpretation
    assert found is not None and found.relaxed == ["the price"]
    assert len(slate.served_items) == 10
    assert "nothing matched the price" in found.summary()
