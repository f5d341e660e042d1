"""Whitening: fit a sentence encoder's geometry to one shop's catalogue, without labels.

Sentence embeddings are anisotropic: all item texts of a shop share a large common direction
(their product domain), so every pair of items looks similar and the cosine mostly measures
"is an item of this shop". Subtracting the catalogue's mean vector and rescaling its principal
directions to unit variance (Su et al., 2021, "Whitening sentence representations") spreads
the items out; keeping the top ``dims`` directions drops the noisiest ones. It is fitted on
the item texts alone (no interactions, so no leakage), is a few milliseconds of linear
algebra, and is stored as two arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Added to the variances before the inverse square root, so a flat direction cannot explode.
EPSILON = 1e-6


@dataclass(frozen=True)
class Whitening:
    """``transform(x) = unit((x - mean) @ matrix)``; zero rows (blank texts) stay zero."""

    mean: np.ndarray  # (dim,)
    matrix: np.ndarray  # (dim, dims)

    @classmethod
    def fit(cls, vectors: np.ndarray, dims: int) -> Whitening:
        """Fit on the rows of ``vectors`` that are not zero; keep ``dims`` directions."""
        vectors = np.asarray(vectors, dtype=np.float64)
        rows = vectors[np.abs(vectors).sum(axis=1) > 0]
        if not 1 <= dims <= vectors.shape[1]:
            raise ValueError(f"whitening dims must be between 1 and {vectors.shape[1]}, got {dims}")
        if len(rows) <= dims:
            raise ValueError(
                f"whitening to {dims} dimensions needs more than {dims} items with text, "
                f"got {len(rows)}: lower the dims or turn whitening off (0)"
            )
        mean = rows.mean(axis=0)
        variances, directions = np.linalg.eigh(np.cov(rows - mean, rowvar=False))
        top = np.argsort(-variances, kind="stable")[:dims]
        matrix = directions[:, top] / np.sqrt(np.maximum(variances[top], 0.0) + EPSILON)
        return cls(mean.astype(np.float32), matrix.astype(np.float32))

    @property
    def dims(self) -> int:
        return int(self.matrix.shape[1])

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        blank = np.abs(vectors).sum(axis=1) == 0
        out = (vectors - self.mean) @ self.matrix
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        out = np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)
        out[blank] = 0.0
        return np.ascontiguousarray(out, dtype=np.float32)
