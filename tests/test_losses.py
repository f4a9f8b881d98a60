"""Losses: log-sum-exp stability, values against naive formulas, gradients against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from amref import losses
from amref.backend import from_host, to_host
from helpers import assert_close


def test_softmax_and_log_softmax_never_overflow(xp):
    z = from_host(np.array([[1000.0, -1000.0, 0.0], [1001.0, -1002.0, 0.0], [-5000.0, -999.0, 0.0]]), xp)
    p = to_host(losses.softmax(z))
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=0), 1.0)
    lp = to_host(losses.log_softmax(z))
    assert np.all(np.isfinite(lp))
    np.testing.assert_allclose(lp[:, 0], [-np.log1p(np.e), -np.log1p(np.exp(-1.0)), -6001.0 - np.log1p(np.exp(-1.0))], rtol=1e-12)


def test_cross_entropy_matches_naive_formula(xp, rng):
    z = rng.normal(size=(4, 9))
    y = np.eye(4)[:, rng.integers(0, 4, 9)]
    naive = -np.sum(y * np.log(np.exp(z) / np.exp(z).sum(axis=0)))
    got = losses.cross_entropy(from_host(z, xp), from_host(y, xp))
    assert float(got) == pytest.approx(naive, rel=1e-13)
    g, v = losses.cross_entropy_and_grad(from_host(z, xp), from_host(y, xp))
    assert float(v) == pytest.approx(naive, rel=1e-13)
    assert_close(g, losses.cross_entropy_grad(from_host(z, xp), from_host(y, xp)))


def test_gradient_by_central_differences(rng):
    z = rng.normal(size=(3, 5))
    y = np.eye(3)[:, rng.integers(0, 3, 5)]
    g = losses.cross_entropy_grad(z, y)
    h = 1e-6
    for i in range(3):
        for j in range(5):
            e = np.zeros_like(z)
            e[i, j] = h
            fd = (float(losses.cross_entropy(z + e, y)) - float(losses.cross_entropy(z - e, y))) / (2 * h)
            assert g[i, j] == pytest.approx(fd, abs=1e-8)


def test_lipschitz_constant_of_the_gradient_is_one_half(rng):
    """Column Hessian diag(p) − ppᵀ has spectral norm ≤ 1/2 (the H of dlADMM's ρ > 2H)."""
    worst = 0.0
    for _ in range(2000):
        p = rng.dirichlet(0.3 * np.ones(rng.integers(2, 12)))
        worst = max(worst, np.linalg.eigvalsh(np.diag(p) - np.outer(p, p)).max())
    assert worst <= losses.CROSS_ENTROPY_LIPSCHITZ + 1e-12
    assert worst > 0.45  # the bound is nearly attained (two classes at 1/2)


def test_accuracy(xp):
    z = from_host(np.array([[2.0, 0.0, 1.0], [1.0, 3.0, 0.0]]), xp)
    y = from_host(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]), xp)
    assert losses.accuracy(z, y) == pytest.approx(2 / 3)
