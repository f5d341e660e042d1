"""The live catalogue: the bundle's item table kept current with the Store.

Items posted after training are mapped to new indices, encoded once, and handed to the
models that declare they take new items (and to the similar-items index); changed prices,
availability, titles or categories apply at once; deleted items are never served again. A
changed *text* of a known item waits for the next training.

Every change builds new arrays and a new :class:`~shopmind.ranking.context.ItemArrays`, then
swaps one reference, so a request reads one consistent catalogue throughout. Models' own
arrays grow in place under the write lock the engine holds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from shopmind.bundle.items import IMAGE_ATTRIBUTES, ItemTable, image_of
from shopmind.catalog.schema import Item
from shopmind.data.dataset import ItemSide
from shopmind.models.base import Recommender
from shopmind.models.similar import SimilarItems
from shopmind.ranking.context import ItemArrays

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

log = logging.getLogger(__name__)


class LiveCatalogue:
    """The items an engine serves: the bundle's, and those posted, changed or deleted since."""

    def __init__(
        self,
        table: ItemTable,
        models: Mapping[str, Recommender],
        similar: SimilarItems | None,
    ) -> None:
        self.ids = table.ids
        self.image = list(table.image)
        self.models = models
        self.similar = similar
        self.arrays = table.arrays()
        #: The Store's catalogue marker when this catalogue last caught up (:meth:`follow`).
        self._marker = (-1, 0)
        self._writer = threading.Lock()
        self._encoder = next(
            (m.encoder for m in models.values() if m.capabilities.takes_new_items and m.encoder),
            None,
        )

    @property
    def n(self) -> int:
        return len(self.ids)

    def record(self, item: int) -> dict[str, object]:
        """What an answer shows of an item."""
        side = self.arrays.side
        price = float(side.price[item])
        return {
            "item_id": self.ids.id(item),
            "title": side.title[item],
            "category": list(side.category[item]),
            "brand": side.brand[item],
            "price": None if np.isnan(price) else price,
            "image": self.image[item],
        }

    # --- changes --------------------------------------------------------------------------

    def upsert(
        self, items: Sequence[Item], write_lock: AbstractContextManager[object] | None = None
    ) -> list[str]:
        """Take new or changed items in; returns the ids that are new.

        New items are encoded (outside the lock, while readers carry on) and appended to the
        models that take new items and to the similar-items index.
        """
        with self._writer:
            latest = {i.id: i for i in items}
            new = [i for i in latest.values() if i.id not in self.ids]
            known = [i for i in latest.values() if i.id in self.ids]
            vectors = self._encode(new) if new else None
            with write_lock or nullcontext():
                if known:
                    self._update_known(known)
                if new:
                    self._append(new, vectors)
        return [i.id for i in new]

    def delete(self, item_ids: Iterable[str]) -> None:
        """Never serve these items again (until they are posted again)."""
        index = self.ids.indices(item_ids)
        with self._writer:
            removed = self.arrays.removed.copy()
            removed[index[index >= 0]] = True
            self.arrays = replace(self.arrays, removed=removed)

    def sync(self, store: Store, write_lock: AbstractContextManager[object] | None = None) -> None:
        """Catch up with the Store's catalogue: items posted, changed or deleted since."""
        self._marker = store.catalogue_marker()
        stored = {item.id: item for item in store.iter_items()}
        changed = [item for item in stored.values() if self._differs(item)]
        if changed:
            self.upsert(changed, write_lock)
        gone = [x for x in self.ids.to_list() if x not in stored]
        if gone:
            self.delete(gone)

    def follow(
        self, store: Store, write_lock: AbstractContextManager[object] | None = None
    ) -> bool:
        """Take in what other processes changed since the last look (one query when nothing
        did); True when something changed."""
        marker = store.catalogue_marker()
        if marker == self._marker:
            return False
        since = self._marker[1]
        changed = [item for item in store.items_changed(since) if self._differs(item)]
        if changed:
            self.upsert(changed, write_lock)
        if marker[0] != int((~self.arrays.removed).sum()):  # some item was deleted: a full pass
            self.sync(store, write_lock)
        self._marker = marker
        return True

    def _differs(self, item: Item) -> bool:
        i = self.ids.index(item.id)
        if i < 0:
            return True
        side = self.arrays.side
        price = np.nan if item.price is None else item.price
        old = float(side.price[i])
        return (
            side.title[i] != item.title
            or side.brand[i] != item.brand
            or tuple(side.category[i]) != item.category_path
            or bool(side.available[i]) != item.available
            or not (old == price or (np.isnan(old) and np.isnan(price)))
            or self.image[i] != _image(item)
            or side.attributes[i] != dict(item.attributes)
            or bool(self.arrays.removed[i])
        )

    def _encode(self, new: Sequence[Item]) -> np.ndarray | None:
        if self._encoder is None:
            return None
        from shopmind.text.embed import embed_texts
        from shopmind.text.item_text import TextTemplate, item_texts

        template = next(
            (
                getattr(m.config, "template", None)
                for m in self.models.values()
                if m.capabilities.takes_new_items
            ),
            None,
        )
        texts = item_texts(ItemSide.from_items(list(new)), template or TextTemplate())
        return embed_texts(texts, settings=self._encoder, cache=False)

    def _update_known(self, items: Sequence[Item]) -> None:
        a = self.arrays
        side = a.side
        title, brand, category = list(side.title), list(side.brand), list(side.category)
        attributes = list(side.attributes)
        price, available = side.price.copy(), side.available.copy()
        removed = a.removed.copy()
        fresh = ItemSide.from_items(list(items))
        images = image_of(fresh)
        for j, item in enumerate(items):
            i = self.ids.index(item.id)
            title[i], brand[i], category[i] = item.title, item.brand, item.category_path
            price[i], available[i] = fresh.price[j], fresh.available[j]
            attributes[i] = dict(item.attributes)
            self.image[i] = images[j]
            removed[i] = False
        side = replace(
            side,
            title=title,
            brand=brand,
            category=category,
            price=price,
            available=available,
            attributes=attributes,
        )
        self.arrays = replace(a, side=side, removed=removed)

    def _append(self, new: Sequence[Item], vectors: np.ndarray | None) -> None:
        a = self.arrays
        start = self.n
        fresh = ItemSide.from_items(list(new))
        side = a.side
        side = ItemSide(
            side.title + fresh.title,
            side.description + fresh.description,
            side.brand + fresh.brand,
            side.category + fresh.category,
            np.concatenate([side.price, fresh.price]),
            np.concatenate([side.available, fresh.available]),
            side.attributes + [dict(i.attributes) for i in new],
            np.concatenate([side.created_ms(), fresh.created_ms()]),
        )
        count = len(new)
        # Models first: only those that declare they take new items get them (an id-only
        # model keeps its catalogue and scores the new items as unknown).
        text_rows: np.ndarray | None = None
        if vectors is not None:
            for model in self.models.values():
                if not model.capabilities.takes_new_items:
                    continue
                model.add_item_vectors(vectors)
                held = model.text_vectors()
                if text_rows is None and held is not None and len(held) == start + count:
                    text_rows = held[start:]
        if self.similar is not None:
            dim = self.similar.index.dim
            added = np.zeros((count, dim), np.float32)
            for candidate in (text_rows, vectors):
                if candidate is not None and candidate.shape[1] == dim:
                    added = candidate
                    break
            self.similar.add_items(added)
        self.image += image_of(fresh)
        self.ids.extend(i.id for i in new)
        self.arrays = ItemArrays(
            side=side,
            popularity=np.concatenate([a.popularity, np.zeros(count, np.float32)]),
            trending=np.concatenate([a.trending, np.zeros(count, np.float32)]),
            created=side.created_ms(),
            removed=np.concatenate([a.removed, np.zeros(count, dtype=bool)]),
            now_ms=a.now_ms,
        )
        assert self.similar is None or self.similar.n_items == self.n


def _image(item: Item) -> str | None:
    found = next((item.attributes[k] for k in IMAGE_ATTRIBUTES if item.attributes.get(k)), None)
    return None if found is None else str(found)
