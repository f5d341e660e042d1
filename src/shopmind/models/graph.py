"""A graph model over the item relation graph: graph convolution as a closed-form filter.

GF-CF (Shen et al., 2021, "How Powerful is Graph Convolution for Recommendation?") shows that
LightGCN's propagation over the shopper-item graph is a low-pass filter on it, and that the
filter can be applied in closed form, without training embeddings: with R the interactions and
R̃ = D_u^-½ R D_i^-½ its symmetric normalisation,

    scores(h) = h · R̃ᵀR̃  +  α · h · D_i^-½ V Vᵀ D_i^½

where h is the shopper's history row and V the top ``components`` right singular vectors of R̃
(the "ideal low-pass" part, the smooth signal LightGCN's stacked layers converge to). The graph
here has co-interaction edges (the shoppers) and **category edges**: each leaf category is one
more node joined to its items with weight ``category_weight``, so items of one category
propagate to each other even when few shoppers link them. A shopper is their history row, as
for every model of the project: nothing learned is tied to a user id.

Like EASE it keeps an n_items² float32 matrix, which bounds the catalogue it suits.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from scipy.sparse.linalg import svds

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.models.base import ModelConfig, Recommender


class GraphConfig(ModelConfig):
    #: Weight α of the ideal low-pass (the top singular vectors) against the linear filter.
    alpha: float = Field(default=0.3, ge=0.0)
    #: Singular vectors of the normalised graph kept for the ideal low-pass.
    components: int = Field(default=256, ge=1, le=4096)
    #: Weight of each item's edge to its leaf category's node (0: co-interaction only).
    category_weight: float = Field(default=0.5, ge=0.0)
    #: Fit on 0/1 interactions instead of summed event weights.
    binary: bool = True
    #: History event j places from the newest counts exp(-recency_decay * j).
    recency_decay: float = Field(default=0.0, ge=0.0)


class GraphFilter(Recommender):
    """Scores = history @ W, W = R̃ᵀR̃ + α·D^-½ V Vᵀ D^½ over shoppers and categories."""

    name = "graph"
    config_class = GraphConfig
    config: GraphConfig

    def _fit(self, data: Dataset) -> None:
        r = sp.csr_matrix(data.matrix(binary=self.config.binary), dtype=np.float64)
        if self.config.category_weight > 0:
            r = sp.vstack([r, _category_rows(data, self.config.category_weight)]).tocsr()
        users = np.asarray(r.sum(axis=1)).ravel()
        items = np.asarray(r.sum(axis=0)).ravel()
        du = sp.diags(np.where(users > 0, users, 1.0) ** -0.5)
        di_inv = np.where(items > 0, items, 1.0) ** -0.5
        norm = (du @ r @ sp.diags(di_inv)).tocsc()
        weights = np.asarray((norm.T @ norm).toarray(), dtype=np.float32)
        k = min(self.config.components, min(norm.shape) - 1)
        if self.config.alpha > 0 and k >= 1:
            _, _, vt = svds(norm, k=k, random_state=0)
            v = vt.T.astype(np.float64)
            left = (di_inv[:, None] * v).astype(np.float32)
            right = (v / di_inv[:, None]).astype(np.float32)
            weights += np.float32(self.config.alpha) * (left @ right.T)
        self.weights = weights

    def _score(self, histories: Histories) -> np.ndarray:
        h = histories.matrix(
            self.n_items, binary=self.config.binary, recency_decay=self.config.recency_decay
        )
        return np.asarray(h @ self.weights, dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.weights = state["weights"]


def _category_rows(data: Dataset, weight: float) -> sp.csr_matrix:
    """One row per leaf category, ``weight`` on each of its items."""
    codes: dict[tuple[str, ...], int] = {}
    rows, cols = [], []
    for item, path in enumerate(data.item_side.category[: data.n_items]):
        if path:
            rows.append(codes.setdefault(tuple(path), len(codes)))
            cols.append(item)
    values = np.full(len(rows), weight, np.float64)
    return sp.csr_matrix((values, (rows, cols)), shape=(len(codes), data.n_items))
