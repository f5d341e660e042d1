"""User-based nearest neighbours: recommend what shoppers with a similar history chose."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.models.base import ModelConfig, Recommender, sparse_from_state, sparse_state
from shopmind.models.itemknn import keep_top

#: Cells of the dense query × training-shopper block computed at once, ~16 MB of float32.
_BLOCK_CELLS = 1 << 22


class UserKNNConfig(ModelConfig):
    #: Most similar training shoppers whose choices are summed.
    neighbors: int = Field(default=50, ge=1)
    #: Added to the cosine denominator: overlaps of few items count less.
    shrink: float = Field(default=0.0, ge=0.0)
    #: 0/1 interactions (training rows and histories) instead of summed event weights.
    binary: bool = False
    #: History event j places from the newest counts exp(-recency_decay * j).
    recency_decay: float = Field(default=0.0, ge=0.0)


class UserKNN(Recommender):
    """Scores items by the similarity-weighted choices of the nearest training shoppers.

    A history is compared with every training shopper's row (shrunk cosine); the top
    ``neighbors`` rows are summed, weighted by their similarity. The query is the history
    itself, so a shopper unseen in training is served the same way.
    """

    name = "userknn"
    config_class = UserKNNConfig
    config: UserKNNConfig

    def _fit(self, data: Dataset) -> None:
        self._set_rows(sp.csr_matrix(data.matrix(binary=self.config.binary), dtype=np.float32))

    def _set_rows(self, rows: sp.csr_matrix) -> None:
        self.rows = rows
        self._rows_t = rows.T.tocsr()
        self._norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1), np.float64).ravel())

    def _score(self, histories: Histories) -> np.ndarray:
        cfg = self.config
        h = histories.matrix(self.n_items, binary=cfg.binary, recency_decay=cfg.recency_decay)
        norms = np.sqrt(np.asarray(h.multiply(h).sum(axis=1), np.float64).ravel())
        out = np.zeros((len(histories), self.n_items), dtype=np.float32)
        step = max(1, _BLOCK_CELLS // max(self.rows.shape[0], 1))
        for start in range(0, len(histories), step):
            stop = min(start + step, len(histories))
            dots = (h[start:stop] @ self._rows_t).toarray()
            denominator = norms[start:stop, None] * self._norms[None, :] + cfg.shrink
            sims = np.divide(dots, denominator, out=np.zeros(dots.shape), where=denominator > 0)
            weights = keep_top(sims.astype(np.float32), cfg.neighbors)
            out[start:stop] = (weights @ self.rows).toarray()
        return out

    def _state(self) -> dict[str, np.ndarray]:
        return sparse_state("rows", self.rows)

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self._set_rows(sparse_from_state("rows", state))
