"""Item embeddings of a snapshot: template → text → encoder, through the on-disk cache."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shopmind.config import data_home
from shopmind.data.dataset import ItemSide
from shopmind.text.cache import EmbeddingCache, encode_cached
from shopmind.text.encoder import EncoderSettings, TextEncoder, load_encoder
from shopmind.text.item_text import TextTemplate, item_texts

log = logging.getLogger(__name__)


def default_cache_root() -> Path:
    return data_home() / "embeddings"


def embed_texts(
    texts: Sequence[str],
    *,
    encoder: TextEncoder | None = None,
    settings: EncoderSettings | None = None,
    cache: bool | Path = True,
    progress: bool = False,
) -> np.ndarray:
    """Unit vectors of ``texts``; a blank text gets a zero vector (it says nothing)."""
    encoder = encoder or load_encoder(settings or EncoderSettings())
    vectors = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    filled = [i for i, text in enumerate(texts) if text.strip()]
    if not filled:
        return vectors
    store = None
    if cache:
        root = default_cache_root() if cache is True else Path(cache)
        store = EmbeddingCache(root, encoder.model_id, encoder.dim)
    encoded, fresh = encode_cached(encoder, [texts[i] for i in filled], store, progress=progress)
    log.info("embedded %d texts (%d newly encoded) with %s", len(filled), fresh, encoder.model_id)
    vectors[filled] = encoded
    return vectors


def embed_items(
    items: ItemSide,
    *,
    template: TextTemplate | None = None,
    encoder: TextEncoder | None = None,
    settings: EncoderSettings | None = None,
    cache: bool | Path = True,
    progress: bool = False,
) -> np.ndarray:
    """(n_items × dim) embeddings of a snapshot's items, in index order."""
    return embed_texts(
        item_texts(items, template),
        encoder=encoder,
        settings=settings,
        cache=cache,
        progress=progress,
    )
