"""The search placement: one query's slate through the stages.

query understanding (price, brand, category → filters; typos read) → allowed (the filters,
rules, deleted and unavailable items out) → candidate sources (``lexical``: BM25's best;
``semantic``: the nearest items to the query vector; over their union each side scores every
candidate) → features (both sides' scores and ranks, the fused relevance, the personal score)
→ scorer (relevance + personal weight × personal score) → rules (boosts, buries, pins) →
top-k → explanations (each side's share and the personal share of the score, one sentence).

The personal score is the shopper's view of each candidate: the bundle's models scoring it
from the shopper's history (the same models and weights "recommended for you" blends —
item-kNN from recent items, SASRec over the session, the content model's interest vector)
and, for ``profile_share`` of it, the profile's affinities (history share of the item's
category and brand, closeness to the shopper's usual price). A shopper without history gets
the unpersonalised ranking. When the parsed filters leave nothing, they are dropped (and the
interpretation says so) rather than answering an empty page.

The same :meth:`SearchPipeline.run` answers the API and the offline evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from shopmind.data.filters import ItemFilter
from shopmind.data.idmap import IdMap
from shopmind.ranking import explain as explaining
from shopmind.ranking import stages
from shopmind.ranking.context import RankingContext
from shopmind.ranking.rules import CompiledRules, RuleSet
from shopmind.ranking.slate import Exclusion, Explanation, Request, Slate, SourceColumn
from shopmind.search.fusion import SearchSettings, normalised, personal_weight, relevance
from shopmind.search.index import SearchIndex
from shopmind.search.query import Interpretation, parse_query
from shopmind.search.tokens import stem, tokens, words

LEXICAL, SEMANTIC, PERSONAL = "lexical", "semantic", "personal"
#: Search shows the shopper's own items too (a shopper may search to buy again).
SEARCH_EXCLUSION = Exclusion(purchased=False, seen=False, recent=0)
FEATURES = (
    "lexical.score",
    "lexical.rank",
    "semantic.score",
    "semantic.rank",
    "relevance",
    "personal.score",
    "personal.weight",
)


@dataclass
class SearchPipeline:
    """The stages of a search answer over one bundle's search index and models."""

    index: SearchIndex
    #: The models whose scores make the personal score, and their weights.
    weights: Mapping[str, float]
    rules: RuleSet
    _compiled: CompiledRules | None = None

    def compiled(self, ctx: RankingContext, ids: IdMap) -> CompiledRules:
        self._compiled = CompiledRules.current(self._compiled, self.rules, ctx.items, ids)
        return self._compiled

    def interpret(self, query: str, ctx: RankingContext) -> tuple[Interpretation, list[str]]:
        """The query's interpretation and the terms the lexical side matches."""
        found = parse_query(query, self.index.vocabulary(ctx.items.side))
        terms, fixed = self.index.lexical.correct(tokens(found.text))
        found.corrected = fixed
        return found, terms

    def run(
        self,
        request: Request,
        ctx: RankingContext,
        ids: IdMap,
        *,
        explain: bool = True,
        settings: SearchSettings | None = None,
    ) -> Slate:
        """The served slate of ``request.query`` for ``request``'s shopper."""
        cfg = settings or self.index.settings
        slate, terms = self.candidates(request, ctx, ids, cfg)
        if slate.reason is not None:
            return slate
        self._score(slate, ctx, cfg)
        stages.boosts_and_pins(slate, self.compiled(ctx, ids), ids)
        assert slate.score is not None
        order = np.lexsort((slate.items, -slate.score)).astype(np.int64)
        slate.order = order[np.isfinite(slate.score[order]) | np.isin(order, list(slate.pins))]
        stages.cut(slate, request.k)
        if explain:
            _explain(slate, ctx, ids, terms)
        return slate

    def candidates(
        self, request: Request, ctx: RankingContext, ids: IdMap, cfg: SearchSettings
    ) -> tuple[Slate, list[str]]:
        """The slate through retrieval (the interpretation, the allowed items, both sides'
        candidates), and the lexical terms; ``slate.reason`` says why it is empty."""
        found, terms = self.interpret(request.query, ctx)
        slate = self._allowed(request, found, ctx, self.compiled(ctx, ids))
        slate.interpretation = found
        assert slate.allowed is not None
        if not slate.allowed.any():
            slate.reason = "no item passes the filters"
        else:
            self._retrieve(slate, ctx, found, terms, cfg)
            if not len(slate.items):
                slate.reason = f"nothing in the catalogue matches {request.query!r}"
        if slate.reason is not None:
            slate.served = np.zeros(0, np.int64)
        return slate, terms

    # --- the stages -----------------------------------------------------------------------

    def _allowed(
        self, request: Request, found: Interpretation, ctx: RankingContext, compiled: CompiledRules
    ) -> Slate:
        slate = Slate(replace(request, filters=_merged(request.filters, found)), ctx.n_items)
        stages.allowed(slate, ctx, compiled)
        assert slate.allowed is not None
        if slate.allowed.any() or not found.has_filters:
            return slate
        # Nothing passes what the query asked for: drop its parts one by one (the price
        # first, the category last) rather than answer nothing.
        for part in ("the price", "the brand", "the category"):
            if part == "the price" and (found.min_price is not None or found.max_price is not None):
                found.min_price = found.max_price = None
            elif part == "the brand" and found.brands:
                found.brands = []
            elif part == "the category" and found.category_filter:
                found.category_filter = False
            else:
                continue
            found.relaxed.append(part)
            slate = Slate(replace(request, filters=_merged(request.filters, found)), ctx.n_items)
            stages.allowed(slate, ctx, compiled)
            assert slate.allowed is not None
            if slate.allowed.any():
                break
        return slate

    def _retrieve(
        self,
        slate: Slate,
        ctx: RankingContext,
        found: Interpretation,
        terms: list[str],
        cfg: SearchSettings,
    ) -> None:
        assert slate.allowed is not None
        allowed = slate.allowed
        n = ctx.n_items
        proposals: dict[str, np.ndarray] = {}
        lexical = np.zeros(n, np.float32)
        if LEXICAL in cfg.sides:
            scores = self.index.lexical.scores(terms)
            lexical[: min(n, len(scores))] = scores[:n]
            usable = np.where(allowed & (lexical > 0), lexical, -np.inf)
            top = min(cfg.per_source, int(np.isfinite(usable).sum()))
            if top:
                best = np.argpartition(-usable, top - 1)[:top]
                proposals[LEXICAL] = best[np.lexsort((best, -usable[best]))].astype(np.int64)
        query_vector: np.ndarray | None = None
        semantic = self.index.semantic
        if SEMANTIC in cfg.sides and semantic is not None:
            query_vector = semantic.encode_query(spelled(found))
            ids_, _ = semantic.search(query_vector, cfg.per_source, allowed)
            proposals[SEMANTIC] = ids_
        union = np.unique(np.concatenate([np.zeros(0, np.int64), *proposals.values()]))
        slate.items = union
        for name in (LEXICAL, SEMANTIC):
            proposed = proposals.get(name, np.zeros(0, np.int64))
            if name == LEXICAL:
                score = lexical[union]
            elif semantic is not None and query_vector is not None:
                score = semantic.scores(query_vector, union)
            else:
                score = np.full(len(union), np.nan, np.float32)
            rank = np.full(len(union), -1, np.int32)
            rank[np.searchsorted(union, proposed)] = np.arange(len(proposed), dtype=np.int32)
            slate.sources[name] = SourceColumn(score.astype(np.float32), rank)

    def _score(self, slate: Slate, ctx: RankingContext, cfg: SearchSettings) -> None:
        lex, sem = slate.sources[LEXICAL], slate.sources[SEMANTIC]
        rel, lex_part, sem_part = relevance(lex.score, lex.rank, sem.score, sem.rank, cfg)
        weight = personal_weight(cfg, rel) if _has_history(slate, ctx) else 0.0
        personal = (
            personal_scores(slate, ctx, self.weights, cfg.profile_share)
            if weight > 0
            else np.zeros(len(slate.items))
        )
        slate.score = (rel + weight * personal).astype(np.float32)
        slate.features = np.stack(
            [
                lex.score,
                lex.rank.astype(np.float32),
                sem.score,
                sem.rank.astype(np.float32),
                rel,
                personal,
                np.full(len(rel), weight),
            ],
            axis=1,
        ).astype(np.float32)
        slate.feature_names = FEATURES
        slate.parts = {
            LEXICAL: lex_part,
            SEMANTIC: sem_part,
            PERSONAL: weight * personal,
        }


