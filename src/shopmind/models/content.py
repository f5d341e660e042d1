"""Content-based recommendation from the language model's item embeddings.

A shopper is one or a few interest vectors: the recency-weighted mean of the embeddings of
what they touched (clustered when their history spans several interests). Every item with
text is scored, including items nobody has interacted with, and items added after training
(:meth:`ContentRecommender.add_items`) are scored the moment they are encoded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.models.base import ModelConfig, Recommender
from shopmind.text.embed import embed_items, embed_texts
from shopmind.text.encoder import EncoderSettings
from shopmind.text.item_text import TextTemplate
from shopmind.text.whitening import Whitening

#: Score of an item without text: below every cosine, so it is never preferred.
NO_TEXT = -2.0
#: Fewer whitening directions than this are not worth estimating: the model stays unwhitened.
MIN_WHITEN_DIMS = 16


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
    scores_unseen_items = True

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
        self._fitted = True

    def _whiten(self, vectors: np.ndarray) -> np.ndarray:
        if self.whitening is None:
            return np.ascontiguousarray(vectors, dtype=np.float32)
        return self.whitening.transform(vectors)

    def add_items(self, texts: Sequence[str]) -> np.ndarray:
        """Encode new items' text and make them scorable; returns their item indices."""
        vectors = embed_texts(texts, settings=self.config.encoder, cache=self.config.cache)
        return self.add_item_vectors(vectors)

    def add_item_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """Append new items' encoder embeddings (whitened like the rest, the whitening kept
        as fitted); returns their item indices."""
        start = self.n_items
        self.item_vectors = np.vstack([self.item_vectors, self._whiten(vectors)])
        self.n_items = len(self.item_vectors)
        return np.arange(start, self.n_items)

    def _score(self, histories: Histories) -> np.ndarray:
        cfg = self.config
        histories = histories.last(cfg.history)
        weights = histories.matrix(self.n_items, binary=True, recency_decay=cfg.recency_decay)
        profile = np.asarray(weights @ self.item_vectors, dtype=np.float32)
        scores: np.ndarray = _normalise(profile) @ self.item_vectors.T
        if cfg.interests > 1:
            scores = np.maximum(scores, self._interest_scores(weights.tocsr()))
        scores[:, ~self.has_text] = NO_TEXT
        return scores

    @property
    def item_vectors(self) -> np.ndarray:
        """(n_items × dim) unit rows the model scores with (whitened when configured)."""
        return self._item_vectors

    @item_vectors.setter
    def item_vectors(self, vectors: np.ndarray) -> None:
        self._item_vectors = vectors
        # Computed once per change: a request must not rescan the whole catalogue for it.
        self._has_text: np.ndarray = np.abs(vectors).sum(axis=1) > 0

    @property
    def has_text(self) -> np.ndarray:
        """Which items have text (a non-zero vector)."""
        return self._has_text

    def _interest_scores(self, weights: sp.csr_matrix) -> np.ndarray:
        """Per row, the best cosine to any of its interest clusters' centroids."""
        out = np.full((weights.shape[0], self.n_items), -np.inf, dtype=np.float32)
        k_max = self.config.interests
        centroids = np.zeros((weights.shape[0], k_max, self.item_vectors.shape[1]), np.float32)
        clustered = np.zeros(weights.shape[0], dtype=bool)
        for r in range(weights.shape[0]):  # k-means per shopper; the scoring is one product
            cols = weights.indices[weights.indptr[r] : weights.indptr[r + 1]]
            w = weights.data[weights.indptr[r] : weights.indptr[r + 1]]
            k = min(k_max, len(cols) // 2)
            if k < 2:
                continue
            found = spherical_kmeans(self.item_vectors[cols], w, k)
            # A shopper with fewer clusters repeats one: the max over clusters is unchanged.
            centroids[r] = found[np.minimum(np.arange(k_max), k - 1)]
            clustered[r] = True
        if clustered.any():
            flat = centroids[clustered].reshape(-1, centroids.shape[2]) @ self.item_vectors.T
            out[clustered] = flat.reshape(int(clustered.sum()), k_max, -1).max(axis=1)
        return out

    def _state(self) -> dict[str, np.ndarray]:
        state = {"item_vectors": self.item_vectors}
        if self.whitening is not None:
            state |= {"whiten_mean": self.whitening.mean, "whiten_matrix": self.whitening.matrix}
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.item_vectors = np.asarray(state["item_vectors"], dtype=np.float32)
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
    for _ in range(iterations):
        assign = np.argmax(vectors @ c.T, axis=1)
        for j in range(k):
            members = assign == j
            if members.any():
                c[j] = (weights[members, None] * vectors[members]).sum(axis=0)
        c = _normalise(c)
    return c


def _normalise(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    out: np.ndarray = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    return out.astype(np.float32)
