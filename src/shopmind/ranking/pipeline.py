"""A pipeline runs one request's slate through the stages, online or for a batch of rows.

allowed → sources → features → scorer → rules (boosts, buries, pins) → diversity and caps
(and the placement's minimum share of new categories) → top-k → fallback → explanations.
The same stages run for one request (the Engine) and for a batch of validation or test rows
(training and ``shopmind evaluate --bundle``): a batch only scores the models that rank
their full scores for a block of rows at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from shopmind.data.histories import Histories
from shopmind.data.idmap import IdMap
from shopmind.ranking import explain as explaining
from shopmind.ranking import features, stages
from shopmind.ranking.context import RankingContext
from shopmind.ranking.rules import CompiledRules, RuleSet
from shopmind.ranking.scorers import Scorer, scored_by
from shopmind.ranking.slate import Request, Slate
from shopmind.ranking.sources import Sources

#: Rows whose full scores a batch computes at once (bounded by rows × items cells).
BLOCK_CELLS = 32_000_000


@dataclass
class Pipeline:
    """The stages of one kind of answer, with the bundle's scorer and the shop's rules."""

    sources: Sources
    scorer: Scorer
    rules: RuleSet = field(default_factory=RuleSet)
    #: The sources whose columns the features hold, in the scorer's order.
    feature_sources: tuple[str, ...] = ()
    _compiled: CompiledRules | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.feature_sources:
            self.feature_sources = tuple(self.sources.names())

    def compiled(self, ctx: RankingContext, ids: IdMap) -> CompiledRules:
        """The rules evaluated over this catalogue (once per catalogue and rule set)."""
        self._compiled = CompiledRules.current(self._compiled, self.rules, ctx.items, ids)
        return self._compiled

    # --- one request ----------------------------------------------------------------------

    def run(self, request: Request, ctx: RankingContext, ids: IdMap, explain: bool = True) -> Slate:
        """The served slate for one request."""
        slate = self.open(request, ctx, ids)
        if slate.reason is None and slate.fallback is None:
            with _timed(slate, "sources"):
                self.sources.run(slate, ctx)
            self._after_sources(slate, ctx)
            if slate.fallback is None and slate.reason is None:
                with _timed(slate, "features"):
                    features.compute(slate, ctx, self.feature_sources)
                with _timed(slate, "scorer"):
                    assert slate.features is not None
                    slate.score = scored_by(self.scorer, slate.feature_names, slate.features)
        self.finish(slate, ctx, ids, explain)
        return slate

    # --- a batch of rows (validation, evaluation, the ranker's training set) ---------------

    def run_batch(
        self,
        requests: Sequence[Request],
        ctx: RankingContext,
        ids: IdMap,
        *,
        until: str = "served",
    ) -> list[Slate]:
        """The slates of many requests, as :meth:`run` would serve each.

        ``until="features"`` stops after the features (what the ranker trains on).
        """
        out: list[Slate] = []
        rows = max(1, BLOCK_CELLS // max(ctx.n_items, 1))
        for start in range(0, len(requests), rows):
            block = [self.open(r, ctx, ids) for r in requests[start : start + rows]]
            live = [s for s in block if s.reason is None and s.fallback is None]
            full = self.full_scores(live, ctx)
            for j, slate in enumerate(live):
                self.sources.run(slate, ctx, {name: m[j] for name, m in full.items()})
                self._after_sources(slate, ctx)
                if slate.fallback is None and slate.reason is None:
                    features.compute(slate, ctx, self.feature_sources)
            if until == "features":
                out += block
                continue
            self.score_slates(live)
            for slate in block:
                self.finish(slate, ctx, ids, explain=False)
            out += block
        return out

    def score_slates(self, slates: Sequence[Slate]) -> None:
        """The scorer over many slates' features at once (those that have features)."""
        scored = [s for s in slates if s.features is not None and s.fallback is None]
        if not scored:
            return
        features = np.concatenate([s.features for s in scored])  # type: ignore[misc]
        scores = scored_by(self.scorer, scored[0].feature_names, features)
        at = 0
        for slate in scored:
            size = len(slate.items)
            slate.score = scores[at : at + size]
            at += size

    def full_scores(self, slates: Sequence[Slate], ctx: RankingContext) -> dict[str, np.ndarray]:
        """Full scores, for the block, of the models with no proposal shortcut."""
        if not slates:
            return {}
        first = slates[0]
        assert first.allowed is not None
        names = self.sources.full_score_models(ctx, first.request.history, first.allowed)
        if not names:
            return {}
        histories = Histories.concat([s.request.history for s in slates])
        out = {}
        for name in names:
            scores = ctx.models[name].score(histories)
            padded = np.full((len(slates), ctx.n_items), np.nan, np.float32)
            width = min(scores.shape[1], ctx.n_items)
            padded[:, :width] = scores[:, :width]
            out[name] = padded
        return out

    # --- the stages around the sources and the scorer --------------------------------------

    def open(self, request: Request, ctx: RankingContext, ids: IdMap) -> Slate:
        """A new slate with its allowed items, or the fallback when the shopper has no usable
        history (and an empty list when nothing passes the filters)."""
        slate = Slate(request, ctx.n_items)
        with _timed(slate, "allowed"):
            stages.allowed(slate, ctx, self.compiled(ctx, ids))
        assert slate.allowed is not None
        if not slate.allowed.any():
            slate.reason = "no item passes the filters"
        elif not _usable_history(request, ctx):
            stages.fallback(slate, ctx)
            who = f"shopper {request.user_id!r}" if request.user_id else "this shopper"
            slate.reason = f"no history for {who} yet: trending items"
        return slate

    def _after_sources(self, slate: Slate, ctx: RankingContext) -> None:
        if not len(slate.items):  # nothing proposed: trending among the allowed
            stages.fallback(slate, ctx)
            slate.reason = "no source had a candidate: trending items"

    def finish(self, slate: Slate, ctx: RankingContext, ids: IdMap, explain: bool = False) -> None:
        """The stages after the scorer: rules, diversity and caps, top-k, explanations."""
        if slate.reason == "no item passes the filters":
            slate.served = np.zeros(0, np.int64)
            return
        compiled = self.compiled(ctx, ids)
        if slate.fallback is None:
            with _timed(slate, "rules"):
                stages.boosts_and_pins(slate, compiled, ids)
            with _timed(slate, "diversity"):
                stages.diversify(slate, ctx, compiled)
                stages.new_categories(slate, ctx, compiled)
            stages.cut(slate, slate.request.k)
        if slate.served is not None and not len(slate.served) and slate.reason is None:
            slate.reason = "no item passes the filters"
        if explain:
            with _timed(slate, "explanations"):
                explaining.explain(slate, ctx, self.scorer if slate.fallback is None else None, ids)


def _usable_history(request: Request, ctx: RankingContext) -> bool:
    items = request.history.items
    return bool(((items >= 0) & (items < ctx.n_items)).any())


@contextmanager
def _timed(slate: Slate, stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        slate.timings[stage] = slate.timings.get(stage, 0.0) + time.perf_counter() - start
