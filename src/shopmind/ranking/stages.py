"""The stages of a slate that are not sources, features or explanations.

allowed (filters, rule filters and hides, exclusion) → … → rules (boosts, buries, pins) →
diversity and caps (near-duplicates collapsed, per-brand / per-category caps, MMR) → cut to
k → fallback. Each writes what it removed or moved into the slate's trace.
"""

from __future__ import annotations

import numpy as np

from shopmind.data.idmap import IdMap
from shopmind.models.base import first_allowed
from shopmind.ranking.context import RankingContext
from shopmind.ranking.rules import CompiledRules
from shopmind.ranking.slate import Slate, SourceColumn
from shopmind.ranking.sources import TRENDING
from shopmind.relations.complements import Complements
from shopmind.relations.cross import history_categories, linked_strength
from shopmind.relations.graph import category_of

#: Candidates the trace names one by one when a stage drops many (the rest are counted).
TRACE_LIMIT = 200


def allowed(slate: Slate, ctx: RankingContext, compiled: CompiledRules) -> None:
    """Which items may be served: the request's filters, the rules' filters and hides, the
    exclusion policy of the placement, minus deleted items and the anchor."""
    request = slate.request
    table = ctx.items
    passes = request.filters.mask(table.side) if request.filters else table.side.available.copy()
    passes = passes & ~table.removed
    rules = compiled.rules
    for rule in rules.active(request.placement):
        if rule.action not in ("filter", "hide"):
            continue
        hit = compiled.mask(rule)
        passes &= hit if rule.action == "filter" else ~hit
    slate.filtered = ~passes
    mask = passes.copy()
    history = request.history
    items = history.items
    kinds = request.kinds
    known = (items >= 0) & (items < table.n)
    excluded: dict[str, np.ndarray] = {}
    if request.exclusion.seen:
        excluded["seen"] = np.unique(items[known])
    elif request.exclusion.purchased:
        bought = np.array([k == "purchase" for k in kinds], bool) & known
        excluded["purchased"] = np.unique(items[bought])
    recent = request.exclusion.recent
    if recent is None:
        recent = rules.placement(request.placement).recent
    if recent:
        excluded["recent"] = np.unique(items[known][-recent:])
    if request.also_excluded:
        also = np.asarray(request.also_excluded, np.int64)
        excluded["purchased_earlier"] = np.unique(also[(also >= 0) & (also < table.n)])
    if request.anchor is not None:
        excluded["itself"] = np.array([request.anchor], np.int64)
    for index in excluded.values():
        mask[index] = False
    found = ctx.complements
    if found is not None and request.placement == "cross_category":
        mask &= _linked(slate, ctx, compiled, found)
    elif found is not None and request.placement == "complementary" and compiled.permits:
        # Complements across a blocked transition are never served.
        paths = table.side.category
        assert request.anchor is not None, "a complementary slate is anchored on an item"
        source = category_of(paths[request.anchor], found.graph.level)
        cat, _ = found.codes(paths)
        mask &= compiled.permits.targets(found, source)[cat]
    slate.excluded = excluded
    slate.allowed = mask


def _linked(
    slate: Slate, ctx: RankingContext, compiled: CompiledRules, found: Complements
) -> np.ndarray:
    """The cross-category placement: only items of categories new to the shopper that the
    category graph links to theirs (``slate.linked`` keeps each item's linked strength)."""
    history = slate.request.history
    weights = history.weights
    paths = ctx.items.side.category
    mine = history_categories(found, paths, history.items, weights)
    permits = compiled.permits if compiled.permits else None
    linked, best = linked_strength(found, paths, mine, permits)
    slate.linked, slate.linked_from = linked, best
    return linked > 0


