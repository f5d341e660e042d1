"""Every served item carries an explanation that is true of it, and "why not item Z" names
the stage that kept Z out."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from shopmind.catalog.schema import Event
from shopmind.data.filters import ItemFilter
from shopmind.engine import Engine
from shopmind.ranking.explain import RELATION_FLOOR, dropped
from shopmind.ranking.rules import parse_rules


def _history(engine: Engine, user: str, events: list[tuple[int, str]]) -> None:
    stamp = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
    engine.store.append_events(
        [
            Event(
                id=f"{user}-{n}",
                user_id=user,
                item_id=engine.items.id(i),
                type=kind,
                timestamp=stamp + n,
            )
            for n, (i, kind) in enumerate(events)
        ]
    )


def test_every_served_item_is_explained_truly(engine: Engine) -> None:
    _history(engine, "why-1", [(3, "view"), (40, "purchase"), (41, "view")])
    answer = engine.recommend("why-1", 10)
    history = {3: "view", 40: "purchase", 41: "view"}
    ctx = engine.context()
    slate = answer.slate
    assert slate is not None and slate.fallback is None
    for r in answer.items:
        e = r.explanation
        assert e is not None and e.sentence == r.reason
        assert e.sources and abs(sum(e.sources.values()) - 1) < 1e-6
        # A share is evidence taken away: a source with none for the item (it neither
        # proposed nor scored it) carries no share of it.
        pos = slate.position(r.index)
        for source in e.sources:
            column = slate.sources[source]
            assert column.rank[pos] >= 0 or np.isfinite(column.score[pos]), (source, e)
        assert set(e.sources) <= set(engine.recommendations.sources.per_source)
        assert set(r.models) <= set(e.sources)
        if e.sentence.startswith("because you"):
            (behind, *_) = e.because
            index = engine.items.index(behind)
            verb = {"view": "viewed", "purchase": "bought"}[history[index]]
            assert e.sentence == f"because you {verb} {engine.side.title[index]}"
            relation = ctx.relation(np.array([index]), np.array([r.index]))[0, 0]
            assert relation >= RELATION_FLOOR and index != r.index
        else:
            assert not e.because and e.category == engine.side.category[r.index][-1]


def test_full_explanations_list_what_was_dropped_and_why(engine: Engine) -> None:
    _history(engine, "why-2", [(5, "view"), (6, "view"), (60, "view")])
    engine.set_rules(parse_rules({"caps": [{"by": "leaf", "max": 1}]}))
    answer = engine.recommend("why-2", 5)
    assert answer.slate is not None
    out = dropped(answer.slate, engine.items)
    whys = {d["why"] for d in out}
    assert "capped" in whys and "out-ranked" in whys
    served = {r.item_id for r in answer.items}
    cutoff = min(r.score for r in answer.items)
    for d in out:
        assert d["item_id"] not in served
        if d["why"] == "out-ranked":
            assert d["gap"] >= 0 and abs(cutoff - d["score"] - d["gap"]) < 1e-4


def test_why_not_names_the_stage(engine: Engine) -> None:
    _history(engine, "why-3", [(10, "purchase"), (11, "view"), (12, "view")])
    served = engine.recommend("why-3", 10)
    first = served.items[0]
    assert engine.why_not("why-3", first.item_id)["served"] is True
    bought = engine.why_not("why-3", engine.items.id(10))
    assert bought["stage"] == "allowed" and bought["why"] == "excluded: purchased"
    just_viewed = engine.why_not("why-3", engine.items.id(12))
    assert just_viewed["why"] == "excluded: recent"
    other_brand = next(
        i for i in range(engine.n_items) if engine.side.brand[i] != engine.side.brand[first.index]
    )
    brand_only = ItemFilter(brands=(engine.side.brand[first.index],))
    filtered = engine.why_not("why-3", engine.items.id(other_brand), filters=brand_only)
    assert filtered["stage"] == "allowed" and "request's filters" in filtered["why"]
    slate = served.slate
    assert slate is not None
    outside = next(i for i in range(engine.n_items) if slate.position(i) < 0 and slate.allowed[i])  # type: ignore[index]
    unproposed = engine.why_not("why-3", engine.items.id(outside))
    assert unproposed["stage"] == "sources" and unproposed["why"] == "no source proposed it"
    for name, rank in unproposed["ranks"].items():
        if rank is not None and not name.endswith(".proposes"):
            assert rank >= unproposed["ranks"][f"{name}.proposes"]  # outside its proposals
    order = slate.order.tolist()  # type: ignore[union-attr]
    beaten = int(slate.items[order[15]])
    out_ranked = engine.why_not("why-3", engine.items.id(beaten))
    assert (
        out_ranked["why"] == "out-ranked" and out_ranked["gap"] >= 0 and out_ranked["proposed_by"]
    )
    engine.delete_items([first.item_id])
    assert engine.why_not("why-3", first.item_id)["why"] == "the item was deleted"
