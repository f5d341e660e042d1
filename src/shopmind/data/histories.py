"""Shopper histories: what every model scores from (ragged, chronological, batch-first)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Default weight of each event type in the user × item matrix.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 1.0,
    "add_to_cart": 2.0,
    "remove_from_cart": 0.0,
    "purchase": 4.0,
    "rating": 1.0,
    "wishlist": 2.0,
    "search": 0.0,
    "dismiss": 0.0,
}


@dataclass(frozen=True)
class Histories:
    """A batch of item histories as a ragged array, oldest event first in each row.

    Row ``r`` holds ``items[indptr[r]:indptr[r+1]]`` with their event-type codes, timestamps
    (epoch ms) and weights. Item indices come from the Dataset's item IdMap; -1 marks an item
    the model has never heard of and is ignored by scoring.
    """

    indptr: np.ndarray
    items: np.ndarray
    types: np.ndarray
    timestamps: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.items)
        assert self.indptr[0] == 0 and self.indptr[-1] == n
        assert len(self.types) == len(self.timestamps) == len(self.weights) == n

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def row(self, r: int) -> np.ndarray:
        return self.items[self.indptr[r] : self.indptr[r + 1]]

    def take(self, rows: np.ndarray | Sequence[int]) -> Histories:
        """The histories of the given rows, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        return self._slice(self.indptr[rows], self.lengths[rows])

    def last(self, n: int) -> Histories:
        """Keep only each row's ``n`` most recent events."""
        lengths = np.minimum(self.lengths, n)
        return self._slice(self.indptr[1:] - lengths, lengths)

    def prefix(self, lengths: np.ndarray) -> Histories:
        """Keep the first ``lengths[r]`` (oldest) events of each row ``r``."""
        return self._slice(self.indptr[:-1], np.minimum(self.lengths, lengths))

    def _slice(self, starts: np.ndarray, lengths: np.ndarray) -> Histories:
        pos = _ranges(starts, lengths)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return Histories(
            indptr, self.items[pos], self.types[pos], self.timestamps[pos], self.weights[pos]
        )

    def matrix(
        self,
        n_items: int,
        *,
        binary: bool = False,
        recency_decay: float = 0.0,
        dtype: type = np.float32,
    ) -> sp.csr_matrix:
        """The histories as a (rows × n_items) sparse matrix; repeated items are summed.

        ``recency_decay`` d weights the j-th most recent event (j = 0 for the newest) by
        ``exp(-d * j)``, so recent behaviour counts more. ``binary`` caps each cell at 1
        (after decay, the most recent occurrence wins).
        """
        known = self.items >= 0
        rows = np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)[known]
        cols = self.items[known]
        decay = np.ones(int(known.sum()))
        if recency_decay > 0:
            age = np.repeat(self.indptr[1:], self.lengths)[known] - 1 - np.flatnonzero(known)
            decay = np.exp(-recency_decay * age)
        if binary:
            # A cell is 1 (or its decayed weight) if any positively weighted event touched it.
            flags = np.where(self.weights[known] > 0, decay, 0.0)
            m = _max_duplicates(rows, cols, flags, len(self), n_items, dtype)
            m.eliminate_zeros()
            return m
        values = self.weights[known].astype(np.float64) * decay
        m = sp.csr_matrix((values, (rows, cols)), shape=(len(self), n_items), dtype=dtype)
        m.eliminate_zeros()
        return m

    def one_row(
        self, *, binary: bool = False, recency_decay: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """The only row of a one-row history as :meth:`matrix` holds it, without scipy: its
        columns (ascending) and float32 values, zeros dropped. A request's history is one
        row, and building a sparse matrix for it cost more than the product it fed."""
        assert len(self) == 1, "one_row is for a one-row history"
        known = np.flatnonzero(self.items >= 0)
        cols = self.items[known]
        decay = np.ones(len(known))
        if recency_decay > 0:
            decay = np.exp(-recency_decay * (len(self.items) - 1 - known))
        if binary:
            values = np.where(self.weights[known] > 0, decay, 0.0)
            order = np.lexsort((-values, cols))  # per item, its largest value first
            first = np.ones(len(order), dtype=bool)
            first[1:] = cols[order][1:] != cols[order][:-1]
            cols, values = cols[order[first]], values[order[first]].astype(np.float32)
        else:
            each = (self.weights[known].astype(np.float64) * decay).astype(np.float32)
            cols, where = np.unique(cols, return_inverse=True)
            values = np.zeros(len(cols), np.float32)
            np.add.at(values, where, each)  # repeated items summed, as the matrix sums them
        keep = values != 0
        return cols[keep], values[keep]

    @classmethod
    def from_lists(
        cls,
        rows: Sequence[Sequence[int]],
        *,
        types: Sequence[Sequence[int]] | None = None,
        timestamps: Sequence[Sequence[int]] | None = None,
        weights: Sequence[Sequence[float]] | None = None,
    ) -> Histories:
        """Build from Python lists of item indices (oldest first); for tests and requests."""
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        n = int(indptr[-1])

        def flat(values: Sequence[Sequence[float]] | None, default: float, dt: type) -> np.ndarray:
            if values is None:
                return np.full(n, default, dtype=dt)
            return np.asarray([v for row in values for v in row], dtype=dt).reshape(n)

        items = np.asarray([i for r in rows for i in r], dtype=np.int64).reshape(n)
        default_ts = np.concatenate([np.arange(k) for k in lengths]) if n else np.zeros(0)
        ts = flat(timestamps, 0, np.int64) if timestamps is not None else default_ts
        return cls(
            indptr,
            items,
            flat(types, 0, np.int16),
            np.asarray(ts, dtype=np.int64),
            flat(weights, 1.0, np.float32),
        )

    @classmethod
    def empty(cls, n_rows: int = 1) -> Histories:
        return cls.from_lists([[] for _ in range(n_rows)])

    @classmethod
    def concat(cls, parts: Sequence[Histories]) -> Histories:
        """The rows of several batches, one after another."""
        if not parts:
            return cls.empty(0)
        lengths = np.concatenate([p.lengths for p in parts])
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return cls(
            indptr,
            np.concatenate([p.items for p in parts]),
            np.concatenate([p.types for p in parts]),
            np.concatenate([p.timestamps for p in parts]),
            np.concatenate([p.weights for p in parts]),
        )


def event_weight(
    kind: str, value: float | None, weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS
) -> float:
    """One event's weight, by the rule :attr:`Dataset.weights` applies to a whole snapshot:
    a rating weighs its value when it has one, any other event its type's weight (else 1)."""
    if kind == "rating" and value is not None and not np.isnan(value):
        return float(value)
    return float(weights.get(kind, 1.0))


def type_weights(names: Sequence[str], weights: Mapping[str, float]) -> np.ndarray:
    """Weight per event-type code, 1.0 for types the mapping does not name."""
    return np.array([float(weights.get(name, 1.0)) for name in names], dtype=np.float32)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, s + l)`` for every (s, l) without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    out: np.ndarray = np.arange(total, dtype=np.int64) + offsets
    return out


def _max_duplicates(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int, n_cols: int, dtype: type
) -> sp.csr_matrix:
    key = rows * n_cols + cols
    order = np.lexsort((-values, key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = order[first]
    return sp.csr_matrix(
        (values[keep], (rows[keep], cols[keep])), shape=(n_rows, n_cols), dtype=dtype
    )


def kinds_of(histories: Histories, type_names: Sequence[str]) -> list[tuple[str, ...]]:
    """Each row's event types by name (for slates built from a snapshot's histories)."""
    names = list(type_names)
    out = []
    for r in range(len(histories)):
        codes = histories.types[histories.indptr[r] : histories.indptr[r + 1]]
        out.append(tuple(names[int(c)] if 0 <= c < len(names) else "view" for c in codes))
    return out
