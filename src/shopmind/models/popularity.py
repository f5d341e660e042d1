"""Most popular items, optionally weighted toward recent interest."""

from __future__ import annotations

from typing import Literal

import numpy as np

from shopmind.catalog.schema import DAY_MS
from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.models.base import ModelConfig, Recommender, first_allowed


class PopularityConfig(ModelConfig):
    #: "users": distinct shoppers per item; "events": every event counts (by its weight).
    count: Literal["users", "events"] = "users"
    #: With a half-life (days), an interaction that old counts half as much as one today.
    half_life_days: float | None = None


class Popularity(Recommender):
    """Scores every item by how many shoppers interacted with it; the same for everyone."""

    name = "pop"
    config_class = PopularityConfig
    config: PopularityConfig
    _order: np.ndarray | None = None  # items by popularity, most popular first

    def _fit(self, data: Dataset) -> None:
        weight = np.ones(data.n_events) if self.config.count == "users" else data.weights
        if self.config.half_life_days:
            age_days = (data.timestamp.max() - data.timestamp) / DAY_MS
            weight = weight * np.power(0.5, age_days / self.config.half_life_days)
        if self.config.count == "users":
            # One vote per (user, item): keep each pair's most recent (largest) weight.
            key = data.user * data.n_items + data.item
            order = np.lexsort((-weight, key))
            first = np.ones(len(order), dtype=bool)
            first[1:] = key[order][1:] != key[order][:-1]
            keep = order[first]
            counts = np.bincount(data.item[keep], weights=weight[keep], minlength=data.n_items)
        else:
            counts = np.bincount(data.item, weights=weight, minlength=data.n_items)
        self.counts = counts.astype(np.float32)
        self._order = None

    def _score(self, histories: Histories) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(histories), self.n_items)).copy()

    def _score_items(self, histories: Histories, items: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts[items], (len(histories), len(items))).copy()

    def _candidates(
        self, histories: Histories, n: int, allowed: np.ndarray | None
    ) -> np.ndarray | None:
        """The ``n`` most popular allowed items, the same for every row."""
        n = min(n, self.n_items)
        order = self._order
        if order is None or len(order) != self.n_items:
            order = self._order = np.lexsort((np.arange(self.n_items), -self.counts))
        top = order[:n] if allowed is None else first_allowed(order, n, allowed)
        out = np.full((len(histories), n), -1, dtype=np.int64)
        out[:, : len(top)] = top
        return out

    def _state(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.counts = state["counts"]
        self._order = None
