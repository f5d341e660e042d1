"""Embeddings kept on disk, keyed by (model id, hash of the text): only new text is encoded.

Layout, one folder per model id under the cache root::

    <root>/<slug of model id>/manifest.json    {"model_id", "dim", "dtype", "shards": [...]}
    <root>/<slug of model id>/shard-00003.npy  float32 rows
    <root>/<slug of model id>/shard-00003.keys one hex text hash a line, aligned with the rows

A write adds a shard and then replaces the manifest atomically, so a crash mid-write leaves
the cache as it was. Shards are merged once there are many. No pickle anywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shopmind.files import atomic_write
from shopmind.text.encoder import TextEncoder

MANIFEST = "manifest.json"
#: Past this many shards a write merges them into one.
MAX_SHARDS = 16


def text_key(text: str) -> str:
    """The content hash that identifies a text in the cache."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EmbeddingCache:
    """The cached embeddings of one model id."""

    def __init__(self, root: str | Path, model_id: str, dim: int) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("_")
        self.folder = Path(root) / f"{slug}-{hashlib.sha256(model_id.encode()).hexdigest()[:8]}"
        self.model_id = model_id
        self.dim = dim
        self._rows: dict[str, np.ndarray] = {}
        self._shards: list[str] = []
        self._load()

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, text: str) -> bool:
        return text_key(text) in self._rows

    def get(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, found): rows of found texts are filled, the others are zero."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        found = np.zeros(len(texts), dtype=bool)
        for i, text in enumerate(texts):
            row = self._rows.get(text_key(text))
            if row is not None:
                out[i], found[i] = row, True
        return out, found

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Add embeddings (texts already cached are skipped)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(texts), self.dim):
            raise ValueError(f"expected {len(texts)} × {self.dim} vectors, got {vectors.shape}")
        fresh: dict[str, np.ndarray] = {}
        for text, vector in zip(texts, vectors, strict=True):
            key = text_key(text)
            if key not in self._rows and key not in fresh:
                fresh[key] = vector
        if not fresh:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        if len(self._shards) + 1 > MAX_SHARDS:
            self._rows.update(fresh)
            self._write_shards({**self._rows}, replace_all=True)
        else:
            self._write_shards(fresh, replace_all=False)
            self._rows.update(fresh)

    def _write_shards(self, rows: dict[str, np.ndarray], *, replace_all: bool) -> None:
        number = 1 + max((int(s.split("-")[1]) for s in self._shards), default=-1)
        name = f"shard-{number:05d}"
        np.save(self.folder / f"{name}.npy", np.stack(list(rows.values())))
        (self.folder / f"{name}.keys").write_text("\n".join(rows) + "\n")
        old = self._shards
        self._shards = [name] if replace_all else [*old, name]
        manifest = {
            "model_id": self.model_id,
            "dim": self.dim,
            "dtype": "float32",
            "count": len(self._rows) if not replace_all else len(rows),
            "shards": self._shards,
        }
        atomic_write(self.folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        if replace_all:
            for stale in old:
                for suffix in (".npy", ".keys"):
                    (self.folder / f"{stale}{suffix}").unlink(missing_ok=True)

    def _load(self) -> None:
        file = self.folder / MANIFEST
        if not file.exists():
            return
        manifest = json.loads(file.read_text())
        if manifest.get("model_id") != self.model_id or manifest.get("dim") != self.dim:
            raise ValueError(
                f"{file}: holds {manifest.get('model_id')!r} (dim {manifest.get('dim')}), not "
                f"{self.model_id!r} (dim {self.dim}); delete the folder to rebuild the cache"
            )
        for name in manifest["shards"]:
            keys = (self.folder / f"{name}.keys").read_text().split()
            vectors = np.load(self.folder / f"{name}.npy", allow_pickle=False)
            assert len(keys) == len(vectors), name
            self._rows.update(zip(keys, vectors, strict=True))
        self._shards = list(manifest["shards"])


def encode_cached(
    encoder: TextEncoder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    *,
    progress: bool = False,
) -> tuple[np.ndarray, int]:
    """Embeddings of ``texts`` through the cache; returns them and how many were encoded."""
    if cache is None:
        return encoder.encode(texts, progress=progress), len(texts)
    vectors, found = cache.get(texts)
    missing = [int(i) for i in np.flatnonzero(~found)]
    if missing:
        # Encode each distinct missing text once.
        unique = list(dict.fromkeys(texts[i] for i in missing))
        encoded = encoder.encode(unique, progress=progress)
        cache.put(unique, encoded)
        position = {text: row for row, text in enumerate(unique)}
        vectors[missing] = encoded[[position[texts[i]] for i in missing]]
        return vectors, len(unique)
    return vectors, 0
