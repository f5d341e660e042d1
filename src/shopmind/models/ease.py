"""EASE (Steck, 2019): a closed-form linear item-to-item model with a zero diagonal."""

from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy.linalg import lapack

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.models.base import ModelConfig, Recommender

#: Rows of the item × item matrix symmetrised and scaled at once.
_BLOCK_ROWS = 1024


class EASEConfig(ModelConfig):
    #: L2 penalty λ on the item weights; larger for larger, noisier data.
    l2: float = Field(default=100.0, gt=0.0)
    #: Fit on 0/1 interactions instead of summed event weights.
    binary: bool = False
    #: Score from 0/1 histories instead of summed event weights.
    binary_history: bool = False
    #: History event j places from the newest counts exp(-recency_decay * j).
    recency_decay: float = Field(default=0.0, ge=0.0)


class EASE(Recommender):
    """Scores = history @ B with B = I - P / diag(P), P = (XᵀX + λI)⁻¹.

    The inversion is float64 (Cholesky, LAPACK potrf/potri); B is kept as dense float32,
    n_items² of it, which bounds the catalogue this model suits (~30k items per 4 GB).
    """

    name = "ease"
    config_class = EASEConfig
    config: EASEConfig

    def _fit(self, data: Dataset) -> None:
        x = data.matrix(binary=self.config.binary).astype(np.float64)
        gram = np.asarray((x.T @ x).toarray(), dtype=np.float64)
        self.weights = ease_weights(gram, self.config.l2)

    def _score(self, histories: Histories) -> np.ndarray:
        h = histories.matrix(
            self.n_items, binary=self.config.binary_history, recency_decay=self.config.recency_decay
        )
        return np.asarray(h @ self.weights, dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.weights = state["weights"]


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """B = I - P / diag(P) with P = (gram + l2·I)⁻¹, as float32; ``gram`` is overwritten."""
    n = gram.shape[0]
    gram[np.diag_indices(n)] += l2
    # potrf/potri are Fortran-order; gram is symmetric, so its transpose is the same matrix
    # laid out the way LAPACK wants and the factorisation runs in place.
    chol, info = lapack.dpotrf(gram.T, lower=False, clean=True, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: Gram matrix not positive definite (potrf {info})")
    upper, info = lapack.dpotri(chol, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: inversion failed (potri {info})")
    # potri fills the upper triangle only; rebuild each block of full rows from it.
    diagonal = upper.diagonal().copy()
    weights = np.empty((n, n), dtype=np.float32)
    for start in range(0, n, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n)
        rows = np.array(upper[start:stop], dtype=np.float64)
        rows[:, :start] = upper[:start, start:stop].T
        square = rows[:, start:stop]
        rows[:, start:stop] = np.triu(square) + np.triu(square, 1).T
        block = -rows / diagonal[None, :]
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0
        weights[start:stop] = block
    return weights
