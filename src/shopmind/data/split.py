"""Splitters: leave-last-out, global temporal cutoff, and the split a benchmark file gives."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from shopmind.data.dataset import SPLIT_CODES, Dataset
from shopmind.data.histories import Histories


@dataclass(frozen=True)
class EvalSet:
    """Rows to evaluate: whose history, what the model sees, which items are the answer."""

    users: np.ndarray  # user index per row
    histories: Histories  # everything the shopper did before the target(s)
    targets: sp.csr_matrix  # rows × items, 1 where the item is a target

    def __len__(self) -> int:
        return len(self.users)

    def take(self, rows: np.ndarray) -> EvalSet:
        """These rows, in this order."""
        rows = np.asarray(rows, dtype=np.int64)
        return EvalSet(self.users[rows], self.histories.take(rows), self.targets[rows])


@dataclass(frozen=True)
class Split:
    """Fit on ``train``; choose hyper-parameters on ``valid``; report ``test``."""

    name: str
    train: Dataset
    valid: EvalSet
    test: EvalSet


def leave_last_out(data: Dataset, *, target_types: Collection[str] | None = None) -> Split:
    """Test = each shopper's last target event, validation = the one before it.

    Training keeps every event before the validation target. Shoppers with fewer than three
    target events are kept whole in training and not evaluated. ``target_types`` limits
    which events can be targets (e.g. purchases); all item events by default.
    """
    candidate = _type_mask(data, target_types)
    csum = np.cumsum(candidate)
    after = csum[data.user_ptr[1:][data.user] - 1] - csum  # candidates later in the sequence
    enough = np.bincount(data.user, weights=candidate, minlength=data.n_users)[data.user] >= 3
    test_event = candidate & enough & (after == 0)
    valid_event = candidate & enough & (after == 1)
    return _split_at(data, valid_event, test_event, "leave-last-out")


def as_given(data: Dataset) -> Split:
    """The split a benchmark file ships (events tagged valid / test at import)."""
    valid_event = data.split == SPLIT_CODES["valid"]
    test_event = data.split == SPLIT_CODES["test"]
    if not valid_event.any() or not test_event.any():
        raise ValueError(
            "this dataset carries no given split (no events tagged valid/test); "
            "use leave_last_out or temporal instead"
        )
    return _split_at(data, valid_event, test_event, "as-given")


def temporal(
    data: Dataset,
    test_start_ms: int,
    valid_start_ms: int | None = None,
    *,
    target_types: Collection[str] | None = None,
) -> Split:
    """Global time cutoffs: train < valid_start <= valid < test_start <= test.

    Every target event after a cutoff is a target of its shopper's row; the history is what
    the shopper did before that cutoff. ``valid_start_ms`` defaults to the same span before
    ``test_start_ms`` as the test period lasts.
    """
    if valid_start_ms is None:
        valid_start_ms = test_start_ms - (int(data.timestamp.max()) - test_start_ms)
    if not valid_start_ms < test_start_ms:
        raise ValueError("the validation cutoff must come before the test cutoff")
    candidate = _type_mask(data, target_types)
    ts = data.timestamp
    train = ts < valid_start_ms
    valid_rows = _targets(data, candidate & (ts >= valid_start_ms) & (ts < test_start_ms), train)
    test_rows = _targets(data, candidate & (ts >= test_start_ms), ts < test_start_ms)
    return Split("temporal", data.subset(train), valid_rows, test_rows)


def _type_mask(data: Dataset, target_types: Collection[str] | None) -> np.ndarray:
    if target_types is None:
        return np.ones(data.n_events, dtype=bool)
    unknown = set(target_types) - set(data.type_names)
    if unknown:
        raise ValueError(f"unknown target event types: {sorted(unknown)}")
    codes = [data.type_names.index(t) for t in target_types]
    return np.isin(data.type, codes)


def _split_at(data: Dataset, valid_event: np.ndarray, test_event: np.ndarray, name: str) -> Split:
    """Single-target rows: the history of a target is every earlier event of its shopper."""
    position = np.arange(data.n_events)
    ptr = data.user_ptr
    user_start = ptr[data.user]

    def rows(target: np.ndarray) -> EvalSet:
        idx = np.flatnonzero(target)
        users = data.user[idx]
        # The user's events strictly before the target (sorted order is time order).
        histories = data.histories(users).prefix(idx - user_start[idx])
        targets = sp.csr_matrix(
            (np.ones(len(idx), np.float32), (np.arange(len(idx)), data.item[idx])),
            shape=(len(idx), data.n_items),
        )
        return EvalSet(users, histories, targets)

    valid_rows = rows(valid_event)
    # Training: everything before each evaluated user's validation event.
    valid_pos = np.full(data.n_users, np.iinfo(np.int64).max)
    valid_pos[data.user[valid_event]] = position[valid_event]
    train = position < valid_pos[data.user]
    return Split(name, data.subset(train), valid_rows, rows(test_event))


def _targets(data: Dataset, target: np.ndarray, history: np.ndarray) -> EvalSet:
    users = np.unique(data.user[target])
    rows = np.searchsorted(users, data.user[target])
    targets = sp.csr_matrix(
        (np.ones(int(target.sum()), np.float32), (rows, data.item[target])),
        shape=(len(users), data.n_items),
    )
    targets.sum_duplicates()
    targets.data[:] = 1.0
    return EvalSet(users, data.histories(users, keep=history), targets)
