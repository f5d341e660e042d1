"""Item-based nearest neighbours: items are alike when the same shoppers chose both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.models.base import (
    Capabilities,
    ModelConfig,
    Recommender,
    known_only,
    sparse_from_state,
    sparse_state,
)

#: Cells of the dense similarity block computed at once (rows × n_items), ~16 MB of float32.
_BLOCK_CELLS = 1 << 22


class ItemKNNConfig(ModelConfig):
    #: Most similar items kept per item (the rest of its row is dropped).
    neighbors: int = Field(default=100, ge=1)
    #: Added to the cosine denominator: pairs seen together by few shoppers count less.
    shrink: float = Field(default=10.0, ge=0.0)
    #: Asymmetric cosine exponent: sim(i, j) = dot / (|i|^(2α) |j|^(2(1-α)) + shrink); 0.5 is
    #: the plain cosine, larger values favour popular neighbours j.
    alpha: float = Field(default=0.5, ge=0.0, le=1.0)
    #: Reweight each shopper's column before the similarity: "idf" damps shoppers who touch
    #: many items; "bm25" also saturates repeated interactions and normalises item length.
    weighting: Literal["none", "idf", "bm25"] = "none"
    bm25_k1: float = Field(default=1.2, gt=0.0)
    bm25_b: float = Field(default=0.75, ge=0.0, le=1.0)
    #: Fit on 0/1 interactions instead of summed event weights.
    binary: bool = False
    #: Score from 0/1 histories (every history item counts alike) instead of event weights.
    binary_history: bool = True
    #: History event j places from the newest counts exp(-recency_decay * j).
    recency_decay: float = Field(default=0.0, ge=0.0)
    #: 0: items are alike when the same shoppers chose them (the classic item-kNN). w > 0:
    #: sequence-aware; two items count as chosen together only when at most ``w`` steps apart
    #: in a shopper's history, weighted 1/distance, so "what comes next" outweighs "what the
    #: same shopper bought months apart".
    window: int = Field(default=0, ge=0)
    #: With a window: weight of a pair where the neighbour came BEFORE the item (1 = symmetric).
    backward: float = Field(default=0.5, ge=0.0, le=1.0)


class ItemKNN(Recommender):
    """Scores an item by the summed similarity of the shopper's history items to it.

    ``similarity`` is items × items (row: a history item, columns: its ``neighbors`` most
    similar items, self excluded), so scoring is one sparse product: history @ similarity.
    """

    name = "itemknn"
    config_class = ItemKNNConfig
    config: ItemKNNConfig

    def _fit(self, data: Dataset) -> None:
        self._forget()
        cfg = self.config
        if cfg.window > 0:
            counts = window_cooccurrence(data.histories(), data.n_items, cfg.window, cfg.backward)
            occurrences = np.bincount(data.item, minlength=data.n_items).astype(np.float64)
            self.similarity = normalise_counts(
                counts, occurrences, cfg.neighbors, cfg.shrink, cfg.alpha
            )
            return
        x = weight_shoppers(data.matrix(binary=cfg.binary), cfg)
        self.similarity = item_similarity(x, cfg.neighbors, cfg.shrink, cfg.alpha)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(item_similarity=True, audiences=True)

    def item_similarity(self) -> sp.csr_matrix:
        return self.similarity

    def audience_state(self, histories: Histories) -> sp.csr_matrix:
        """The histories as the product reads them (users × items)."""
        histories = known_only(histories, self.n_items)
        return histories.matrix(
            self.n_items,
            binary=self.config.binary_history,
            recency_decay=self.config.recency_decay,
        ).tocsr()

    def audience_scores(self, state: sp.csr_matrix, item: int) -> np.ndarray:
        column = self._columns()[:, [item]]
        return np.asarray((state @ column).toarray(), np.float32).ravel()

    def _columns(self) -> sp.csc_matrix:
        """The similarity by columns (what leads to each item), built once."""
        cached: sp.csc_matrix | None = getattr(self, "_csc", None)
        if cached is None or cached.shape != self.similarity.shape:
            cached = self.similarity.tocsc()
            self._csc = cached
        return cached

    def _score(self, histories: Histories) -> np.ndarray:
        return np.asarray(self._sparse_scores(histories).toarray(), dtype=np.float32)

    def _sparse_scores(self, histories: Histories) -> sp.csr_matrix:
        """history @ similarity, kept sparse: only the history items' neighbours score > 0."""

        def product() -> sp.csr_matrix:
            if len(histories) == 1:
                return self._row_product(histories)
            h = histories.matrix(
                self.n_items,
                binary=self.config.binary_history,
                recency_decay=self.config.recency_decay,
            )
            return sp.csr_matrix(h @ self.similarity)

        return self._remembered(histories, product)

    def _row_product(self, histories: Histories) -> sp.csr_matrix:
        """history @ similarity for a one-row history (a request), in numpy: the history
        items' similarity rows, weighted and summed in the order scipy's product sums them
        (so the scores are the same to the bit), without building a sparse history."""
        cols, values = histories.one_row(
            binary=self.config.binary_history, recency_decay=self.config.recency_decay
        )
        s = self.similarity
        starts, counts = s.indptr[cols], np.diff(s.indptr)[cols]
        total = int(counts.sum())
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        at = np.arange(total, dtype=np.int64) + offsets
        neighbours, where = np.unique(s.indices[at], return_inverse=True)
        sums = np.zeros(len(neighbours), np.float32)
        np.add.at(sums, where, s.data[at] * np.repeat(values, counts))
        indptr = np.array([0, len(neighbours)], dtype=np.int64)
        return sp.csr_matrix((sums, neighbours, indptr), shape=(1, self.n_items))

    def _score_items(self, histories: Histories, items: np.ndarray) -> np.ndarray:
        scores = self._sparse_scores(histories)
        if scores.shape[0] != 1:
            return np.asarray(scores[:, items].toarray(), dtype=np.float32)
        # One row: look the items up among its sorted columns (scipy's column indexing
        # walks the whole column space for every call).
        cols, vals = scores.indices, scores.data
        out = np.zeros((1, len(items)), np.float32)
        if len(cols):
            at = np.minimum(np.searchsorted(cols, items), len(cols) - 1)
            hit = cols[at] == items
            out[0, hit] = vals[at[hit]]
        return out

    def _candidates(
        self, histories: Histories, n: int, allowed: np.ndarray | None
    ) -> np.ndarray | None:
        """The best ``n`` allowed neighbours of each row's history (never an item scoring 0)."""
        n = min(n, self.n_items)
        scores = self._sparse_scores(histories)
        out = np.full((len(histories), n), -1, dtype=np.int64)
        for r in range(len(histories)):
            cols = scores.indices[scores.indptr[r] : scores.indptr[r + 1]]
            vals = scores.data[scores.indptr[r] : scores.indptr[r + 1]]
            keep = vals > 0
            if allowed is not None:
                keep &= allowed[np.minimum(cols, len(allowed) - 1)] & (cols < len(allowed))
            cols, vals = cols[keep], vals[keep]
            best = np.lexsort((cols, -vals))[:n]  # ties to the lower index, like top_k
            out[r, : len(best)] = cols[best]
        return out

    def _state(self) -> dict[str, np.ndarray]:
        return sparse_state("similarity", self.similarity)

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self._forget()
        self.similarity = sparse_from_state("similarity", state)


