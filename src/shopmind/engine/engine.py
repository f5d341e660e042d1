"""The Engine: loads a Bundle once and dispatches each question to its pipeline.

It holds the bundle's models, the live catalogue and one :class:`~shopmind.ranking.Pipeline`
per placement ("recommended for you", "similar items"). A request reads the shopper's history
from the Store (so a new event changes the next answer without retraining), becomes a
Request, and the pipeline turns it into a Slate: the engine holds no ranking logic itself.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from shopmind.bundle import Bundle, ItemTable
from shopmind.catalog.schema import Item, event_types
from shopmind.data.dataset import ItemSide
from shopmind.data.filters import ItemFilter
from shopmind.data.histories import DEFAULT_EVENT_WEIGHTS, Histories
from shopmind.data.idmap import IdMap
from shopmind.engine.catalogue import LiveCatalogue
from shopmind.engine.history import HISTORY_LIMIT, read_events, read_history
from shopmind.models.base import Recommender
from shopmind.models.similar import SimilarItems
from shopmind.profiles import Profile, ProfileConfig, ProfileItems, build_profile, shop_time
from shopmind.profiles.audience import Audience, Member
from shopmind.profiles.profile import SegmentOf
from shopmind.profiles.rules import FACTS_FILE, ShopperFacts
from shopmind.profiles.segments import SegmentModel
from shopmind.ranking import explain as explaining
from shopmind.ranking.context import ItemArrays, RankingContext, build_context
from shopmind.ranking.features import feature_names
from shopmind.ranking.pipeline import Pipeline
from shopmind.ranking.rules import RuleSet
from shopmind.ranking.scorers import BlendScorer, Scorer, load_scorer
from shopmind.ranking.search import SEARCH_EXCLUSION, SearchPipeline
from shopmind.ranking.slate import Exclusion, Explanation, Request, Slate
from shopmind.ranking.sources import COMPLEMENTS, LINKED, PER_SOURCE, SIMILAR, Sources
from shopmind.relations.complements import Complements
from shopmind.search.index import SearchIndex

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

log = logging.getLogger(__name__)

Exclude = Literal["purchased", "seen", "none"]
#: A source is named on an item when it gave at least this share of the leading source's.
SOURCE_SHARE = 0.25
#: Candidates an item-anchored answer's source proposes per request.
ANCHORED_CANDIDATES = 100
#: The item-anchored answers (``Engine.related``) and the source each runs on.
ANCHORED = {"similar": SIMILAR, "complementary": COMPLEMENTS}
#: Candidates the category graph proposes for the cross-category row.
CROSS_CANDIDATES = 100


@dataclass(frozen=True)
class Recommended:
    """One answered item: its index, score, the sources it came from and why."""

    index: int
    item_id: str
    score: float
    models: list[str]
    reason: str
    explanation: Explanation | None = None


@dataclass(frozen=True)
class Answer:
    """A ranked list; ``reason`` is set for fallbacks and empty lists; ``slate`` is the whole
    record of how it was made."""

    items: list[Recommended]
    reason: str | None = None
    slate: Slate | None = field(default=None, repr=False, compare=False)


class _ReadWriteLock:
    """Many readers or one writer (new items grow arrays that readers index)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._readers:
                self._cond.wait()
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class Engine:
    """Answers recommend / similar items / why-not for one loaded Bundle over a live Store."""

    def __init__(
        self,
        bundle: Bundle,
        store: Store,
        models: dict[str, Recommender],
        items: ItemTable,
        similar: SimilarItems | None,
        *,
        scorer: Scorer | None = None,
        sources: Sources | None = None,
        feature_sources: Sequence[str] = (),
        rules: RuleSet | None = None,
        complements: Complements | None = None,
        search: SearchIndex | None = None,
    ) -> None:
        self.bundle = bundle
        self.store = store
        self.models = models
        self.weights = {n: w for n, w in bundle.blend.items() if n in models}
        self.similar = similar
        self.catalogue = LiveCatalogue(items, models, similar)
        self.history_limit = HISTORY_LIMIT
        self._lock = _ReadWriteLock()
        # At most one request computes per core; the others wait their turn instead of all
        # thrashing the caches and memory bandwidth at once.
        self._slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
        sources = sources or Sources.of(models, PER_SOURCE)
        names = tuple(feature_sources) or tuple(sources.names())
        served: Scorer = scorer or BlendScorer(self.weights, feature_names(names))
        self.rules = rules or RuleSet()
        self.recommendations = Pipeline(sources, served, self.rules, names)
        #: "Explore new categories": the same sources and ranker, over the items of categories
        #: the graph links to the shopper's, with the graph's own proposals beside them.
        self.cross = Pipeline(
            Sources({**sources.per_source, LINKED: CROSS_CANDIDATES}), served, self.rules, names
        )
        self.complements = complements
        #: The answers anchored on an item, each a pipeline of one source: its look-alikes
        #: ("similar") and what goes with it ("complementary").
        self.anchored = {
            kind: Pipeline(
                Sources({source: ANCHORED_CANDIDATES}),
                BlendScorer({source: 1.0}, feature_names((source,))),
                self.rules,
                (source,),
            )
            for kind, source in ANCHORED.items()
        }
        #: Product search: the query's lexical and semantic candidates, re-ranked for the
        #: shopper by the same models and weights as "recommended for you".
        self.searching = (
            SearchPipeline(search, self.weights, self.rules) if search is not None else None
        )
        self._context: tuple[object, RankingContext] | None = None
        self.profile_config: ProfileConfig = bundle.manifest.config.profiles
        self._profiles_of: tuple[ItemArrays, ProfileItems] | None = None
        self._profile_items(self.catalogue.arrays)  # the words' rarity: once, before serving
        self.segments: SegmentModel | None = None
        #: Segment id -> its members at training time (user ids).
        self.segment_members: dict[str, list[str]] = {}
        #: What rule segments are evaluated on (the training snapshot's shoppers).
        self.facts: ShopperFacts | None = None
        folder = bundle.segments_folder
        if folder is not None:
            self.segments, self.segment_members = SegmentModel.load(folder)
            if (folder / FACTS_FILE).exists():
                self.facts = ShopperFacts.load(folder)
        #: Item audiences: the models run in reverse over the training snapshot's shoppers.
        self.audience: Audience | None = None
        if bundle.audience_folder is not None:
            self.audience = Audience.load(bundle.audience_folder)

    @classmethod
    def load(
        cls, bundle: Bundle | str, store: Store, *, sync: bool = True, rules: RuleSet | None = None
    ) -> Engine:
        """Load a bundle's models, items and ranker; with ``sync``, catch up on the Store."""
        if not isinstance(bundle, Bundle):
            bundle = Bundle.load(bundle)
        models = {name: Recommender.load(bundle.model_folder(name)) for name in bundle.model_names}
        folder = bundle.similar_folder
        similar = SimilarItems.load(folder) if folder is not None else None
        relations = bundle.relations_folder
        spec = bundle.manifest.ranking
        scorer: Scorer | None = None
        sources: Sources | None = None
        names: tuple[str, ...] = ()
        if spec is not None:
            scorer = load_scorer(bundle.path / "ranker")
            sources = Sources(dict(spec.per_source))
            names = tuple(spec.feature_sources)
        engine = cls(
            bundle,
            store,
            models,
            ItemTable.load(bundle.path),
            similar,
            scorer=scorer,
            sources=sources,
            feature_sources=names,
            rules=rules,
            complements=Complements.load(relations) if relations is not None else None,
            search=SearchIndex.load(bundle.search_folder) if bundle.search_folder else None,
        )
        if sync:
            engine.sync_items()
        log.info(
            "engine: bundle %s, %d items, models %s, scorer %s",
            bundle.version,
            engine.n_items,
            ", ".join(models),
            engine.recommendations.scorer.kind,
        )
        log.debug("engine models: %r", models)
        return engine

    # --- what the routes read -------------------------------------------------------------

    @property
    def version(self) -> str:
        return self.bundle.version

    @property
    def n_items(self) -> int:
        return self.catalogue.n

    @property
    def items(self) -> IdMap:
        return self.catalogue.ids

    @property
    def side(self) -> ItemSide:
        return self.catalogue.arrays.side

    @property
    def removed(self) -> np.ndarray:
        return self.catalogue.arrays.removed

    def item_record(self, item: int) -> dict[str, Any]:
        return self.catalogue.record(item)

    def set_rules(self, rules: RuleSet) -> None:
        """Serve with these rules from the next request on."""
        self.rules = rules
        self.recommendations.rules = rules
        self.cross.rules = rules
        for pipeline in self.anchored.values():
            pipeline.rules = rules
        if self.searching is not None:
            self.searching.rules = rules

    def with_rules(self, rules: RuleSet) -> Engine:
        """This engine serving other rules (an experiment's arm): the same models, catalogue
        and locks, its own pipelines."""
        twin = copy.copy(self)
        twin.recommendations = copy.copy(self.recommendations)
        twin.cross = copy.copy(self.cross)
        twin.anchored = {kind: copy.copy(p) for kind, p in self.anchored.items()}
        twin.searching = copy.copy(self.searching) if self.searching is not None else None
        twin.set_rules(rules)
        return twin

    def context(self) -> RankingContext:
        """What the stages read now (rebuilt only when the catalogue changed)."""
        arrays = self.catalogue.arrays
        cached = self._context
        if cached is not None and cached[0] is arrays:
            return cached[1]
        ctx = build_context(
            self.models,
            arrays,
            self.similar,
            event_types(),
            DEFAULT_EVENT_WEIGHTS,
            self.complements,
        )
        self._context = (arrays, ctx)
        return ctx

    # --- the shopper's history, read at request time --------------------------------------

    def history(self, user_id: str) -> tuple[Histories, list[str]]:
        """The shopper's recent item events as one history row, and each event's type."""
        histories, kinds, _ = read_history(self.store, user_id, self.items, self.history_limit)
        return histories, list(kinds)

    def request(
        self,
        user_id: str,
        k: int = 10,
        filters: ItemFilter | None = None,
        exclude: Exclude = "purchased",
        placement: Literal["for_you", "cross_category"] = "for_you",
    ) -> Request:
        """The Request of a shopper's list (``placement``) as it stands now."""
        histories, kinds, read = read_history(self.store, user_id, self.items, self.history_limit)
        also: tuple[int, ...] = ()
        if exclude != "none" and read >= self.history_limit:
            # Exclusions reach past the window: asked of the store only when it was full.
            older = self.store.user_item_ids(
                user_id, "purchase" if exclude == "purchased" else None
            )
            index = self.items.indices(older)
            also = tuple(int(i) for i in index[index >= 0])
        return Request(
            history=histories,
            kinds=kinds,
            k=k,
            user_id=user_id,
            placement=placement,
            filters=filters,
            exclusion=Exclusion.named(exclude),
            also_excluded=also,
        )

    # --- the questions ---------------------------------------------------------------------

    def recommend(
        self,
        user_id: str,
        k: int = 10,
        filters: ItemFilter | None = None,
        exclude: Exclude = "purchased",
        placement: Literal["for_you", "cross_category"] = "for_you",
    ) -> Answer:
        """The shopper's top-k after the filters and the placement's exclusions and rules:
        "recommended for you", or the cross-category row (items of categories new to them)."""
        request = self.request(user_id, k, filters, exclude, placement)
        pipeline = self.recommendations if placement == "for_you" else self.cross
        with self._slots, self._lock.read():
            slate = pipeline.run(request, self.context(), self.items)
        if placement == "cross_category" and not len(slate.served_items):
            if self.complements is None:
                slate.reason = "this bundle holds no category graph; retrain with `shopmind train`"
            elif slate.linked is None or not (slate.linked > 0).any():
                slate.reason = "no category of this shopper's history links to a new one yet"
        return self._answer(slate)

    def profile(self, user_id: str, config: ProfileConfig | None = None) -> Profile:
        """The shopper's profile from their events in the Store now (so it is current after
        every event), read against this bundle's catalogue."""
        cfg = config or self.profile_config
        events = read_events(self.store, user_id, self.items, cfg.max_events)
        newest = float(events.timestamp.max()) if len(events) else None
        with self._lock.read():
            ctx = self.context()
            arrays = ctx.items
            as_of = shop_time(arrays.now_ms, newest, time.time() * 1000)
            profile = build_profile(
                user_id,
                events,
                self._profile_items(arrays),
                as_of_ms=as_of,
                item_id=self.items.id,
                text=ctx.text,
                has_text=ctx.has_text,
                config=cfg,
                bundle=self.version,
            )
        found = self.segments.assign(profile) if self.segments is not None else None
        if found is not None:
            profile.segment = SegmentOf(id=found.id, name=found.name)
        return profile

    def audience_of(self, item_id: str, k: int = 100) -> list[Member]:
        """The ``k`` shoppers most likely to want the item (the models in reverse), best
        first, a shopper deleted since training never among them; KeyError for an item the
        engine does not know or has deleted."""
        index = self.items.index(item_id)
        if index < 0 or self.removed[index]:
            raise KeyError(item_id)
        if self.audience is None:
            return []
        titles = self.side.title
        with self._lock.read():
            # A margin for erased shoppers; the store says who is still there.
            ranked = self.audience.rank(index, self.models, k + 100, lambda i: repr(titles[i]))
        kept = self.still_stored([m.user_id for m in ranked])
        return [m for m in ranked if m.user_id in kept][:k]

    def still_stored(self, user_ids: Sequence[str]) -> list[str]:
        """These shoppers (of the training snapshot) but those deleted since, in order."""
        stored = self.store.stored_users(user_ids)
        return [u for u in user_ids if u in stored]

    def _profile_items(self, arrays: ItemArrays) -> ProfileItems:
        """The catalogue as profiles read it, rebuilt when the catalogue changed; the words'
        rarity is the loaded catalogue's (a full pass over the titles, done once)."""
        cached = self._profiles_of
        if cached is not None and cached[0] is arrays:
            return cached[1]
        idf = cached[1].idf if cached is not None else None
        built = ProfileItems.build(arrays.side, idf)
        self._profiles_of = (arrays, built)
        return built

    def similar_items(self, item_id: str, k: int = 10, filters: ItemFilter | None = None) -> Answer:
        """Items like this one (text and co-interaction), after the filters and rules."""
        return self.related("similar", item_id, k, filters)

    def related(
        self,
        kind: Literal["similar", "complementary"],
        item_id: str,
        k: int = 10,
        filters: ItemFilter | None = None,
    ) -> Answer:
        """The answer of kind ``kind`` anchored on an item (see :attr:`anchored`): its similar
        items, or its complements; after the filters and rules."""
        index = self.items.index(item_id)
        if index < 0 or self.removed[index]:
            raise KeyError(item_id)
        if kind == "similar" and self.similar is None:
            return Answer([], "this bundle holds no model for similar items")
        if kind == "complementary" and self.complements is None:
            return Answer([], "this bundle holds no complements; retrain with `shopmind train`")
        request = Request(
            history=Histories.from_lists([[index]]),
            kinds=("view",),
            k=k,
            placement=kind,
            filters=filters,
            exclusion=Exclusion(purchased=False),
            anchor=index,
        )
        with self._slots, self._lock.read():
            slate = self.anchored[kind].run(request, self.context(), self.items)
        if slate.reason is None and not len(slate.served_items):
            slate.reason = (
                f"no {'similar' if kind == 'similar' else 'complementary'} item passes the filters"
            )
        return self._answer(slate)

    def search(
        self,
        query: str,
        user_id: str | None = None,
        k: int = 10,
        filters: ItemFilter | None = None,
        *,
        explain: bool = True,
    ) -> Answer:
        """The catalogue's best items for ``query``, re-ranked for the shopper when one is
        named and has a history (``answer.slate.interpretation``: how the query was read)."""
        if self.searching is None:
            return Answer([], "this bundle holds no search index; retrain with `shopmind train`")
        histories, kinds = self.history(user_id) if user_id else (Histories.empty(1), [])
        request = Request(
            history=histories,
            kinds=tuple(kinds),
            k=k,
            user_id=user_id,
            placement="search",
            filters=filters,
            exclusion=SEARCH_EXCLUSION,
            query=query,
        )
        with self._slots, self._lock.read():
            slate = self.searching.run(request, self.context(), self.items, explain=explain)
        return self._answer(slate)

    def why_not(
        self,
        user_id: str,
        item_id: str,
        k: int = 10,
        filters: ItemFilter | None = None,
        exclude: Exclude = "purchased",
    ) -> dict[str, Any]:
        """Why ``item_id`` is not among the shopper's top-k (or where it is)."""
        index = self.items.index(item_id)
        if index < 0:
            raise KeyError(item_id)
        request = self.request(user_id, k, filters, exclude)
        with self._slots, self._lock.read():
            ctx = self.context()
            slate = self.recommendations.run(request, ctx, self.items)
            compiled = self.recommendations.compiled(ctx, self.items)
            answer = explaining.why_not(slate, ctx, compiled, index, self.items)
            if answer.get("stage") == "sources":
                answer["ranks"] = self._source_ranks(slate, index)
        return answer

    def _source_ranks(self, slate: Slate, item: int) -> dict[str, int | None]:
        """Where each model ranks the item among the allowed (what "no source proposed it"
        compares against: each proposes its top ``n``)."""
        assert slate.allowed is not None
        out: dict[str, int | None] = {}
        history = slate.request.history
        for name, n in self.recommendations.sources.per_source.items():
            model = self.models.get(name)
            if model is None or item >= model.n_items:
                out[name] = None
                continue
            scores = model.score(history)[0]
            allowed = slate.allowed[: len(scores)]
            mine = scores[item]
            if not np.isfinite(mine):
                out[name] = None
                continue
            ahead = (scores > mine) & allowed & np.isfinite(scores)
            out[name] = int(ahead.sum())
            out[f"{name}.proposes"] = n
        return out

    def _answer(self, slate: Slate) -> Answer:
        items = slate.items
        served = slate.served if slate.served is not None else np.zeros(0, np.int64)
        score = slate.score if slate.score is not None else np.zeros(len(items), np.float32)
        out = []
        for j, pos in enumerate(served.tolist()):
            item = int(items[pos])
            explanation = slate.explanations[j] if j < len(slate.explanations) else None
            named = _named(explanation)
            anchor = slate.request.anchor
            if anchor is not None and COMPLEMENTS in slate.sources and self.complements:
                why = self.complements.why(
                    anchor, item, self.side.category, self.context().text_neighbours
                )
                named = [why.origin]
            elif anchor is not None:
                named = self._similar_sources(anchor, item)
            out.append(
                Recommended(
                    item,
                    self.items.id(item),
                    float(score[pos]),
                    named,
                    explanation.sentence if explanation else "",
                    explanation,
                )
            )
        return Answer(out, slate.reason, slate)

    def _similar_sources(self, anchor: int, item: int) -> list[str]:
        similar = self.similar
        assert similar is not None
        named = ["text"] if item < len(similar.has_text) and similar.has_text[item] else []
        co = similar.co_similarity
        if anchor < co.shape[0] and item < co.shape[1] and co[anchor, item] > 0:
            named.append("co-interaction")
        return named

    # --- the catalogue changes under a running engine --------------------------------------

    def upsert_items(self, items: Sequence[Item]) -> list[str]:
        """Take new or changed items into the live catalogue; returns the ids that are new."""
        lock = _WriteLock(self._lock)
        new = self.catalogue.upsert(items, lock)
        self._index_new_items()
        return new

    def delete_items(self, item_ids: Iterable[str]) -> None:
        self.catalogue.delete(item_ids)

    def follow_catalogue(self) -> bool:
        changed = self.catalogue.follow(self.store, _WriteLock(self._lock))
        if changed:
            self._index_new_items()
        return changed

    def sync_items(self) -> None:
        self.catalogue.sync(self.store, _WriteLock(self._lock))
        self._index_new_items()

    def warm_up(self) -> None:
        """Load what the first search would otherwise wait for: the query encoder."""
        index = self.searching.index if self.searching is not None else None
        if index is not None and index.semantic is not None:
            try:
                index.semantic.encode_query("warm up")
            except Exception:  # a failed warm-up fails the first search instead, saying why
                log.exception("the search encoder did not load")

    def _index_new_items(self) -> None:
        """Items posted since are searchable at once (both search indexes grow)."""
        if self.searching is not None:
            self.searching.index.catch_up(self.catalogue.arrays.side, _WriteLock(self._lock))


def _named(explanation: Explanation | None) -> list[str]:
    if explanation is None or not explanation.sources:
        return []
    lead = max(explanation.sources.values())
    return [s for s, v in explanation.sources.items() if v > 0 and v >= SOURCE_SHARE * lead]


class _WriteLock:
    """The engine's write lock as a plain context manager (what the catalogue takes)."""

    def __init__(self, lock: _ReadWriteLock) -> None:
        self._lock = lock
        self._held: Any = None

    def __enter__(self) -> None:
        self._held = self._lock.write()
        self._held.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._held.__exit__(*exc)
