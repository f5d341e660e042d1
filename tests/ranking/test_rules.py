"""Business rules at request time: validated with errors that name the rule and field,
and each kind does what it says to the served list."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from shopmind.catalog.schema import Event
from shopmind.engine import Engine
from shopmind.ranking.rules import RulesError, RuleSet, RuleStore, parse_rules


def _viewer(engine: Engine, user: str, items: list[int]) -> None:
    stamp = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
    engine.store.append_events(
        [
            Event(
                id=f"{user}-{n}",
                user_id=user,
                item_id=engine.items.id(i),
                type="view",
                timestamp=stamp + n,
            )
            for n, i in enumerate(items)
        ]
    )


def _served(engine: Engine, user: str, k: int = 10) -> list[int]:
    return [r.index for r in engine.recommend(user, k).items]


def test_errors_name_the_rule_and_the_field() -> None:
    document = {
        "rules": [
            {"name": "ok", "action": "boost", "when": [{"field": "brand", "value": "Acme"}]},
            {
                "name": "sale",
                "action": "boost",
                "when": [{"field": "price", "op": "lt", "value": "x"}],
            },
            {"name": "pin-it", "action": "pin"},
            {"name": "odd", "action": "hide", "when": [{"field": "colour", "value": "red"}]},
        ]
    }
    with pytest.raises(RulesError) as caught:
        parse_rules(document)
    message = str(caught.value)
    assert "rules[1] 'sale'" in message and "when[0]" in message and "compares numbers" in message
    assert "rules[2] 'pin-it'" in message and "names the item" in message
    assert "rules[3] 'odd'" in message and "unknown field 'colour'" in message
    with pytest.raises(RulesError, match="repeated: twice"):
        parse_rules({"rules": [{"name": "twice", "action": "hide", "items": ["a"]}] * 2})
    with pytest.raises(RulesError, match=r"diversity\.mmr"):
        parse_rules({"diversity": {"mmr": 2}})


def test_rule_versions_are_kept_and_the_newest_is_active(tmp_path: Path) -> None:
    store = RuleStore(tmp_path)
    assert store.active() == (None, RuleSet())
    first, _ = store.put({"rules": [{"name": "a", "action": "hide", "items": ["x"]}]})
    second, rules = store.put({"caps": [{"by": "brand", "max": 2}]})
    assert store.versions() == [first, second] and store.active_version() == second
    assert store.active()[1] == rules and store.get(first).rules[0].name == "a"
    with pytest.raises(RulesError):
        store.put({"caps": [{"by": "colour", "max": 2}]})
    assert store.active_version() == second  # a bad document changes nothing


def test_filters_and_hides_keep_lists_full(engine: Engine) -> None:
    _viewer(engine, "rules-filter", [3, 40, 41])
    brand = engine.side.brand[engine.recommend("rules-filter", 1).items[0].index]
    engine.set_rules(
        parse_rules(
            {
                "rules": [
                    {
                        "name": "only-brand",
                        "action": "filter",
                        "when": [{"field": "brand", "value": brand}],
                    },
                ]
            }
        )
    )
    served = _served(engine, "rules-filter")
    assert served and all(engine.side.brand[i] == brand for i in served)
    hidden = served[0]
    engine.set_rules(
        parse_rules(
            {
                "rules": [
                    {"name": "hide-one", "action": "hide", "items": [engine.items.id(hidden)]},
                ]
            }
        )
    )
    served = _served(engine, "rules-filter")
    assert hidden not in served and len(served) == 10


def test_boosts_buries_and_pins_move_items(engine: Engine) -> None:
    _viewer(engine, "rules-move", [5, 60, 61])
    before = _served(engine, "rules-move", 20)
    last, first = before[-1], before[0]
    engine.set_rules(
        parse_rules(
            {
                "rules": [
                    {
                        "name": "up",
                        "action": "boost",
                        "items": [engine.items.id(last)],
                        "weight": 5,
                    },
                    {
                        "name": "down",
                        "action": "bury",
                        "items": [engine.items.id(first)],
                        "weight": 5,
                    },
                ]
            }
        )
    )
    after = _served(engine, "rules-move", 20)
    assert after[0] == last and first not in after[:10]
    answer = engine.recommend("rules-move", 20)
    (lifted,) = [r for r in answer.items if r.index == last]
    assert lifted.explanation is not None and lifted.explanation.rules == ["up"]
    # A pin puts an item nobody proposed at its position.
    far = int(np.argmin(engine.catalogue.arrays.popularity))
    engine.set_rules(
        parse_rules(
            {
                "rules": [
                    {
                        "name": "feature",
                        "action": "pin",
                        "items": [engine.items.id(far)],
                        "position": 2,
                    },
                ]
            }
        )
    )
    pinned = engine.recommend("rules-move", 10)
    assert pinned.items[2].index == far and pinned.items[2].reason == "featured by the shop"


def test_caps_collapse_and_mmr_diversify(engine: Engine) -> None:
    _viewer(engine, "rules-div", [7, 8, 9, 70])
    plain_rules = parse_rules({"diversity": {"collapse": None}})
    engine.set_rules(plain_rules)
    plain = _served(engine, "rules-div", 10)
    engine.set_rules(
        parse_rules({"caps": [{"by": "leaf", "max": 2}], "diversity": {"collapse": None}})
    )
    capped = _served(engine, "rules-div", 10)
    leaves = [engine.side.category[i][-1] for i in capped]
    assert max(leaves.count(leaf) for leaf in leaves) <= 2
    slate = engine.recommend("rules-div", 10).slate
    assert slate is not None and any(step.action == "capped" for step in slate.trace)
    # MMR trades relevance for variety: the list's mean pairwise text similarity drops.
    engine.set_rules(parse_rules({"diversity": {"mmr": 0.7, "collapse": None}}))
    varied = _served(engine, "rules-div", 10)
    assert _similarity(engine, varied) < _similarity(engine, plain)
    # Near-duplicates: with a low threshold every close variant of a served item goes.
    engine.set_rules(parse_rules({"diversity": {"collapse": 0.5}}))
    slate = engine.recommend("rules-div", 10).slate
    assert slate is not None
    collapsed = [s for s in slate.trace if s.action == "collapsed"]
    assert collapsed and all(s.value is not None and s.value >= 0.5 for s in collapsed)
    assert _similarity(engine, slate.served_items.tolist(), pairwise_max=True) < 0.5


def _similarity(engine: Engine, items: list[int], pairwise_max: bool = False) -> float:
    vectors = engine.context().text_rows(np.asarray(items, np.int64))
    assert vectors is not None
    sims = vectors @ vectors.T
    off = sims[~np.eye(len(items), dtype=bool)]
    return float(off.max() if pairwise_max else off.mean())
