"""The training snapshot: id maps, chronological interactions and item side data."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from shopmind.catalog.schema import Item, User, event_types, to_millis
from shopmind.data.histories import DEFAULT_EVENT_WEIGHTS, Histories, _ranges, type_weights
from shopmind.data.idmap import IdMap

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

log = logging.getLogger(__name__)

#: Codes of the ``split`` column: events a benchmark file placed in a given part.
SPLIT_CODES = {None: 0, "train": 1, "valid": 2, "test": 3}


@dataclass(frozen=True)
class ItemSide:
    """Side data of every item, aligned with the item IdMap."""

    title: list[str]
    description: list[str]
    brand: list[str]
    category: list[tuple[str, ...]]
    price: np.ndarray  # float64, NaN when unknown
    available: np.ndarray  # bool
    attributes: list[dict[str, Any]]
    #: When each item was created, epoch ms (float64, NaN when unknown); None: not known.
    created: np.ndarray | None = None

    @classmethod
    def from_items(cls, items: Sequence[Item]) -> ItemSide:
        return cls(
            title=[i.title for i in items],
            description=[i.description for i in items],
            brand=[i.brand for i in items],
            category=[i.category_path for i in items],
            price=np.array([np.nan if i.price is None else i.price for i in items], np.float64),
            available=np.array([i.available for i in items], dtype=bool),
            attributes=[dict(i.attributes) for i in items],
            created=np.array(
                [np.nan if i.created_at is None else to_millis(i.created_at) for i in items],
                np.float64,
            ),
        )

    def created_ms(self) -> np.ndarray:
        """Creation times, epoch ms, NaN where unknown."""
        if self.created is None:
            return np.full(len(self.price), np.nan)
        return self.created

    def extended(self, n: int) -> ItemSide:
        """The same data padded with ``n`` blank items (items seen only in events)."""
        return ItemSide(
            self.title + [""] * n,
            self.description + [""] * n,
            self.brand + [""] * n,
            self.category + [()] * n,
            np.concatenate([self.price, np.full(n, np.nan)]),
            np.concatenate([self.available, np.ones(n, dtype=bool)]),
            self.attributes + [{} for _ in range(n)],
            np.concatenate([self.created_ms(), np.full(n, np.nan)]),
        )


@dataclass(frozen=True)
class Dataset:
    """A snapshot of the Store: events sorted by (user, time, arrival), all as arrays.

    Item events only; searches are kept apart in ``search_*``. Two Datasets cut from the same
    snapshot (see :meth:`subset`) share their IdMaps, so indices mean the same thing.
    """

    users: IdMap
    items: IdMap
    user: np.ndarray  # int64 user index per event
    item: np.ndarray  # int64 item index per event
    type: np.ndarray  # int16 event-type code
    timestamp: np.ndarray  # int64 epoch ms
    value: np.ndarray  # float32, NaN when absent
    split: np.ndarray  # int8, see SPLIT_CODES
    item_side: ItemSide
    user_attributes: list[dict[str, Any]]
    type_names: tuple[str, ...] = field(default_factory=event_types)
    event_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    search_user: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    search_query: list[str] = field(default_factory=list)
    search_timestamp: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_events(self) -> int:
        return len(self.item)

    @cached_property
    def user_ptr(self) -> np.ndarray:
        """Start of each user's events (length n_users + 1)."""
        counts = np.bincount(self.user, minlength=self.n_users)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @cached_property
    def weights(self) -> np.ndarray:
        """Per-event weight from the event-type weights (a rating uses its value when set)."""
        w = type_weights(self.type_names, self.event_weights)[self.type]
        rating = self.type == self.type_names.index("rating")
        return np.where(rating & ~np.isnan(self.value), self.value, w).astype(np.float32)

    def matrix(self, *, binary: bool = False) -> sp.csr_matrix:
        """The users × items matrix of summed event weights (or 0/1 with ``binary``)."""
        return self.histories().matrix(self.n_items, binary=binary)

    def histories(
        self, users: np.ndarray | Sequence[int] | None = None, keep: np.ndarray | None = None
    ) -> Histories:
        """The chronological histories of ``users`` (all users when None).

        ``keep`` is an optional boolean mask over events; only kept events are included.
        """
        ptr = self.user_ptr
        rows = np.arange(self.n_users) if users is None else np.asarray(users, dtype=np.int64)
        pos = _ranges(ptr[rows], ptr[rows + 1] - ptr[rows])
        row_of = np.repeat(np.arange(len(rows)), ptr[rows + 1] - ptr[rows])
        if keep is not None:
            chosen = keep[pos]
            pos, row_of = pos[chosen], row_of[chosen]
        lengths = np.bincount(row_of, minlength=len(rows))
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return Histories(
            indptr, self.item[pos], self.type[pos], self.timestamp[pos], self.weights[pos]
        )

    def subset(self, keep: np.ndarray) -> Dataset:
        """The same snapshot (same IdMaps and side data) with only the kept events."""
        return replace(
            self,
            user=self.user[keep],
            item=self.item[keep],
            type=self.type[keep],
            timestamp=self.timestamp[keep],
            value=self.value[keep],
            split=self.split[keep],
        )

    def item_popularity(self) -> np.ndarray:
        """Number of distinct users who interacted with each item."""
        return np.asarray(self.matrix(binary=True).sum(axis=0)).ravel()

    def stats(self) -> dict[str, int]:
        return {
            "users": self.n_users,
            "items": self.n_items,
            "events": self.n_events,
            "searches": len(self.search_query),
            "items_with_events": int((np.bincount(self.item, minlength=self.n_items) > 0).sum()),
        }

    @classmethod
    def from_columns(
        cls,
        items: Sequence[Item],
        users: Iterable[User],
        events: Mapping[str, np.ndarray],
        *,
        event_weights: Mapping[str, float] | None = None,
    ) -> Dataset:
        """Build from catalogue objects and columnar events (keys as :meth:`Store.scan_events`).

        Items are ordered oldest first (by ``created_at``, then id) so a tie between items
        is broken the same way on every run; items seen only in events are appended.
        """
        names = event_types()
        ordered = sorted(
            items,
            key=lambda i: (
                i.created_at is None,
                to_millis(i.created_at) if i.created_at else 0,
                i.id,
            ),
        )
        item_map = IdMap(i.id for i in ordered)
        user_list = list(users)
        user_map = IdMap(u.id for u in user_list)
        attributes = {u.id: dict(u.attributes) for u in user_list}

        type_col = np.asarray(events["type"], dtype=object)
        is_search = type_col == "search"
        user_ids = np.asarray(events["user_id"], dtype=object)
        user_map.extend(dict.fromkeys(user_ids.tolist()))

        item_ids = np.asarray(events["item_id"], dtype=object)[~is_search]
        n_known = len(item_map)
        item_map.extend(dict.fromkeys(x for x in item_ids.tolist() if x is not None))
        if len(item_map) > n_known:
            log.warning(
                "%d items appear in events but not in the catalogue; they have no text",
                len(item_map) - n_known,
            )
        side = ItemSide.from_items(ordered).extended(len(item_map) - n_known)

        code = {name: i for i, name in enumerate(names)}
        types = np.fromiter((code[t] for t in type_col[~is_search]), np.int16)
        users_idx = user_map.indices(user_ids.tolist())
        ts = np.asarray(events["timestamp_ms"], dtype=np.int64)
        seq = np.asarray(events.get("seq", np.arange(len(ts))), dtype=np.int64)
        split_col = events.get("split")
        splits = (
            np.zeros(len(ts), np.int8)
            if split_col is None
            else np.fromiter((SPLIT_CODES.get(s, 0) for s in split_col), np.int8, len(ts))
        )
        value = np.asarray(events.get("value", np.full(len(ts), np.nan)), dtype=np.float32)

        m = ~is_search
        order = np.lexsort((seq[m], ts[m], users_idx[m]))
        s_order = np.lexsort((seq[is_search], ts[is_search], users_idx[is_search]))
        queries = np.asarray(events.get("query", [None] * len(ts)), dtype=object)[is_search]
        return cls(
            users=user_map,
            items=item_map,
            user=users_idx[m][order],
            item=item_map.indices(item_ids.tolist())[order],
            type=types[order],
            timestamp=ts[m][order],
            value=value[m][order],
            split=splits[m][order],
            item_side=side,
            user_attributes=[attributes.get(u, {}) for u in user_map.to_list()],
            type_names=names,
            event_weights=dict(event_weights or DEFAULT_EVENT_WEIGHTS),
            search_user=users_idx[is_search][s_order],
            search_query=[str(q or "") for q in queries[s_order]],
            search_timestamp=ts[is_search][s_order],
        )

    @classmethod
    def from_store(
        cls,
        store: Store,
        *,
        event_weights: Mapping[str, float] | None = None,
        upto_seq: int | None = None,
    ) -> Dataset:
        """Snapshot a Store, streaming its events in columnar batches (none past the arrival
        number ``upto_seq``, when given: a training snapshot's mark)."""
        batches = list(store.scan_events(upto_seq=upto_seq))
        keys = ("seq", "user_id", "item_id", "type", "value", "query", "timestamp_ms", "split")
        if batches:
            columns = {k: np.concatenate([b[k] for b in batches]) for k in keys}
        else:
            columns = {k: np.zeros(0, dtype=object) for k in keys}
            columns["timestamp_ms"] = np.zeros(0, np.int64)
        return cls.from_columns(
            list(store.iter_items()), store.iter_users(), columns, event_weights=event_weights
        )
