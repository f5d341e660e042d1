"""Explanations read off the slate: why each served item is there, what was dropped and why,
and "why not item Z" for one shopper and item.

An explanation holds the sources and their shares of the item's score (how much of it each
source's evidence carries: the score lost when that source's features are taken away), the
history items most related to it, the
category that explains it when no history item does, the rules that moved it, and one
sentence built only from those facts, so it is true of the item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shopmind.data.idmap import IdMap
from shopmind.ranking.context import RankingContext
from shopmind.ranking.features import absent_values, feature_columns
from shopmind.ranking.rules import CompiledRules
from shopmind.ranking.scorers import Scorer, scored_by
from shopmind.ranking.slate import Explanation, Slate
from shopmind.ranking.sources import COMPLEMENTS, TRENDING

#: A history item explains a served item when their relation reaches this.
RELATION_FLOOR = 0.35
VERBS = {
    "purchase": "bought",
    "add_to_cart": "added to your cart",
    "wishlist": "saved",
    "rating": "rated",
    "click": "viewed",
    "view": "viewed",
}
#: Which event of an item names it in a sentence, strongest first.
VERB_RANK = ("purchase", "add_to_cart", "wishlist", "rating", "click", "view")
#: Dropped candidates ``?explain=full`` lists at most.
DROPPED_LIMIT = 50


def explain(slate: Slate, ctx: RankingContext, scorer: Scorer | None, ids: IdMap) -> None:
    """Fill ``slate.explanations``, one per served item."""
    served = slate.served if slate.served is not None else np.zeros(0, np.int64)
    if not len(served):
        slate.explanations = []
        return
    shares = _shares(slate, scorer, served)
    reasons = because(slate, ctx, slate.items[served])
    popular_from = ctx.items.popular_from
    out = []
    for j, pos in enumerate(served.tolist()):
        item = int(slate.items[pos])
        rules = slate.ruled.get(pos, [])
        past = reasons[j]
        category = None
        if not past:
            category = ctx.items.leaf(item)
        sentence = _sentence(slate, ctx, item, past, rules, popular_from, ids)
        out.append(Explanation(shares[j], [ids.id(p) for p, _ in past], category, rules, sentence))
    slate.explanations = out


def _shares(slate: Slate, scorer: Scorer | None, served: np.ndarray) -> list[dict[str, float]]:
    """Per served item, each source's share of what lifted its score: how much the score
    falls when that source's evidence is taken away (its columns set to what they are for
    an item the source neither proposed nor scored), positive parts only, summing to 1.

    One scorer call over the served rows and their variants, whatever the scorer: exact
    for every kind and cheap (LightGBM's own SHAP values cost ~0.2 ms per row on 2 cores).
    """
    names = list(slate.sources)
    if slate.fallback is not None or scorer is None or slate.features is None:
        lead = slate.fallback or (names[0] if names else TRENDING)
        return [{lead: 1.0} for _ in served]
    rows = slate.features[served]
    groups = {s: feature_columns(slate.feature_names, s) for s in names}
    groups = {s: cols for s, cols in groups.items() if len(cols)}
    absent = absent_values(slate.feature_names)
    variants = [rows]
    for cols in groups.values():
        without = rows.copy()
        without[:, cols] = absent[cols]
        variants.append(without)
    scores = scored_by(scorer, slate.feature_names, np.vstack(variants))
    scores = scores.reshape(len(variants), len(rows))
    effects = dict(zip(groups, scores[0][None, :] - scores[1:], strict=True))
    out = []
    for j, pos in enumerate(served.tolist()):
        positive = {s: float(e[j]) for s, e in effects.items() if e[j] > 0}
        total = sum(positive.values())
        if total <= 0:  # nothing lifted it: the sources that proposed it, alike
            proposers = [s for s in names if slate.sources[s].rank[pos] >= 0] or names[:1]
            out.append({s: 1.0 / len(proposers) for s in proposers})
            continue
        ranked = sorted(positive.items(), key=lambda kv: -kv[1])
        out.append({s: v / total for s, v in ranked})
    return out


def because(slate: Slate, ctx: RankingContext, chosen: np.ndarray) -> list[list[tuple[int, str]]]:
    """Per chosen item: up to two history items related to it (item, their strongest event)."""
    history = slate.request.history
    kinds = slate.request.kinds
    strongest: dict[int, tuple[int, int]] = {}  # item -> (rank of its strongest event, position)
    for pos, (item, kind) in enumerate(zip(history.items.tolist(), kinds, strict=True)):
        if item < 0 or item >= ctx.n_items:
            continue
        rank = VERB_RANK.index(kind) if kind in VERB_RANK else len(VERB_RANK)
        before = strongest.get(item)
        strongest[item] = (min(rank, before[0]) if before else rank, pos)
    if not strongest:
        return [[] for _ in chosen]
    past = np.fromiter(strongest, np.int64, len(strongest))
    relation = ctx.relation(past, chosen)
    recency = np.array([strongest[i][1] for i in past.tolist()], np.float32) * 1e-6
    out = []
    for col, item in enumerate(chosen.tolist()):
        row = relation[:, col] + recency
        row[past == item] = -np.inf  # an item is never its own reason
        order = np.argsort(-row)[:2]
        found = []
        for b in order.tolist():
            if np.isfinite(row[b]) and relation[b, col] >= RELATION_FLOOR:
                source = int(past[b])
                rank = strongest[source][0]
                found.append((source, VERB_RANK[rank] if rank < len(VERB_RANK) else "chose"))
        out.append(found)
    return out


def _sentence(
    slate: Slate,
    ctx: RankingContext,
    item: int,
    past: Sequence[tuple[int, str]],
    rules: Sequence[str],
    popular_from: float,
    ids: IdMap,
) -> str:
    side = ctx.items.side
    pop = ctx.items.popularity
    popular = item < len(pop) and pop[item] >= popular_from
    if slate.request.anchor is not None:
        anchor = slate.request.anchor
        title = side.title[anchor] or ids.id(anchor)
        if COMPLEMENTS in slate.sources and ctx.complements is not None:
            why = ctx.complements.why(anchor, item, side.category, ctx.text_neighbours)
            return why.sentence(title)
        return f"similar to {title}"
    if rules and _pinned(slate, item):
        return "featured by the shop"
    found = ctx.complements
    if slate.request.placement == "cross_category" and found is not None and slate.linked_from:
        cat, _ = found.codes(side.category)
        came = slate.linked_from.get(int(cat[item])) if item < len(cat) else None
        if came is not None:
            names = found.graph.names
            came_from, goes_to = names[came[0]], names[int(cat[item])]
            return (
                f"new for you: shoppers who buy in {came_from.split(' > ')[-1]} "
                f"go on to {goes_to.split(' > ')[-1]}"
            )
    if past:
        source, kind = past[0]
        verb = VERBS.get(kind, "chose")
        return f"because you {verb} {side.title[source] or ids.id(source)}"
    if slate.fallback == TRENDING:
        trend = ctx.items.trending
        if item < len(trend) and trend[item] > 0:
            return "trending now"
        return f"popular in {ctx.items.leaf(item)}"
    if popular:
        return f"popular in {ctx.items.leaf(item)}"
    return "picked for you from your recent activity"


def _pinned(slate: Slate, item: int) -> bool:
    return any(int(slate.items[pos]) == item for pos in slate.pins)


def dropped(slate: Slate, ids: IdMap, limit: int = DROPPED_LIMIT) -> list[dict[str, Any]]:
    """The candidates not served and why: dropped by a stage (collapsed, capped), and the
    best out-ranked ones with the gap between their score and the last served item's; at
    most ``limit`` in all, half of each kind when both fill it."""
    removed: list[dict[str, Any]] = []
    out_ranked: list[dict[str, Any]] = []
    served = set(slate.served.tolist()) if slate.served is not None else set()
    for step in slate.trace:
        if step.action in ("collapsed", "capped"):
            removed.append(
                {
                    "item_id": ids.id(step.item),
                    "stage": step.stage,
                    "why": step.action,
                    "detail": step.why,
                }
            )
    if slate.order is not None and slate.score is not None and served:
        cutoff = min(float(slate.score[p]) for p in served)
        for pos in slate.order.tolist():
            if pos in served:
                continue
            out_ranked.append(
                {
                    "item_id": ids.id(int(slate.items[pos])),
                    "stage": "top-k",
                    "why": "out-ranked",
                    "score": round(float(slate.score[pos]), 6),
                    "gap": round(cutoff - float(slate.score[pos]), 6),
                }
            )
    half = limit // 2
    take_removed = removed[: max(half, limit - len(out_ranked))]
    return take_removed + out_ranked[: limit - len(take_removed)]


def why_not(
    slate: Slate,
    ctx: RankingContext,
    compiled: CompiledRules,
    item: int,
    ids: IdMap,
) -> dict[str, Any]:
    """Why ``item`` is not in (or where it is in) this slate's served list."""
    request = slate.request
    item_id = ids.id(item)
    answer: dict[str, Any] = {"item_id": item_id}
    served = [int(slate.items[p]) for p in (slate.served if slate.served is not None else [])]
    if item in served:
        return answer | {
            "served": True,
            "position": served.index(item),
            "why": "it is served",
            "explanation": _explained(slate, item),
        }
    answer["served"] = False
    if ctx.items.removed[item]:
        return answer | {"stage": "allowed", "why": "the item was deleted"}
    if slate.filtered is not None and slate.filtered[item]:
        reasons = []
        if request.filters is not None and not request.filters.mask(ctx.items.side)[item]:
            reasons.append("the request's filters")
        elif not ctx.items.side.available[item]:
            reasons.append("it is not available")
        for rule in compiled.rules.active(request.placement):
            hit = compiled.mask(rule)[item]
            if (rule.action == "filter" and not hit) or (rule.action == "hide" and hit):
                reasons.append(f"rule {rule.name!r} ({rule.action})")
        return answer | {"stage": "allowed", "why": "filtered out by " + ", ".join(reasons)}
    for reason, index in slate.excluded.items():
        if item in set(index.tolist()):
            return answer | {"stage": "allowed", "why": f"excluded: {reason.replace('_', ' ')}"}
    pos = slate.position(item)
    if pos < 0:
        return answer | {
            "stage": "sources",
            "why": "no source proposed it"
            if slate.fallback is None
            else f"the list is a fallback ({slate.fallback}) and it is not among them",
        }
    for step in slate.trace:
        if step.item == item and step.action in ("collapsed", "capped"):
            return answer | {"stage": step.stage, "why": f"{step.action}: {step.why}"}
    proposed = {s: int(c.rank[pos]) for s, c in slate.sources.items() if c.rank[pos] >= 0}
    answer["proposed_by"] = proposed
    if slate.score is not None and slate.served is not None and len(slate.served):
        cutoff = min(float(slate.score[p]) for p in slate.served)
        order = slate.order.tolist() if slate.order is not None else []
        answer |= {
            "stage": "top-k",
            "why": "out-ranked",
            "score": round(float(slate.score[pos]), 6),
            "cutoff": round(cutoff, 6),
            "gap": round(cutoff - float(slate.score[pos]), 6),
            "position": order.index(pos) if pos in order else None,
        }
    return answer


def _explained(slate: Slate, item: int) -> dict[str, Any] | None:
    served = slate.served.tolist() if slate.served is not None else []
    for j, pos in enumerate(served):
        if int(slate.items[pos]) == item and j < len(slate.explanations):
            return slate.explanations[j].to_json()
    return None
