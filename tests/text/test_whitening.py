"""Whitening spreads a catalogue's anisotropic embeddings out, and keeps blank items blank."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.text.whitening import Whitening


def anisotropic(n: int = 600, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Unit vectors that share one strong common direction, as sentence embeddings do."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(1.0, 0.05, dim)  # unequal variances per direction
    x = 6.0 * np.eye(dim)[0] + rng.standard_normal((n, dim)) * scales
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def mean_pair_cosine(x: np.ndarray) -> float:
    cosine = x @ x.T
    return float((cosine.sum() - np.trace(cosine)) / (len(x) * (len(x) - 1)))


def test_whitening_removes_the_common_direction() -> None:
    x = anisotropic()
    assert mean_pair_cosine(x) > 0.5
    white = Whitening.fit(x, 32).transform(x)
    assert abs(mean_pair_cosine(white)) < 0.01
    np.testing.assert_allclose(np.linalg.norm(white, axis=1), 1.0, rtol=1e-5)


def test_whitened_directions_have_unit_variance() -> None:
    x = anisotropic()
    w = Whitening.fit(x, 8)
    projected = (x - w.mean) @ w.matrix
    assert w.dims == 8
    np.testing.assert_allclose(np.cov(projected, rowvar=False), np.eye(8), atol=1e-3)


def test_blank_rows_stay_zero_and_do_not_count() -> None:
    x = anisotropic(200)
    with_blank = np.vstack([x, np.zeros((50, x.shape[1]), np.float32)])
    w = Whitening.fit(with_blank, 16)
    np.testing.assert_allclose(w.mean, Whitening.fit(x, 16).mean, rtol=1e-6)
    out = w.transform(with_blank)
    assert not out[200:].any()
    assert np.all(np.linalg.norm(out[:200], axis=1) > 0.99)


def test_bad_dims_are_refused_with_the_fix() -> None:
    x = anisotropic(30, 32)
    with pytest.raises(ValueError, match="between 1 and 32"):
        Whitening.fit(x, 33)
    with pytest.raises(ValueError, match="lower the dims or turn whitening off"):
        Whitening.fit(x, 32)