def boosts_and_pins(slate: Slate, compiled: CompiledRules, ids: IdMap) -> None:
    """Boosts and buries move candidates on the [0, 1] scale of the list's scores; pins put
    an item at a position (even one no source proposed, if it may be served)."""
    assert slate.score is not None and slate.allowed is not None
    active = compiled.rules.active(slate.request.placement)
    moving = [r for r in active if r.action in ("boost", "bury")]
    pins = [r for r in active if r.action == "pin"]
    if not moving and not pins:
        return
    score = slate.score.astype(np.float64)
    finite = np.isfinite(score)
    if finite.any():
        low, high = float(score[finite].min()), float(score[finite].max())
        score = (score - low) / (high - low if high > low else 1.0)
    for rule in moving:
        hit = compiled.mask(rule)[slate.items]
        sign = 1.0 if rule.action == "boost" else -1.0
        for moved in np.flatnonzero(hit).tolist():
            score[moved] += sign * rule.weight
            slate.ruled.setdefault(moved, []).append(rule.name)
            slate.note(
                "rules",
                slate.items[moved],
                "boosted" if sign > 0 else "buried",
                rule.name,
                sign * rule.weight,
            )
    slate.score = score.astype(np.float32)
    for rule in pins:
        for item_id in rule.items:
            index: int = ids.index(item_id)
            if index < 0 or index >= len(slate.allowed) or not slate.allowed[index]:
                continue
            pos = slate.position(index)
            if pos < 0:  # not a candidate: it joins the list
                pos = _append_candidate(slate, index)
            slate.pins[pos] = rule.position
            slate.ruled.setdefault(pos, []).append(rule.name)
            slate.note("rules", index, "pinned", rule.name, float(rule.position))


def _append_candidate(slate: Slate, item: int) -> int:
    slate.items = np.append(slate.items, np.int64(item))
    for column in slate.sources.values():
        column.score = np.append(column.score, np.float32(np.nan))
        column.rank = np.append(column.rank, np.int32(-1))
    if slate.features is not None:
        row = np.full((1, slate.features.shape[1]), np.nan, np.float32)
        slate.features = np.vstack([slate.features, row])
    assert slate.score is not None
    slate.score = np.append(slate.score, np.float32(-np.inf))
    return len(slate.items) - 1


def diversify(slate: Slate, ctx: RankingContext, compiled: CompiledRules) -> None:
    """Order the candidates by score, then collapse near-duplicates, apply the caps and MMR;
    sets ``slate.order`` (positions into items, best first)."""
    assert slate.score is not None
    score = slate.score
    order = np.lexsort((slate.items, -score)).astype(np.int64)
    order = order[np.isfinite(score[order]) | np.isin(order, list(slate.pins))]
    placement = slate.request.placement
    rules = compiled.rules
    settings = rules.diversity
    text = ctx.text
    if settings.collapse is not None and text is not None and len(order) > 1:
        # The whole list only when caps may still remove some of the kept.
        enough = None if rules.caps_for(placement) else slate.request.k + len(slate.pins)
        if enough is not None and settings.mmr > 0:
            enough = max(enough, settings.mmr_depth)
        order = _collapse(slate, ctx, order, settings.collapse, enough)
    for cap in rules.caps_for(placement):
        order = _cap(slate, ctx, order, cap.by, cap.max)
    if settings.mmr > 0 and text is not None and len(order) > 1:
        order = _mmr(slate, ctx, order, settings.mmr, settings.mmr_depth)
    slate.order = order


def _collapse(
    slate: Slate, ctx: RankingContext, order: np.ndarray, threshold: float, enough: int | None
) -> np.ndarray:
    """Drop each candidate whose text is within ``threshold`` cosine of a better-ranked one
    that is kept (a variant of the same product); pins always stay. With ``enough``, only the
    head that can fill the list is compared (the rest follow unexamined)."""
    head = len(order) if enough is None else min(len(order), 4 * enough + 10)
    vectors = ctx.text_rows(slate.items[order[:head]])
    assert vectors is not None
    sims = vectors @ vectors.T
    has_text = np.abs(vectors).sum(axis=1) > 0
    close = np.triu(sims >= threshold, k=1)  # close[i, j]: i ranks before j and is close
    close &= has_text[:, None] & has_text[None, :]
    kept = np.ones(len(order), dtype=bool)
    for j in np.flatnonzero(close.any(axis=0)).tolist():
        pos = int(order[j])
        if pos in slate.pins:
            continue
        earlier = np.flatnonzero(close[:j, j] & kept[:j])
        if not len(earlier):
            continue
        best = int(earlier[np.argmax(sims[earlier, j])])
        kept[j] = False
        slate.note(
            "diversity",
            slate.items[pos],
            "collapsed",
            f"a variant of {int(slate.items[order[best]])}",
            float(sims[best, j]),
        )
    collapsed: np.ndarray = order[kept]
    return collapsed


