"""Shared pieces of the asv suite: backends (skipped when unavailable), seeded data, synchronisation.

``AMREF_BENCH_SMALL=1`` shrinks every parameter grid to its smallest entry (used by the CI smoke run).
"""

from __future__ import annotations

import os

import numpy as np

from amref.backend import BackendUnavailable, get_namespace, synchronize  # noqa: F401
from amref.data import Dataset
from amref.data import one_hot

SMALL = os.environ.get("AMREF_BENCH_SMALL") == "1"


def grid(values):
    """A parameter list, or only its first entry under ``AMREF_BENCH_SMALL=1``."""
    return list(values[:1]) if SMALL else list(values)


def namespace_or_skip(name: str):
    """The backend's namespace, or asv's NotImplementedError (= skip this combination)."""
    try:
        return get_namespace(name)
    except BackendUnavailable as exc:
        raise NotImplementedError(str(exc)) from exc


def mnist_like(n_features: int, n_samples: int, n_classes: int, dtype: str, xp, seed: int = 0) -> Dataset:
    """Synthetic data with MNIST's shape and sparsity (timings do not depend on the pixel values)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_features, n_samples)) * (rng.random((n_features, n_samples)) < 0.19)
    y = one_hot(rng.integers(0, n_classes, n_samples), n_classes)
    return Dataset("mnist-like", x.astype(dtype), y.astype(dtype)).to(xp, dtype=dtype)