def weight_shoppers(x: sp.csr_matrix, cfg: ItemKNNConfig) -> sp.csr_matrix:
    """The users × items matrix with each shopper (a "term" of the item "documents") reweighted.

    Follows the IDF / Okapi BM25 feature weighting of Dacrema et al.'s item-kNN baselines.
    """
    if cfg.weighting == "none":
        return sp.csr_matrix(x, dtype=np.float32)
    coo = sp.coo_matrix(x, dtype=np.float64)
    n_users, n_items = coo.shape
    per_user = np.bincount(coo.row, minlength=n_users)
    idf = np.maximum(np.log(n_items / (1.0 + per_user)), 0.0)
    values = coo.data * idf[coo.row]
    if cfg.weighting == "bm25":
        length = np.bincount(coo.col, weights=coo.data, minlength=n_items)
        mean = length[length > 0].mean() if (length > 0).any() else 1.0
        norm = (1.0 - cfg.bm25_b) + cfg.bm25_b * length / mean
        k1 = cfg.bm25_k1
        values = values * (k1 + 1.0) / (k1 * norm[coo.col] + coo.data)
    out = sp.csr_matrix((values, (coo.row, coo.col)), shape=coo.shape, dtype=np.float32)
    out.eliminate_zeros()
    return out


def item_similarity(x: sp.csr_matrix, neighbors: int, shrink: float, alpha: float) -> sp.csr_matrix:
    """Items × items shrunk (asymmetric) cosine of the columns of ``x``, top ``neighbors`` a row.

    Computed a block of rows at a time (a sparse product, then a dense top-k prune), so
    memory stays at one block however many items there are.
    """
    x = sp.csr_matrix(x, dtype=np.float32)
    n_items = x.shape[1]
    xt = x.T.tocsr()
    squared = np.asarray(xt.multiply(xt).sum(axis=1), dtype=np.float64).ravel()
    left, right = squared**alpha, squared ** (1.0 - alpha)

    def block(start: int, stop: int) -> np.ndarray:
        dots = (xt[start:stop] @ x).toarray()
        denominator = left[start:stop, None] * right[None, :] + shrink
        sims = np.divide(dots, denominator, out=np.zeros(dots.shape), where=denominator > 0)
        sims[np.arange(stop - start), np.arange(start, stop)] = 0.0
        out: np.ndarray = sims.astype(np.float32)
        return out

    return pruned_rows(block, n_items, neighbors)