def _cap(slate: Slate, ctx: RankingContext, order: np.ndarray, by: str, limit: int) -> np.ndarray:
    codes = getattr(ctx.items.codes, by)
    seen: dict[int, int] = {}
    kept = []
    for pos in order.tolist():
        code = int(codes[slate.items[pos]])
        if code >= 0 and seen.get(code, 0) >= limit and pos not in slate.pins:
            slate.note("diversity", slate.items[pos], "capped", f"at most {limit} per {by}")
            continue
        seen[code] = seen.get(code, 0) + 1
        kept.append(pos)
    return np.array(kept, np.int64)


def _mmr(
    slate: Slate, ctx: RankingContext, order: np.ndarray, lam: float, depth: int
) -> np.ndarray:
    assert slate.score is not None
    head, tail = order[:depth], order[depth:]
    vectors = ctx.text_rows(slate.items[head])
    assert vectors is not None
    relevance = slate.score[head].astype(np.float64)
    finite = np.isfinite(relevance)
    if finite.any():
        low, high = float(relevance[finite].min()), float(relevance[finite].max())
        relevance = (relevance - low) / (high - low if high > low else 1.0)
    chosen: list[int] = []
    left = list(range(len(head)))
    closest = np.full(len(head), -np.inf)
    while left:
        gain = (1 - lam) * relevance - lam * np.maximum(closest, 0.0)
        pick = max(left, key=lambda j: float(gain[j]))
        chosen.append(pick)
        left.remove(pick)
        closest = np.maximum(closest, vectors @ vectors[pick])
    picked = head[chosen]
    for rank, pos in enumerate(picked.tolist()):
        was = int(np.flatnonzero(head == pos)[0])
        if rank != was:
            slate.note("diversity", slate.items[pos], "moved", "mmr", float(rank - was))
    return np.concatenate([picked, tail]).astype(np.int64)


def new_categories(slate: Slate, ctx: RankingContext, compiled: CompiledRules) -> None:
    """At least the placement's ``new_categories`` share of the first k from categories the
    shopper has no history in (the category graph's level, else the leaf): the best-ranked
    such candidates move up in place of the lowest-ranked others."""
    share = compiled.rules.placement(slate.request.placement).new_categories
    order, k = slate.order, slate.request.k
    if share <= 0 or order is None or not len(order):
        return
    paths = ctx.items.side.category
    found = ctx.complements
    codes = found.codes(paths)[0] if found is not None else ctx.items.codes.leaf
    history = slate.request.history.items
    history = history[(history >= 0) & (history < len(codes))]
    mine = set(codes[history].tolist())
    fresh = ~np.isin(codes[slate.items], list(mine)) & (codes[slate.items] >= 0)
    want = min(int(np.ceil(share * k - 1e-9)), k)
    top, rest = order[:k].tolist(), order[k:].tolist()
    have = sum(bool(fresh[p]) for p in top)
    if have >= want:
        return
    up = [p for p in rest if fresh[p]][: want - have]
    down = [p for p in reversed(top) if not fresh[p] and p not in slate.pins][: len(up)]
    up = up[: len(down)]
    rank = {p: r for r, p in enumerate(order.tolist())}
    kept = sorted([p for p in top if p not in down] + up, key=rank.__getitem__)
    for p in up:
        slate.note("new categories", int(slate.items[p]), "moved up", f"at least {share:.0%} new")
    slate.order = np.array(
        kept + sorted(down + [p for p in rest if p not in up], key=rank.__getitem__), np.int64
    )


def cut(slate: Slate, k: int) -> None:
    """Keep the first k of the order, pins at their positions; the rest were out-ranked."""
    assert slate.order is not None
    order = [p for p in slate.order.tolist() if p not in slate.pins]
    for pos, at in sorted(slate.pins.items(), key=lambda kv: kv[1]):
        order.insert(min(at, len(order)), pos)
    served = np.array(order[:k], np.int64)
    slate.served = served


def fallback(slate: Slate, ctx: RankingContext) -> None:
    """A shopper with no usable history gets trending items among the allowed."""
    assert slate.allowed is not None
    chosen = first_allowed(ctx.items.trending_order, slate.request.k, slate.allowed)
    score = ctx.items.trending_score[chosen]
    slate.items = chosen
    slate.score = score
    slate.served = np.arange(len(chosen), dtype=np.int64)
    slate.order = slate.served.copy()
    slate.fallback = TRENDING
    slate.sources = {TRENDING: SourceColumn(score.copy(), np.arange(len(chosen), dtype=np.int32))}