def personal_scores(
    slate: Slate, ctx: RankingContext, weights: Mapping[str, float], profile_share: float
) -> np.ndarray:
    """The shopper's view of each candidate in [0, 1] (see the module's docstring)."""
    models = model_affinity(slate, ctx, weights)
    if profile_share <= 0:
        return models
    return (1.0 - profile_share) * models + profile_share * profile_affinity(slate, ctx)


def model_affinity(slate: Slate, ctx: RankingContext, weights: Mapping[str, float]) -> np.ndarray:
    """The bundle's models' scores of the candidates from the shopper's history, each
    min-max normalised over the candidates, blended by ``weights``, in [0, 1]."""
    items = slate.items
    history = slate.request.history
    total = np.zeros(len(items))
    weight_sum = 0.0
    for name, weight in weights.items():
        model = ctx.models.get(name)
        if model is None or weight <= 0:
            continue
        known = items < model.n_items
        score = np.full(len(items), np.nan)
        if known.any():
            score[known] = model.score(history, items=items[known])[0]
        total += weight * normalised(score)
        weight_sum += weight
    out: np.ndarray = total / weight_sum if weight_sum > 0 else total
    return out


def profile_affinity(slate: Slate, ctx: RankingContext) -> np.ndarray:
    """How much of the shopper's history shares each candidate's category and brand, and how
    close its price is to their usual one, in [0, 1]."""
    items = slate.items
    past = slate.request.history.items
    past = past[(past >= 0) & (past < ctx.n_items)]
    if not len(past):
        return np.zeros(len(items))
    codes = ctx.items.codes

    def share(code: np.ndarray) -> np.ndarray:
        mine = code[past]
        mine = mine[mine >= 0]
        if not len(mine):
            return np.zeros(len(items))
        counts = np.bincount(mine, minlength=int(code.max()) + 1)
        theirs = code[items]
        return np.where(theirs >= 0, counts[np.maximum(theirs, 0)] / len(past), 0.0)

    prices = ctx.items.side.price[past]
    prices = prices[np.isfinite(prices) & (prices > 0)]
    fit = np.zeros(len(items))
    if len(prices):
        mine = ctx.items.side.price[items]
        gap = np.abs(np.log(np.where(mine > 0, mine, np.nan) / float(np.median(prices))))
        fit = np.where(np.isfinite(gap), np.exp(-gap), 0.0)
    out: np.ndarray = (share(codes.leaf) + share(codes.brand) + fit) / 3.0
    return out


