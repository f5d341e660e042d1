"""Labels that cut an EvalSet into slices (cold items, a category level, a user attribute)."""

from __future__ import annotations

import numpy as np

from shopmind.data.dataset import Dataset
from shopmind.data.split import EvalSet


def first_target(rows: EvalSet) -> np.ndarray:
    """The first target item of each row (rows have at least one target)."""
    targets = rows.targets.tocsr()
    first: np.ndarray = targets.indices[targets.indptr[:-1]].astype(np.int64)
    return first


def cold_items(train: Dataset, rows: EvalSet, *, threshold: int = 5) -> np.ndarray:
    """'cold' where the target had fewer than ``threshold`` training shoppers, else 'warm'."""
    popularity = train.item_popularity()
    return np.where(popularity[first_target(rows)] < threshold, "cold", "warm")


def category(data: Dataset, rows: EvalSet, *, level: int = 0) -> np.ndarray:
    """The target's category at ``level`` of its path (0 = department); '' when unknown."""
    paths = data.item_side.category
    return np.array(
        [paths[i][level] if len(paths[i]) > level else "" for i in first_target(rows)], dtype=object
    )


def user_attribute(data: Dataset, rows: EvalSet, attribute: str) -> np.ndarray:
    """The value of a user attribute for each row's shopper; '' when absent."""
    return np.array(
        [str(data.user_attributes[u].get(attribute, "")) for u in rows.users], dtype=object
    )
