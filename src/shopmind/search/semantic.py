"""Semantic retrieval: the query encoded by the language model, the nearest items by cosine.

Items are encoded from the same text the content model reads (title, category path, brand,
description; :func:`~shopmind.text.item_text.item_texts`), through the embedding cache, so a
bundle whose content model already encoded the catalogue encodes nothing again. The query goes
through the encoder's query side (E5's "query: "; MiniLM is symmetric). Vectors sit in the
project's vector index (exact below 20k items, HNSW above), filters applied inside the search.
Items posted after training are encoded and indexed when the engine takes them in.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from shopmind.data.dataset import ItemSide
from shopmind.text.embed import embed_texts
from shopmind.text.encoder import EncoderSettings, TextEncoder, load_encoder
from shopmind.text.index import VectorIndex, unit_placeholders
from shopmind.text.item_text import TextTemplate, item_texts

_FILE = "semantic.json"
#: Query vectors kept (a few MB).
QUERY_CACHE = 4096


class SemanticIndex:
    """Item text vectors of one encoder, searched with that encoder's query vectors."""

    def __init__(self, settings: EncoderSettings, index: VectorIndex, has_text: np.ndarray) -> None:
        self.settings = settings
        self.index = index
        self.has_text = has_text
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self._encoder: TextEncoder | None = None
        #: Query vectors of recent queries (shoppers repeat queries; training asks each
        #: validation query once per setting).
        self._queries = lru_cache(maxsize=QUERY_CACHE)(self._encode_query)

    @classmethod
    def build(
        cls,
        side: ItemSide,
        settings: EncoderSettings | None = None,
        *,
        cache: bool | Path = True,
        progress: bool = False,
    ) -> SemanticIndex:
        settings = settings or EncoderSettings.from_env()
        texts = item_texts(side, TextTemplate())
        vectors = embed_texts(texts, settings=settings, cache=cache, progress=progress)
        has_text = np.abs(vectors).sum(axis=1) > 0
        index = VectorIndex.build(unit_placeholders(vectors, has_text), kind="auto")
        return cls(settings, index, has_text)

    @property
    def n_items(self) -> int:
        return len(self.has_text)

    @property
    def encoder(self) -> TextEncoder:
        """The query encoder, loaded once (a search waits for a warm-up already loading it),
        one thread per encoding (searches run in parallel; the vectors are the same)."""
        if self._encoder is None:
            with self._loading:
                if self._encoder is None:
                    one = self.settings.model_copy(update={"threads": 1})
                    self._encoder = load_encoder(one)
        return self._encoder

    def encode_query(self, text: str) -> np.ndarray:
        """The query's unit vector (zeros for a blank query; read-only)."""
        vector: np.ndarray = self._queries(" ".join(text.split()))
        return vector

    def prime(self, texts: list[str]) -> None:
        """Encode many queries in batches ahead of asking for them one by one (what
        training's validation does: batches are several times faster than single queries)."""
        wanted = list(dict.fromkeys(" ".join(t.split()) for t in texts if t.strip()))
        wanted = wanted[:QUERY_CACHE]
        if not wanted:
            return
        vectors = self.encoder.encode_queries(wanted)
        known = dict(zip(wanted, vectors, strict=True))
        self._queries.cache_clear()
        encode = self._encode_query

        def cached(text: str) -> np.ndarray:
            found: np.ndarray | None = known.get(text)
            if found is None:
                fresh: np.ndarray = encode(text)
                return fresh
            found.flags.writeable = False
            return found

        self._queries = lru_cache(maxsize=QUERY_CACHE)(cached)

    def _encode_query(self, text: str) -> np.ndarray:
        if not text:
            return np.zeros(self.index.dim, np.float32)
        vector: np.ndarray = self.encoder.encode_queries([text])[0]
        vector.flags.writeable = False
        return vector

    def encode_new(self, side: ItemSide) -> np.ndarray:
        """The text vectors of the items of ``side`` past those indexed (posted after training;
        no lock needed: nothing is changed)."""
        start = self.n_items
        texts = item_texts(side, TextTemplate())[start:]
        if not texts:
            return np.zeros((0, self.index.dim), np.float32)
        return embed_texts(texts, encoder=self.encoder, cache=False)

    def add(self, vectors: np.ndarray) -> None:
        """Index these items' vectors after the indexed ones (under the engine's write lock:
        a search must not read the index while it grows)."""
        if not len(vectors):
            return
        with self._lock:
            text = np.abs(vectors).sum(axis=1) > 0
            self.index.add(unit_placeholders(vectors, text))
            self.has_text = np.concatenate([self.has_text, text])

    def search(
        self, query: np.ndarray, n: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` nearest allowed items with text: (ids, cosines), best first."""
        mask = allowed[: self.n_items] & self.has_text
        if not mask.any() or not np.any(query):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        ids, scores = self.index.search(query[None, :], n, allowed=mask)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def scores(self, query: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Cosine of each item to the query (NaN for items without text or unindexed)."""
        out = np.full(len(items), np.nan, np.float32)
        ok = (items >= 0) & (items < self.n_items)
        ok[ok] &= self.has_text[items[ok]]
        if ok.any() and np.any(query):
            out[ok] = self.index.vectors[items[ok]] @ query
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.index.save(folder / "index")
        np.save(folder / "has_text.npy", self.has_text)
        meta = {"encoder": self.settings.model_dump(), "n": self.n_items}
        (folder / _FILE).write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> SemanticIndex:
        meta = json.loads((folder / _FILE).read_text())
        settings = EncoderSettings.model_validate(meta["encoder"])
        return cls(settings, VectorIndex.load(folder / "index"), np.load(folder / "has_text.npy"))