def spelled(found: Interpretation) -> str:
    """The query text with its misspelt words as read (what the encoder is given)."""
    text = found.text or found.query
    for wrong, right in found.corrected.items():
        text = re.sub(rf"\b{re.escape(wrong)}\b", right, text)
    return text


def _has_history(slate: Slate, ctx: RankingContext) -> bool:
    items = slate.request.history.items
    return bool(((items >= 0) & (items < ctx.n_items)).any())


def _merged(filters: ItemFilter | None, found: Interpretation) -> ItemFilter | None:
    """The request's filters with what the query asked for (the stricter bound wins)."""
    if not found.has_filters:
        return filters
    base = filters or ItemFilter()
    low = [v for v in (base.min_price, found.min_price) if v is not None]
    high = [v for v in (base.max_price, found.max_price) if v is not None]
    update: dict[str, object] = {}
    if low:
        update["min_price"] = max(low)
    if high:
        update["max_price"] = min(high)
    low_, high_ = update.get("min_price"), update.get("max_price")
    if isinstance(low_, float) and isinstance(high_, float) and low_ > high_:
        update.pop("min_price")
    if found.brands:
        update["brands"] = tuple(base.brands) + tuple(found.brands)
    if found.category_filter:
        update["categories"] = tuple(base.categories) + tuple(found.categories)
    return base.model_copy(update=update)


def _explain(slate: Slate, ctx: RankingContext, ids: IdMap, terms: list[str]) -> None:
    """One explanation per served item: each side's and the personal share of its score."""
    served = slate.served if slate.served is not None else np.zeros(0, np.int64)
    parts = slate.parts
    chosen = slate.items[served]
    reasons = explaining.because(slate, ctx, chosen) if len(chosen) else []
    side = ctx.items.side
    wanted = set(terms)
    out = []
    for j, pos in enumerate(served.tolist()):
        item = int(slate.items[pos])
        values = {name: max(float(part[pos]), 0.0) for name, part in parts.items()}
        total = sum(values.values())
        shares = {k: v / total for k, v in values.items()} if total > 0 else {}
        personal = shares.get(PERSONAL, 0.0)
        past = reasons[j] if personal >= 0.2 else []
        matched = [w for w in dict.fromkeys(words(side.title[item])) if stem(w) in wanted]
        rules = slate.ruled.get(pos, [])
        if rules and pos in slate.pins:
            sentence = "featured by the shop"
        elif matched and shares.get(LEXICAL, 0.0) >= shares.get(SEMANTIC, 0.0):
            sentence = "its title matches " + ", ".join(repr(w) for w in matched[:3])
        elif shares.get(SEMANTIC, 0.0) > 0:
            sentence = "close in meaning to your search"
        else:
            sentence = "its description matches your search"
        if past:
            source, kind = past[0]
            verb = explaining.VERBS.get(kind, "chose")
            sentence += f"; ranked up because you {verb} {side.title[source] or ids.id(source)}"
        elif personal >= 0.2:
            sentence += "; ranked up for your taste"
        out.append(
            Explanation(
                {k: round(v, 4) for k, v in shares.items()},
                [ids.id(p) for p, _ in past],
                None,
                rules,
                sentence,
            )
        )
    slate.explanations = out
