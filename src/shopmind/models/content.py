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

#: Score of an item without text: below every cosine, so it is never preferred.
NO_TEXT = -2.0


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

    def set_item_vectors(self, vectors: np.ndarray) -> None:
        """Use precomputed item embeddings (rows aligned with the snapshot's items)."""
        self.item_vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.n_items = len(vectors)
        self._fitted = True

    def add_items(self, texts: Sequence[str]) -> np.ndarray:
        """Encode new items' text and make them scorable; returns their item indices."""
        vectors = embed_texts(texts, settings=self.config.encoder, cache=self.config.cache)
        start = self.n_items
        self.item_vectors = np.vstack([self.item_vectors, vectors]).astype(np.float32)
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
    def has_text(self) -> np.ndarray:
        has: np.ndarray = np.abs(self.item_vectors).sum(axis=1) > 0
        return has

    def _interest_scores(self, weights: sp.csr_matrix) -> np.ndarray:
        """Per row, the best cosine to any of its interest clusters' centroids."""
        out = np.full((weights.shape[0], self.n_items), -np.inf, dtype=np.float32)
        for r in range(weights.shape[0]):
            cols = weights.indices[weights.indptr[r] : weights.indptr[r + 1]]
            w = weights.data[weights.indptr[r] : weights.indptr[r + 1]]
            k = min(self.config.interests, len(cols) // 2)
            if k < 2:
                continue
            centroids = spherical_kmeans(self.item_vectors[cols], w, k)
            out[r] = (centroids @ self.item_vectors.T).max(axis=0)
        return out

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_vectors": self.item_vectors}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.item_vectors = np.asarray(state["item_vectors"], dtype=np.float32)


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
