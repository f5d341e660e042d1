"""The Store's snapshot that training and the evaluation of a store start from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shopmind.data.dataset import Dataset
from shopmind.data.split import Split, as_given, leave_last_out

if TYPE_CHECKING:
    from shopmind.catalog.store import Store


def snapshot(store: Store, upto_seq: int | None = None) -> Dataset:
    """Snapshot the Store (no event past the arrival number ``upto_seq``, when given);
    ValueError when it holds no events (nothing to learn from)."""
    data = Dataset.from_store(store, upto_seq=upto_seq)
    if data.n_events == 0:
        raise ValueError(
            "the store holds no events: import some (shopmind import events) "
            "or run shopmind generate first"
        )
    return data


def store_split(store: Store, target_types: Sequence[str] | None = None) -> Split:
    """Snapshot the Store and split it: the given split if the data has one, else leave-last-out.

    Raises ValueError when no shopper can be evaluated (an empty store, or too few targets).
    """
    data = snapshot(store)
    if (data.split > 0).any():
        return as_given(data)
    split = leave_last_out(data, target_types=target_types)
    if len(split.test) == 0:
        kinds = ", ".join(target_types) if target_types else "any type"
        raise ValueError(
            f"no shopper in the store has the 3 events of {kinds} that leave-last-out needs "
            "(train, validation, test); nothing to evaluate"
        )
    return split