def pruned_rows(block: Callable[[int, int], np.ndarray], n_items: int, k: int) -> sp.csr_matrix:
    """Items × items from dense row blocks ``block(start, stop)``, keeping ``k`` per row."""
    step = max(1, _BLOCK_CELLS // max(n_items, 1))
    blocks = [
        keep_top(block(start, min(start + step, n_items)), k) for start in range(0, n_items, step)
    ]
    if not blocks:
        return sp.csr_matrix((0, 0), dtype=np.float32)
    return sp.csr_matrix(sp.vstack(blocks, format="csr"), dtype=np.float32)


def window_cooccurrence(
    histories: Histories, n_items: int, window: int, backward: float
) -> sp.csr_matrix:
    """Items × items counts of j following i within ``window`` steps, weighted 1/distance.

    Row i, column j gets 1/d for each time j came d steps after i, and ``backward``/d for
    each time j came d steps before i.
    """
    row_of = np.repeat(np.arange(len(histories)), histories.lengths)
    items = histories.items
    rows, cols, values = [], [], []
    for d in range(1, window + 1):
        first = np.flatnonzero(row_of[:-d] == row_of[d:]) if len(items) > d else np.zeros(0, int)
        before, after = items[first], items[first + d]
        rows += [before, after]
        cols += [after, before]
        values += [np.full(len(first), 1.0 / d), np.full(len(first), backward / d)]
    if not rows:
        return sp.csr_matrix((n_items, n_items), dtype=np.float64)
    counts = sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
        dtype=np.float64,
    )
    counts.setdiag(0.0)
    counts.eliminate_zeros()
    return counts


def normalise_counts(
    counts: sp.csr_matrix, occurrences: np.ndarray, neighbors: int, shrink: float, alpha: float
) -> sp.csr_matrix:
    """counts(i, j) / (n_i^α n_j^(1-α) + shrink), top ``neighbors`` per row."""
    coo = counts.tocoo()
    denominator = occurrences[coo.row] ** alpha * occurrences[coo.col] ** (1.0 - alpha) + shrink
    values = np.divide(coo.data, denominator, out=np.zeros(len(coo.data)), where=denominator > 0)
    sims = sp.csr_matrix((values, (coo.row, coo.col)), shape=counts.shape, dtype=np.float32)
    return pruned_rows(lambda a, b: sims[a:b].toarray(), counts.shape[0], neighbors)


def keep_top(dense: np.ndarray, k: int) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each row, as a sparse matrix.

    Ties at the cut go to the lower column index, so the result does not depend on how
    the rows were batched.
    """
    keep = dense > 0
    if k < dense.shape[1]:
        kth = np.take_along_axis(dense, np.argpartition(-dense, k - 1, axis=1)[:, k - 1 : k], 1)
        above = dense > kth
        tied = dense == kth
        room = k - above.sum(axis=1, keepdims=True)
        keep &= above | (tied & (np.cumsum(tied, axis=1) <= room))
    rows, cols = np.nonzero(keep)
    return sp.csr_matrix((dense[rows, cols], (rows, cols)), shape=dense.shape, dtype=np.float32)
