"""Similar items: text semantics from the language model, blended with co-interaction.

An item's neighbours are first its nearest items in embedding space (the vector index, so
filters and catalogues of any size are served fast). Where the item has a behaviour history,
the items shoppers chose with it (item-kNN's similarity row) join the candidates and the two
similarities are blended with a weight chosen on validation. A new item with text only is
indexed on arrival and is both answered for and found among its neighbours' similar items.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from shopmind.data.split import EvalSet
from shopmind.evaluation.metrics import per_row_metrics
from shopmind.models.base import sparse_from_state, sparse_state
from shopmind.text.index import VectorIndex, unit_placeholders

#: Text neighbours fetched per query before blending, as a multiple of k.
_OVERFETCH = 5


@dataclass
class SimilarItems:
    """Item → similar items, by text and (where known) by co-interaction."""

    index: VectorIndex
    #: Items with text (a zero embedding means none); others are never returned by text.
    has_text: np.ndarray
    #: Items × items co-interaction similarity of the trained items (rows scaled to max 1).
    co_similarity: sp.csr_matrix
    #: Weight of co-interaction in the blend, 0 (text only) … 1 (behaviour only).
    blend: float = 0.5

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        co_similarity: sp.csr_matrix | None = None,
        *,
        blend: float = 0.5,
        index_kind: str = "auto",
    ) -> SimilarItems:
        """From item embeddings (zero rows: no text) and an optional item-kNN similarity."""
        vectors = np.asarray(vectors, dtype=np.float32)
        has_text = np.abs(vectors).sum(axis=1) > 0
        index = VectorIndex.build(unit_placeholders(vectors, has_text), kind=index_kind)  # type: ignore[arg-type]
        n = len(vectors)
        co = sp.csr_matrix((n, n), dtype=np.float32) if co_similarity is None else co_similarity
        return cls(index, has_text, _row_scaled(co, n), blend)

    @property
    def n_items(self) -> int:
        return len(self.has_text)

    def add_items(self, vectors: np.ndarray) -> np.ndarray:
        """Index new items (text embeddings) on arrival; returns their item indices."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.index.dim)
        text = np.abs(vectors).sum(axis=1) > 0
        ids = self.index.add(unit_placeholders(vectors, text))
        self.has_text = np.concatenate([self.has_text, text])
        return ids

    def similar(
        self,
        items: np.ndarray | list[int],
        k: int,
        *,
        allowed: np.ndarray | None = None,
        blend: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k similar items of each query item: (ids, scores), q × k, -1/-inf padded.

        ``allowed`` is a bool mask over items (availability, category, price filters); the
        query item itself is never returned.
        """
        items = np.asarray(items, dtype=np.int64).ravel()
        weight = self.blend if blend is None else blend
        n = self.n_items
        mask = np.ones(n, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
        if mask.shape != (n,):
            raise ValueError(f"allowed must be a bool mask over the {n} items, got {mask.shape}")
        out_ids = np.full((len(items), k), -1, dtype=np.int64)
        out_scores = np.full((len(items), k), -np.inf, dtype=np.float32)
        queries = self.index.vectors[np.clip(items, 0, max(n - 1, 0))] if n else None
        text_ok = mask & self.has_text
        fetched, fetched_scores = (
            self.index.search(queries, k * _OVERFETCH + 1, allowed=text_ok)
            if queries is not None and len(items)
            else (np.zeros((len(items), 0), np.int64), np.zeros((len(items), 0), np.float32))
        )
        for r, item in enumerate(items):
            if not 0 <= item < n:
                continue
            candidates: dict[int, float] = {}
            if self.has_text[item]:
                for c, s in zip(fetched[r], fetched_scores[r], strict=True):
                    if c >= 0:
                        candidates[int(c)] = float(s)
            co_cols, co_vals = self._co_row(int(item), mask)
            has_history = len(co_cols) > 0
            cos_of_co = self.index.vectors[co_cols] @ self.index.vectors[item]
            co_of = dict(zip(co_cols.tolist(), co_vals.tolist(), strict=True))
            for c, cos in zip(co_cols.tolist(), cos_of_co.tolist(), strict=True):
                if c not in candidates:
                    candidates[c] = cos if self.has_text[item] and self.has_text[c] else 0.0
            candidates.pop(int(item), None)
            if not candidates:
                continue
            ids = np.fromiter(candidates, np.int64, len(candidates))
            text = np.fromiter(candidates.values(), np.float32, len(candidates))
            if not self.has_text[item]:
                scores = np.array([co_of.get(int(c), 0.0) for c in ids], np.float32)
            elif has_history:
                co = np.array([co_of.get(int(c), 0.0) for c in ids], np.float32)
                scores = (1.0 - weight) * text + weight * co
            else:
                scores = text
            order = np.lexsort((ids, -scores))[:k]
            out_ids[r, : len(order)], out_scores[r, : len(order)] = ids[order], scores[order]
        return out_ids, out_scores

    def _co_row(self, item: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if item >= self.co_similarity.shape[0]:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        start, stop = self.co_similarity.indptr[item], self.co_similarity.indptr[item + 1]
        cols = self.co_similarity.indices[start:stop].astype(np.int64)
        vals = self.co_similarity.data[start:stop]
        keep = mask[cols]
        return cols[keep], vals[keep]

    # --- persistence: index folder + arrays + JSON ----------------------------------------

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        self.index.save(folder / "index")
        np.savez(
            folder / "similar.npz",
            has_text=self.has_text,
            **sparse_state("co", self.co_similarity),  # type: ignore[arg-type]
        )
        (folder / "similar.json").write_text(json.dumps({"blend": self.blend}) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SimilarItems:
        folder = Path(folder)
        meta = json.loads((folder / "similar.json").read_text())
        with np.load(folder / "similar.npz", allow_pickle=False) as arrays:
            state = {k: arrays[k] for k in arrays.files}
        index = VectorIndex.load(folder / "index")
        return cls(index, state["has_text"], sparse_from_state("co", state), float(meta["blend"]))


def tune_blend(
    similar: SimilarItems,
    rows: EvalSet,
    blends: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0),
    k: int = 10,
) -> tuple[float, dict[float, float]]:
    """The blend whose similar items of each shopper's last item best hit their next item.

    Scored by NDCG@k of the validation target among the similar items of the shopper's most
    recent history item; returns the best blend and every blend's score.
    """
    has_history = rows.histories.lengths > 0
    last = rows.histories.items[rows.histories.indptr[1:][has_history] - 1]
    targets = rows.targets[np.flatnonzero(has_history)]
    results = {}
    for blend in blends:
        ids, _ = similar.similar(last, k, blend=blend)
        results[blend] = similar_items_ndcg(ids, targets, k)
    best = max(results, key=lambda b: (results[b], -b))
    return best, results


def similar_items_ndcg(ids: np.ndarray, targets: sp.csr_matrix, k: int) -> float:
    """Mean NDCG@k of rows of ranked ids (-1 = empty slot) against each row's targets."""
    coo = targets.tocoo()
    big = targets.shape[1]
    hit = ids[coo.row] == coo.col[:, None]
    ranks = np.where(hit.any(axis=1), hit.argmax(axis=1), big).astype(np.int64)
    per_row = per_row_metrics(ranks, coo.row.astype(np.int64), targets.shape[0], (k,))
    return float(np.nanmean(per_row[f"ndcg@{k}"]))


def _row_scaled(co: sp.csr_matrix, n: int) -> sp.csr_matrix:
    co = sp.csr_matrix(co, dtype=np.float32)
    if co.shape[0] < n or co.shape[1] < n:
        co.resize((n, n))
    peak = np.asarray(co.max(axis=1).toarray()).ravel()
    scale = np.divide(1.0, peak, out=np.zeros_like(peak), where=peak > 0)
    return sp.csr_matrix(sp.diags(scale) @ co, dtype=np.float32)
