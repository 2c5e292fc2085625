"""Helpers for the knowledge-base tests."""
from __future__ import annotations

import numpy as np


def clustered(n: int, dim: int, *, n_clusters: int = 50, seed: int = 0) -> np.ndarray:
    """(n, dim) unit rows drawn from a mixture of Gaussians (realistic for ANN recall, unlike uniform noise)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_clusters, dim)).astype(np.float32)
    c = rng.integers(0, n_clusters, n)
    x = centers[c] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def at_angle(deg: float, dim: int = 4) -> np.ndarray:
    """The unit vector at ``deg`` degrees in the first two coordinates of a ``dim``-d space."""
    v = np.zeros(dim, dtype=np.float32)
    v[0], v[1] = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
    return v
