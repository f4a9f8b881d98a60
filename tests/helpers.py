"""Helpers for tests: tiny synthetic classification problems and namespace-checked comparisons."""

from __future__ import annotations

import numpy as np
from array_api_extra.testing import assert_close  # checks namespace, dtype and shape as well as values

from amref.backend import from_host, to_host
from amref.data import Dataset
from amref.data import one_hot

__all__ = ["assert_close", "central_gradient", "synthetic_dataset", "host"]


def synthetic_dataset(xp, *, n_features=12, n_classes=3, n_train=120, n_test=40, seed=0, dtype="float64"):
    """Linearly separable-ish Gaussian data in namespace ``xp`` (features × samples)."""
    rng = np.random.default_rng(seed)
    proj = rng.normal(size=(n_classes, n_features))
    x = rng.normal(size=(n_features, n_train + n_test))
    labels = np.argmax(proj @ x + 0.3 * rng.normal(size=(n_classes, n_train + n_test)), axis=0)
    y = one_hot(labels, n_classes)

    def mv(a):
        return from_host(a, xp, dtype=dtype)

    return Dataset(
        "synthetic",
        mv(x[:, :n_train]), mv(y[:, :n_train]),
        mv(x[:, n_train:]), mv(y[:, n_train:]),
    )


def host(a):
    """Host copy for assertions (tests only)."""
    return to_host(a)


def central_gradient(f, X, h=1e-5):
    """Central-difference gradient of the scalar ``f`` at the NumPy array ``X`` (independent truth for the
    gradient formulas the step tests use; exact up to rounding for quadratics)."""
    X = np.asarray(X, dtype=float)
    G = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        E = np.zeros_like(X)
        E[idx] = h
        G[idx] = (f(X + E) - f(X - E)) / (2 * h)
    return G
