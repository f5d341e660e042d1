"""Implicit-feedback ALS (Hu, Koren & Volinsky, 2008), fitted by the ``implicit`` library.

Only the item factors Y are kept. A shopper's vector is solved from their history at scoring
time, the same least squares ALS solves for a training user, so any history is served:

    (YᵀY + Yᵀ(C − I)Y + λI) x = Yᵀ C p,   C = 1 + alpha·r on the history's items, p = 1 there.

``implicit`` takes the confidence C itself as its matrix values (its own ``alpha`` only scales
them), so the model hands it 1 + alpha·r with implicit's alpha fixed at 1.

Determinism: the initial factors come from ``seed``; each ALS half-step solves users (or
items) independently, and BLAS is held to one thread while fitting, so a refit with the same
config gives the same factors with any ``num_threads`` (checked by the tests).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.models.base import ModelConfig, Recommender

#: Floats gathered per batch of least-squares solves (rows × (longest history + factors) ×
#: factors), ~32 MB of float64.
_BATCH_FLOATS = 1 << 22


class ALSConfig(ModelConfig):
    factors: int = Field(default=64, ge=1)
    #: λ, the L2 penalty on user and item factors.
    regularization: float = Field(default=0.05, gt=0.0)
    #: Confidence scale: an interaction of weight r counts 1 + alpha·r.
    alpha: float = Field(default=2.0, ge=0.0)
    iterations: int = Field(default=15, ge=1)
    seed: int = 0
    #: 0/1 interactions instead of summed event weights (for fitting and histories).
    binary: bool = False
    #: History event j places from the newest counts exp(-recency_decay * j).
    recency_decay: float = Field(default=0.0, ge=0.0)
    #: implicit's conjugate-gradient solver (faster) instead of exact Cholesky while fitting.
    use_cg: bool = True
    #: Threads implicit fits with (0: every core).
    num_threads: int = Field(default=1, ge=0)


class ALS(Recommender):
    """Matrix factorisation for implicit feedback; scores are x·Y for the history's x."""

    name = "als"
    config_class = ALSConfig
    config: ALSConfig

    def _fit(self, data: Dataset) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        cfg = self.config
        with threadpool_limits(1, "blas"):
            als = AlternatingLeastSquares(
                factors=cfg.factors,
                regularization=cfg.regularization,
                alpha=1.0,
                dtype=np.float32,
                use_cg=cfg.use_cg,
                iterations=cfg.iterations,
                calculate_training_loss=False,
                num_threads=cfg.num_threads,
                random_state=cfg.seed,
            )
            als.fit(self.confidence(data.matrix(binary=cfg.binary)), show_progress=False)
        self._set_factors(np.asarray(als.item_factors, dtype=np.float32))

    def _set_factors(self, item_factors: np.ndarray) -> None:
        self.item_factors = item_factors
        y = item_factors.astype(np.float64)
        self._y = y
        self._gram = y.T @ y + self.config.regularization * np.eye(y.shape[1])

    def confidence(self, r: sp.csr_matrix) -> sp.csr_matrix:
        """C = 1 + alpha·r on the stored cells (what ``implicit`` is fitted on)."""
        c = sp.csr_matrix(r, dtype=np.float32, copy=True)
        c.data = 1.0 + self.config.alpha * c.data
        return c

    def user_factors(self, r: sp.csr_matrix) -> np.ndarray:
        """Each row's least-squares user vector (float64) given its interaction weights ``r``."""
        r = sp.csr_matrix(r)
        r.sort_indices()
        lengths = np.diff(r.indptr)
        factors = self._y.shape[1]
        out = np.zeros((r.shape[0], factors), dtype=np.float64)
        # Longest first, so each batch's first row sets its width and similar lengths share
        # a batch (little padding is gathered).
        order = np.argsort(-lengths, kind="stable")
        order = order[lengths[order] > 0]
        start = 0
        while start < len(order):
            longest = int(lengths[order[start]])
            size = max(1, _BATCH_FLOATS // ((longest + factors) * factors))
            rows = order[start : start + size]
            out[rows] = self._solve(r, rows)
            start += len(rows)
        return out

    def _solve(self, r: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        lengths = np.diff(r.indptr)[rows]
        width = int(lengths.max())
        slot = np.arange(width)[None, :]
        real = slot < lengths[:, None]
        pos = np.where(real, r.indptr[rows][:, None] + slot, 0)
        items = np.where(real, r.indices[pos], 0)
        extra = np.where(real, self.config.alpha * r.data[pos], 0.0)  # C − 1
        y = self._y[items]  # rows × width × factors
        a = self._gram[None] + np.matmul((y * extra[..., None]).transpose(0, 2, 1), y)
        b = np.einsum("rw,rwf->rf", np.where(real, 1.0 + extra, 0.0), y)
        solved: np.ndarray = np.linalg.solve(a, b[..., None])[..., 0]
        return solved

    def _score(self, histories: Histories) -> np.ndarray:
        cfg = self.config
        r = histories.matrix(self.n_items, binary=cfg.binary, recency_decay=cfg.recency_decay)
        x = self.user_factors(r).astype(np.float32)
        return np.asarray(x @ self.item_factors.T, dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_factors": self.item_factors}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self._set_factors(state["item_factors"])
