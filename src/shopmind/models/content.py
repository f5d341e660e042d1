"""Content-based recommendation from the language model's item embeddings.

A shopper is one or a few interest vectors: the recency-weighted mean of the embeddings of
what they touched (clustered when their history spans several interests). Every item with
text is scored, including items nobody has interacted with, and items added after training
(:meth:`ContentRecommender.add_items`) are scored the moment they are encoded.

From ``INDEX_FROM`` items the model keeps an HNSW index of its item vectors (saved with it), so
a server finds a shopper's best items (:meth:`ContentRecommender.candidates`) without scanning
the catalogue, and then scores just those (:meth:`Recommender.score` with ``items``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.models.base import Capabilities, ModelConfig, Recommender, known_only
from shopmind.text.embed import embed_items, embed_texts
from shopmind.text.encoder import EncoderSettings
from shopmind.text.index import EXACT_BELOW, VectorIndex, unit_placeholders
from shopmind.text.item_text import TextTemplate
from shopmind.text.whitening import Whitening

#: Score of an item without text: below every cosine, so it is never preferred.
NO_TEXT = -2.0
#: Fewer whitening directions than this are not worth estimating: the model stays unwhitened.
MIN_WHITEN_DIMS = 16
#: From this many items the model keeps an HNSW index for :meth:`ContentRecommender.candidates`
#: (below it an exact scan is about as fast: benchmarks/results/ann.md).
INDEX_FROM = EXACT_BELOW


class ContentConfig(ModelConfig):
    #: The encoder; by default the installation's ($SHOPMIND_ENCODER, else all-MiniLM-L6-v2).
    encoder: EncoderSettings = Field(default_factory=EncoderSettings.from_env)
    template: TextTemplate = TextTemplate()
    #: History event j places from the newest weighs exp(-recency_decay * j).
    recency_decay: float = Field(default=0.3, ge=0.0)
    #: Most recent history events read.
    history: int = Field(default=50, ge=1)
    #: Interest vectors per shopper (spherical k-means over their history), at most.
    interests: int = Field(default=1, ge=1, le=8)
    #: Whiten the item embeddings to this many directions, fitted on the catalogue's own texts
    #: (:mod:`shopmind.text.whitening`); 0 turns it off. A small catalogue gets at most a
    #: quarter of its items with text, and none below 16 (too few items to estimate it).
    whiten: int = Field(default=256, ge=0)
    #: Keep embeddings in the on-disk cache, so a retrain encodes only new or changed text.
    cache: bool = True


class ContentRecommender(Recommender):
    """Scores items by cosine to the shopper's interest vector(s)."""

    name = "content"
    config_class = ContentConfig
    config: ContentConfig
    #: HNSW index of the item vectors (from ``INDEX_FROM`` items; built when first needed).
    index: VectorIndex | None = None

    def _fit(self, data: Dataset) -> None:
        cfg = self.config
        self.item_vectors = embed_items(
            data.item_side,
            template=cfg.template,
            settings=cfg.encoder,
            cache=cfg.cache,
            progress=data.n_items > 20_000,
        )
        self.set_item_vectors(self.item_vectors)

    def set_item_vectors(self, vectors: np.ndarray) -> None:
        """Use precomputed encoder embeddings (rows aligned with the snapshot's items); the
        whitening is fitted on them when the config asks for it."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        has_text = int((np.abs(vectors).sum(axis=1) > 0).sum())
        dims = min(self.config.whiten, vectors.shape[1], has_text // 4)
        self.whitening = Whitening.fit(vectors, dims) if dims >= MIN_WHITEN_DIMS else None
        self.item_vectors = self._whiten(vectors)
        self.n_items = len(vectors)
        self.index = None
        self._fitted = True

    def _whiten(self, vectors: np.ndarray) -> np.ndarray:
        if self.whitening is None:
            return np.ascontiguousarray(vectors, dtype=np.float32)
        return self.whitening.transform(vectors)

    def add_items(self, texts: Sequence[str]) -> np.ndarray:
        """Encode new items' text and make them scorable; returns their item indices."""
        vectors = embed_texts(texts, settings=self.config.encoder, cache=self.config.cache)
        return self.add_item_vectors(vectors)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(takes_new_items=True, text_vectors=True, audiences=True)

    @property
    def encoder(self) -> EncoderSettings:
        return self.config.encoder

    def text_vectors(self) -> np.ndarray:
        return self.item_vectors

    def add_item_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """Append new items' encoder embeddings (whitened like the rest, the whitening kept
        as fitted); returns their item indices."""
        start = self.n_items
        whitened = self._whiten(vectors)
        self.item_vectors = np.vstack([self.item_vectors, whitened])
        self.n_items = len(self.item_vectors)
        if self.index is not None:
            self.index.add(unit_placeholders(whitened))
        return np.arange(start, self.n_items)

    def _score(self, histories: Histories) -> np.ndarray:
        queries = self._queries(histories)
        rows, q, dim = queries.shape
        scores: np.ndarray = (queries.reshape(-1, dim) @ self.item_vectors.T).reshape(rows, q, -1)
        scores = scores.max(axis=1)
        scores[:, ~self.has_text] = NO_TEXT
        return scores

    def audience_state(self, histories: Histories) -> np.ndarray:
        """Each shopper's interest vectors (rows × q × dim)."""
        histories = known_only(histories, self.n_items)
        return self._compute_queries(histories)

    def audience_scores(self, state: np.ndarray, item: int) -> np.ndarray:
        if not self.has_text[item]:
            return np.full(len(state), NO_TEXT, np.float32)
        scores: np.ndarray = (state @ self.item_vectors[item]).max(axis=1).astype(np.float32)
        return scores

    def _score_items(self, histories: Histories, items: np.ndarray) -> np.ndarray:
        queries = self._queries(histories)
        scores: np.ndarray = np.einsum("rqd,id->rqi", queries, self.item_vectors[items])
        scores = scores.max(axis=1)
        scores[:, ~self.has_text[items]] = NO_TEXT
        return scores

    def _candidates(
        self, histories: Histories, n: int, allowed: np.ndarray | None
    ) -> np.ndarray | None:
        """Each row's best ``n`` items with text per interest vector, from the HNSW index."""
        if self.n_items < INDEX_FROM:
            return None  # an exact scan of a small catalogue costs about what the index does
        index = self._ensure_index()
        mask = self.has_text.copy()
        if allowed is not None:
            mask[: len(allowed)] &= allowed[: self.n_items]
            mask[len(allowed) :] = False
        queries = self._queries(histories)
        rows, q, dim = queries.shape
        ids, _ = index.search(queries.reshape(-1, dim), min(n, self.n_items), allowed=mask)
        return ids.reshape(rows, q * ids.shape[1])

    def _ensure_index(self) -> VectorIndex:
        if self.index is None or len(self.index) != self.n_items:
            self.index = VectorIndex.build(unit_placeholders(self.item_vectors), kind="hnsw")
        return self.index

    def _queries(self, histories: Histories) -> np.ndarray:
        """(rows × q × dim) unit interest vectors: the profile, then any cluster centroids.

        A row with fewer clusters than ``interests`` repeats its profile (the max over the
        queries is unchanged); a row with no text in its history has a zero query.
        """
        return self._remembered(histories, lambda: self._compute_queries(histories))

    def _compute_queries(self, histories: Histories) -> np.ndarray:
        cfg = self.config
        histories = histories.last(cfg.history)
        if len(histories) == 1:  # a request: its row without building a sparse history
            cols, values = histories.one_row(binary=True, recency_decay=cfg.recency_decay)
            weights = sp.csr_matrix(
                (values, cols, np.array([0, len(cols)])), shape=(1, self.n_items)
            )
        else:
            weights = histories.matrix(self.n_items, binary=True, recency_decay=cfg.recency_decay)
            weights = weights.tocsr()
        profile = _normalise(np.asarray(weights @ self.item_vectors, dtype=np.float32))
        k_max = cfg.interests
        if k_max <= 1:
            return profile[:, None, :]
        queries = np.repeat(profile[:, None, :], 1 + k_max, axis=1)
        for r in range(weights.shape[0]):  # k-means per shopper
            cols = weights.indices[weights.indptr[r] : weights.indptr[r + 1]]
            w = weights.data[weights.indptr[r] : weights.indptr[r + 1]]
            k = min(k_max, len(cols) // 2)
            if k < 2:
                continue
            found = spherical_kmeans(self.item_vectors[cols], w, k)
            queries[r, 1:] = found[np.minimum(np.arange(k_max), k - 1)]
        return queries

    @property
    def item_vectors(self) -> np.ndarray:
        """(n_items × dim) unit rows the model scores with (whitened when configured)."""
        return self._item_vectors

    @item_vectors.setter
    def item_vectors(self, vectors: np.ndarray) -> None:
        self._forget()
        self._item_vectors = vectors
        # Computed once per change: a request must not rescan the whole catalogue for it.
        self._has_text: np.ndarray = np.abs(vectors).sum(axis=1) > 0

    @property
    def has_text(self) -> np.ndarray:
        """Which items have text (a non-zero vector)."""
        return self._has_text

    def _state(self) -> dict[str, np.ndarray]:
        state = {"item_vectors": self.item_vectors}
        if self.whitening is not None:
            state |= {"whiten_mean": self.whitening.mean, "whiten_matrix": self.whitening.matrix}
        if self.n_items >= INDEX_FROM:  # built once here, so a server loads it ready
            state["index"] = self._ensure_index().to_array()
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.item_vectors = np.asarray(state["item_vectors"], dtype=np.float32)
        self.index = None
        if "index" in state:
            rows = unit_placeholders(self.item_vectors)
            self.index = VectorIndex.from_array(state["index"], rows)
        self.whitening = None
        if "whiten_matrix" in state:
            self.whitening = Whitening(
                np.asarray(state["whiten_mean"], dtype=np.float32),
                np.asarray(state["whiten_matrix"], dtype=np.float32),
            )


def spherical_kmeans(
    vectors: np.ndarray, weights: np.ndarray, k: int, iterations: int = 10
) -> np.ndarray:
    """``k`` unit centroids of weighted unit vectors; seeded from the heaviest (most recent)."""
    order = np.argsort(-weights, kind="stable")
    centroids = [vectors[order[0]]]
    for _ in range(1, k):  # farthest-point seeding: deterministic, spreads the interests
        similarity = np.max(np.stack(centroids) @ vectors.T, axis=0)
        centroids.append(vectors[int(np.argmin(similarity))])
    c = np.stack(centroids)
    weighted = weights[:, None] * vectors
    before = None
    for _ in range(iterations):
        assign = np.argmax(vectors @ c.T, axis=1)
        if before is not None and np.array_equal(assign, before):
            break  # the same members give the same centroids: converged
        before = assign
        member = (assign[None, :] == np.arange(k)[:, None]).astype(np.float32)
        filled = member.any(axis=1)  # an empty cluster keeps its centroid
        c = _normalise(np.where(filled[:, None], member @ weighted, c))
    return c


def _normalise(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    out: np.ndarray = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    return out.astype(np.float32)
