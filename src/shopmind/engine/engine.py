"""The Engine: the one online path. It loads a Bundle once and answers every question.

It holds the bundle's models, the item id map and the item side data, and reads the
shopper's history from the Store at request time, so a new event changes the next answer
without retraining. Items posted after training are mapped, encoded and indexed on arrival.

Recommendation is a two-stage blend (:mod:`shopmind.blend`): each model proposes its best
items among those the filters allow (the purchased, or seen, ones excluded); over the union
each model's scores are min-max normalised and summed with the bundle's weights (proportional
to each model's validation NDCG@10); then the shared top-k. The engine never asks which
models a bundle holds: any registered model is scored the same way, and text-aware ones
(``scores_unseen_items``) receive new items.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from shopmind.blend import candidate_parts
from shopmind.bundle import IMAGE_ATTRIBUTES, Bundle, ItemTable, image_of
from shopmind.catalog.schema import Item, event_types
from shopmind.data.dataset import ItemSide
from shopmind.data.filters import ItemFilter
from shopmind.data.histories import Histories, event_weight
from shopmind.models.base import Recommender, top_k
from shopmind.models.similar import SimilarItems

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

log = logging.getLogger(__name__)

Exclude = Literal["purchased", "seen", "none"]
#: Most recent events of a shopper read per request.
HISTORY_LIMIT = 100
#: A history item explains a recommendation when its relation to it reaches this.
RELATION_FLOOR = 0.35
#: A model is named on an item when it gave at least this share of the leading model's part.
MODEL_SHARE = 0.25
_VERBS = {
    "purchase": "bought",
    "add_to_cart": "added to your cart",
    "wishlist": "saved",
    "rating": "rated",
    "click": "viewed",
    "view": "viewed",
}
#: Which event of an item names it in a reason, strongest first.
_VERB_RANK = ("purchase", "add_to_cart", "wishlist", "rating", "click", "view")


@dataclass(frozen=True)
class Recommended:
    """One answered item: its index, score, the models it came from and why."""

    index: int
    item_id: str
    score: float
    models: list[str]
    reason: str


@dataclass(frozen=True)
class Answer:
    """A ranked list; ``reason`` is set for fallbacks and empty lists."""

    items: list[Recommended]
    reason: str | None = None


# --- the engine ---------------------------------------------------------------------------


class _ReadWriteLock:
    """Many readers or one writer (new items change arrays that readers index)."""

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
    """Answers recommend / similar items for one loaded Bundle over a live Store."""

    def __init__(
        self,
        bundle: Bundle,
        store: Store,
        models: dict[str, Recommender],
        items: ItemTable,
        similar: SimilarItems | None,
    ) -> None:
        self.bundle = bundle
        self.store = store
        self.models = models
        self.weights = {n: w for n, w in bundle.blend.items() if n in models}
        self.similar = similar
        self.items = items.ids
        self.side = items.side
        self.image = list(items.image)
        self.popularity = items.popularity
        self.trending = items.trending
        self.removed = np.zeros(len(items.ids), dtype=bool)
        #: "Popular" means among the catalogue's most chosen 10% (and chosen at all).
        self._popular_from = (
            max(float(np.quantile(items.popularity, 0.9)), 1.0) if len(items.popularity) else np.inf
        )
        self.history_limit = HISTORY_LIMIT
        #: The Store's catalogue marker when this engine last caught up (follow_catalogue).
        self._marker = (-1, 0)
        self._lock = _ReadWriteLock()
        self._writer = threading.Lock()
        # At most one request computes per core; the others wait their turn instead of all
        # thrashing the caches and memory bandwidth at once (a 100k-item score reads ~100 MB).
        self._slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
        self._type_names = event_types()
        self._text = next(
            (
                m.config
                for m in models.values()
                if m.scores_unseen_items and hasattr(m.config, "encoder")
            ),
            None,
        )

    @classmethod
    def load(cls, bundle: Bundle | str, store: Store, *, sync: bool = True) -> Engine:
        """Load a bundle's models and items; with ``sync``, catch up on the Store's catalogue."""
        if not isinstance(bundle, Bundle):
            bundle = Bundle.load(bundle)
        models = {name: Recommender.load(bundle.model_folder(name)) for name in bundle.model_names}
        folder = bundle.similar_folder
        similar = SimilarItems.load(folder) if folder is not None else None
        engine = cls(bundle, store, models, ItemTable.load(bundle.path), similar)
        if sync:
            engine.sync_items()
        log.info(
            "engine: bundle %s, %d items, models %s",
            bundle.version,
            engine.n_items,
            ", ".join(models),
        )
        log.debug("engine: model configs %s", {name: m.config for name, m in models.items()})
        return engine

    @property
    def version(self) -> str:
        return self.bundle.version

    @property
    def n_items(self) -> int:
        return len(self.items)

    # --- the shopper's history, read at request time --------------------------------------

    def history(self, user_id: str) -> tuple[Histories, list[str]]:
        """The shopper's recent item events as one history row, and each event's type."""
        events = self.store.recent_item_events(user_id, self.history_limit)
        index = self.items.indices(e[0] for e in events)
        kept = [e for e, i in zip(events, index.tolist(), strict=True) if i >= 0]
        codes = {name: i for i, name in enumerate(self._type_names)}
        histories = Histories.from_lists(
            [index[index >= 0].tolist()],
            types=[[codes.get(e[1], 0) for e in kept]],
            timestamps=[[e[3] for e in kept]],
            weights=[[event_weight(e[1], e[2]) for e in kept]],
        )
        return histories, [e[1] for e in kept]

    # --- recommend ------------------------------------------------------------------------

    def recommend(
        self,
        user_id: str,
        k: int = 10,
        filters: ItemFilter | None = None,
        exclude: Exclude = "purchased",
    ) -> Answer:
        """The shopper's top-k items after the filters, without what they bought (or saw)."""
        histories, kinds = self.history(user_id)
        older = self._excluded_before_window(user_id, exclude, len(kinds))
        with self._slots, self._lock.read():
            n = self.n_items
            allowed = self._allowed(filters)
            history_items = histories.items
            if exclude == "seen":
                allowed[history_items] = False
            elif exclude == "purchased":
                bought = [
                    i for i, t in zip(history_items.tolist(), kinds, strict=True) if t == "purchase"
                ]
                allowed[bought] = False
            if older:
                index = self.items.indices(older)
                allowed[index[index >= 0]] = False
            if not allowed.any():
                return Answer([], "no item passes the filters")
            if len(history_items) == 0:
                return self._trending(allowed, k, user_id)
            union, parts = candidate_parts(self.models, self.weights, histories, n, allowed=allowed)
            total = sum(parts.values(), np.zeros(len(union), np.float32))
            ids, scores = top_k(total[None, :], k)
            columns = ids[0][ids[0] >= 0]
            if not len(columns):
                return Answer([], "no item passes the filters")
            chosen = union[columns]
            reasons = self._reasons(chosen, histories.items, kinds)
            out = []
            pairs = zip(chosen.tolist(), columns.tolist(), strict=True)
            for rank, (item, column) in enumerate(pairs):
                share = {name: float(part[column]) for name, part in parts.items()}
                lead = max(share.values(), default=0.0)
                named = [
                    m
                    for m, v in sorted(share.items(), key=lambda kv: -kv[1])
                    if v > 0 and v >= MODEL_SHARE * lead
                ]
                out.append(
                    Recommended(
                        item, self.items.id(item), float(scores[0, rank]), named, reasons[rank]
                    )
                )
            return Answer(out)

    def _excluded_before_window(self, user_id: str, exclude: Exclude, read: int) -> list[str]:
        """Items to exclude that only events older than the history window show: asked of
        the store only when the window was full (most shoppers' windows hold everything)."""
        if exclude == "none" or read < self.history_limit:
            return []
        return self.store.user_item_ids(user_id, "purchase" if exclude == "purchased" else None)

    def _trending(self, allowed: np.ndarray, k: int, user_id: str) -> Answer:
        n = self.n_items
        trend = _padded(self.trending, n)
        pop = _padded(self.popularity, n)
        score = trend / max(float(trend.max()), 1.0) + 0.01 * pop / max(float(pop.max()), 1.0)
        score = np.where(allowed, score, -np.inf).astype(np.float32)
        ids, scores = top_k(score[None, :], k)
        chosen = ids[0][ids[0] >= 0]
        items = [
            Recommended(
                item,
                self.items.id(item),
                float(scores[0, rank]),
                ["trending"],
                "trending" if trend[item] > 0 else f"popular in {self._category(item)}",
            )
            for rank, item in enumerate(chosen.tolist())
        ]
        if not items:
            return Answer([], "no item passes the filters")
        return Answer(items, f"no history for shopper {user_id!r} yet: trending items")

    def _reasons(self, chosen: np.ndarray, history: np.ndarray, kinds: Sequence[str]) -> list[str]:
        """Per chosen item: the history item most related to it, or its category's popularity."""
        if self.similar is None or not len(history):
            return [self._unexplained(int(i)) for i in chosen]
        strongest: dict[int, tuple[int, int]] = {}  # item -> (rank of its strongest event, recency)
        for pos, (item, kind) in enumerate(zip(history.tolist(), kinds, strict=True)):
            rank = _VERB_RANK.index(kind) if kind in _VERB_RANK else len(_VERB_RANK)
            before = strongest.get(item)
            strongest[item] = (min(rank, before[0]) if before else rank, pos)
        past = np.fromiter(strongest, np.int64, len(strongest))
        relation = self._relation(past, chosen)
        recency = np.array([strongest[i][1] for i in past.tolist()], np.float32) * 1e-6
        out = []
        for col, item in enumerate(chosen.tolist()):
            row = relation[:, col] + recency
            row[past == item] = -np.inf  # an item seen before is not its own reason
            best = int(np.argmax(row))
            if not np.isfinite(row[best]) or relation[best, col] < RELATION_FLOOR:
                out.append(self._unexplained(item))
                continue
            source = int(past[best])
            rank = strongest[source][0]
            verb = _VERBS[_VERB_RANK[rank]] if rank < len(_VERB_RANK) else "chose"
            out.append(f"because you {verb} {self.side.title[source] or self.items.id(source)}")
        return out

    def _unexplained(self, item: int) -> str:
        """The reason of an item no history item relates to: its popularity, when it has it."""
        if item < len(self.popularity) and self.popularity[item] >= self._popular_from:
            return f"popular in {self._category(item)}"
        return "picked for you from your recent activity"

    def _relation(self, past: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """How related each past item is to each chosen one: text cosine or co-interaction."""
        sim = self.similar
        assert sim is not None
        vectors = sim.index.vectors
        text = (vectors[past] @ vectors[chosen].T) * (
            sim.has_text[past][:, None] & sim.has_text[chosen][None, :]
        )
        co = np.zeros_like(text)
        m = sim.co_similarity
        inside_rows, inside_cols = past < m.shape[0], chosen < m.shape[1]
        if inside_rows.any() and inside_cols.any():
            block = m[past[inside_rows]][:, chosen[inside_cols]].toarray()
            co[np.ix_(inside_rows, inside_cols)] = block
        relation: np.ndarray = np.maximum(text, co).astype(np.float32)
        return relation

    # --- similar items --------------------------------------------------------------------

    def similar_items(self, item_id: str, k: int = 10, filters: ItemFilter | None = None) -> Answer:
        """Items like this one (text and co-interaction), after the filters."""
        index = self.items.index(item_id)
        if index < 0:
            raise KeyError(item_id)
        if self.similar is None:
            return Answer([], "this bundle holds no model for similar items")
        with self._slots, self._lock.read():
            allowed = self._allowed(filters)
            allowed[index] = False
            if not allowed.any():
                return Answer([], "no item passes the filters")
            ids, scores = self.similar.similar([index], k, allowed=allowed)
            chosen = ids[0][ids[0] >= 0]
            if not len(chosen):
                return Answer([], "no similar item passes the filters")
            row = self.similar.co_similarity
            together = set()
            if index < row.shape[0]:
                start, stop = row.indptr[index], row.indptr[index + 1]
                together = set(row.indices[start:stop][row.data[start:stop] > 0].tolist())
            title = self.side.title[index] or item_id
            out = []
            for rank, item in enumerate(chosen.tolist()):
                models = ["text"] if self.similar.has_text[item] else []
                if item in together:
                    models.append("co-interaction")
                reason = f"often chosen with {title}" if item in together else f"similar to {title}"
                out.append(
                    Recommended(item, self.items.id(item), float(scores[0, rank]), models, reason)
                )
            return Answer(out)

    # --- the catalogue changes under a running engine --------------------------------------

    def _allowed(self, filters: ItemFilter | None) -> np.ndarray:
        mask = (filters or ItemFilter()).mask(self.side)
        mask &= ~self.removed
        return mask

    def _category(self, item: int) -> str:
        path = self.side.category[item]
        return path[-1] if path else "the shop"

    def item_record(self, item: int) -> dict[str, Any]:
        """What an answer shows of an item."""
        price = float(self.side.price[item])
        return {
            "item_id": self.items.id(item),
            "title": self.side.title[item],
            "category": list(self.side.category[item]),
            "brand": self.side.brand[item],
            "price": None if np.isnan(price) else price,
            "image": self.image[item],
        }

    def upsert_items(self, items: Sequence[Item]) -> list[str]:
        """Take new or changed items into the live catalogue; returns the ids that are new.

        New items are encoded by the text-aware models and indexed for similar items at once.
        A changed text of a known item is picked up at the next training.
        """
        with self._writer:  # one writer at a time; encoding runs while readers carry on
            new = [i for i in {i.id: i for i in items}.values() if i.id not in self.items]
            vectors = self._encode(new) if new else None
            with self._lock.write():
                self._update_known([i for i in items if i.id in self.items])
                if new:
                    self._append(new, vectors)
        return [i.id for i in new]

    def delete_items(self, item_ids: Iterable[str]) -> None:
        """Never serve these items again (until they are posted again)."""
        index = self.items.indices(item_ids)
        with self._writer, self._lock.write():
            removed = self.removed.copy()
            removed[index[index >= 0]] = True
            self.removed = removed

    def follow_catalogue(self) -> bool:
        """Take in what other processes changed in the Store's catalogue since the last look
        (cheap when nothing did: one query). True when something changed."""
        marker = self.store.catalogue_marker()
        if marker == self._marker:
            return False
        since = self._marker[1]
        with self._writer:
            changed = [
                item
                for item in self.store.items_changed(since)
                if (i := self.items.index(item.id)) < 0 or self._differs(i, item)
            ]
        if changed:
            self.upsert_items(changed)
        if marker[0] != int((~self.removed).sum()):  # some item was deleted: a full pass
            self.sync_items()
        self._marker = marker
        return True

    def sync_items(self) -> None:
        """Catch up with the Store's catalogue: items posted, changed or deleted since training."""
        self._marker = self.store.catalogue_marker()
        stored = {item.id: item for item in self.store.iter_items()}
        changed = []
        for item in stored.values():
            i = self.items.index(item.id)
            if i < 0 or self._differs(i, item):
                changed.append(item)
        if changed:
            self.upsert_items(changed)
        gone = [x for x in self.items.to_list() if x not in stored]
        if gone:
            self.delete_items(gone)

    def _differs(self, i: int, item: Item) -> bool:
        price = np.nan if item.price is None else item.price
        old = float(self.side.price[i])
        return (
            self.side.title[i] != item.title
            or self.side.brand[i] != item.brand
            or tuple(self.side.category[i]) != item.category_path
            or bool(self.side.available[i]) != item.available
            or not (old == price or (np.isnan(old) and np.isnan(price)))
            or self.image[i] != _image(item)
        )

    def _encode(self, new: Sequence[Item]) -> np.ndarray | None:
        if self._text is None:
            return None
        from shopmind.text.embed import embed_texts
        from shopmind.text.item_text import item_texts

        config: Any = self._text
        texts = item_texts(ItemSide.from_items(list(new)), config.template)
        return embed_texts(texts, settings=config.encoder, cache=False)

    def _update_known(self, items: Sequence[Item]) -> None:
        if not items:
            return
        side = self.side
        title, brand, category = list(side.title), list(side.brand), list(side.category)
        price, available = side.price.copy(), side.available.copy()
        removed = self.removed.copy()
        fresh = ItemSide.from_items(list(items))
        for j, item in enumerate(items):
            i = self.items.index(item.id)
            title[i], brand[i], category[i] = item.title, item.brand, item.category_path
            price[i], available[i] = fresh.price[j], fresh.available[j]
            self.image[i] = image_of(fresh)[j]
            removed[i] = False
        self.side = replace(
            side, title=title, brand=brand, category=category, price=price, available=available
        )
        self.removed = removed

    def _append(self, new: Sequence[Item], vectors: np.ndarray | None) -> None:
        start = self.n_items
        fresh = ItemSide.from_items(list(new))
        side = self.side
        self.side = ItemSide(
            side.title + fresh.title,
            side.description + fresh.description,
            side.brand + fresh.brand,
            side.category + fresh.category,
            np.concatenate([side.price, fresh.price]),
            np.concatenate([side.available, fresh.available]),
            side.attributes + [{} for _ in new],
        )
        self.image += image_of(fresh)
        self.removed = np.concatenate([self.removed, np.zeros(len(new), dtype=bool)])
        self.items.extend(i.id for i in new)
        # Text-aware models take the new items' encoder vectors (appended as they hold their
        # own, e.g. whitened); similar items index the text model's own rows of them.
        text_rows: np.ndarray | None = None
        for model in self.models.values():
            if not model.scores_unseen_items or vectors is None:
                continue
            if not hasattr(model, "add_item_vectors"):
                log.warning("%s scores unseen items but cannot take new ones", model.name)
                continue
            model.add_item_vectors(vectors)
            held = getattr(model, "item_vectors", None)
            if text_rows is None and held is not None and len(held) == self.n_items:
                text_rows = held[start:]
        if self.similar is not None:
            dim = self.similar.index.dim
            added = np.zeros((len(new), dim), np.float32)
            for candidate in (text_rows, vectors):
                if candidate is not None and candidate.shape[1] == dim:
                    added = candidate
                    break
            self.similar.add_items(added)
        assert self.similar is None or self.similar.n_items == self.n_items


def _image(item: Item) -> str | None:
    found = next((item.attributes[k] for k in IMAGE_ATTRIBUTES if item.attributes.get(k)), None)
    return None if found is None else str(found)


def _padded(values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    out[: min(len(values), n)] = values[:n]
    return out
