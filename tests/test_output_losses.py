"""The squared and hinge output losses, the ``losses.get`` dispatch, ``MLP(loss=…)`` and ``loss_prox``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from amref import losses
from amref.backend import from_host
from amref.data import one_hot
from amref.problem import MLP
from amref.solvers.subproblems import ZLOptions, loss_prox

from helpers import assert_close, host, synthetic_dataset


def _zy(xp, rng, C=4, N=7, scale=1.5):
    z = rng.normal(scale=scale, size=(C, N))
    y = one_hot(rng.integers(0, C, size=N), C)
    return z, y, from_host(z, xp), from_host(y, xp)


def test_squared_loss_value_and_gradient(xp, rng):
    z, y, zx, yx = _zy(xp, rng)
    assert float(losses.squared_loss(zx, yx)) == pytest.approx(0.5 * np.sum((z - y) ** 2), rel=1e-13)
    assert_close(losses.squared_loss_grad(zx, yx), from_host(z - y, xp))


def test_hinge_loss_value_by_hand(xp):
    # y = 1 rows pay max(1 − z, 0); y = 0 rows pay max(z, 0)
    z = np.array([[2.0, 0.5], [-1.0, 0.25]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    expected = 0.0 + 0.5 + 0.0 + 0.75
    assert float(losses.hinge_loss(from_host(z, xp), from_host(y, xp))) == pytest.approx(expected)


@pytest.mark.parametrize("name", ["cross_entropy", "squared", "hinge"])
def test_gradient_matches_finite_differences(name, rng):
    loss = losses.get(name)
    z, y, _, _ = _zy(np, rng)
    z = z + 0.1  # keep hinge entries away from the kinks z ∈ {0, 1}
    z[np.abs(z) < 0.05] += 0.2
    z[np.abs(z - 1.0) < 0.05] += 0.2
    g = host(loss.grad(z, y))
    h = 1e-6
    fd = np.zeros_like(z)
    for idx in np.ndindex(*z.shape):
        e = np.zeros_like(z)
        e[idx] = h
        fd[idx] = (float(loss.value(z + e, y)) - float(loss.value(z - e, y))) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=1e-7)


def test_get_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown loss 'logistic'"):
        losses.get("logistic")
    with pytest.raises(ValueError, match="unknown loss"):
        MLP((3, 2), loss="logistic")


@pytest.mark.parametrize("name", ["cross_entropy", "squared", "hinge"])
def test_mlp_loss_dispatches_through_get(xp, name):
    data = synthetic_dataset(xp, n_train=30, n_test=10)
    problem = MLP((12, 5, 3), loss=name)
    params = problem.init_params(1, xp=xp)
    z = problem.forward(params, data.x_train)
    expected = float(losses.get(name).value(z, data.y_train))
    assert problem.loss_value(params, data.x_train, data.y_train) == pytest.approx(expected, rel=1e-12)
    mean, acc = problem.evaluate(params, data.x_train, data.y_train)
    assert mean == pytest.approx(expected / 30, rel=1e-12)
    assert 0.0 <= acc <= 1.0


@pytest.mark.parametrize("name", ["squared", "hinge"])
@pytest.mark.parametrize("rho", [0.3, 2.0])
def test_loss_prox_closed_forms_match_brute_force(xp, rng, name, rho):
    """Elementwise losses: every entry is a 1-D convex problem, solved here by a bounded scalar search."""
    C, N = 3, 6
    c = rng.normal(scale=1.5, size=(C, N))
    y = one_hot(rng.integers(0, C, size=N), C)
    z, info = loss_prox(name, from_host(c, xp), from_host(y, xp), rho)
    assert info.iterations == 0
    z = host(z)
    if name == "squared":
        def f(t, ci, yi):
            return 0.5 * (t - yi) ** 2 + 0.5 * rho * (t - ci) ** 2
    else:
        def f(t, ci, yi):
            return (max(1 - t, 0.0) if yi == 1 else max(t, 0.0)) + 0.5 * rho * (t - ci) ** 2
    for i in range(C):
        for j in range(N):
            best = minimize_scalar(f, bounds=(-10, 10), args=(c[i, j], y[i, j]), method="bounded",
                                   options={"xatol": 1e-11})
            assert z[i, j] == pytest.approx(best.x, abs=1e-7)
            assert f(z[i, j], c[i, j], y[i, j]) <= best.fun + 1e-12


def test_loss_prox_hinge_kink_cases():
    # y = 1, c = 0.8, ρ = 1: the smooth piece's point c + 1 = 1.8 > 1 and c < 1, so the answer is the kink 1
    z, _ = loss_prox("hinge", np.array([[0.8, -3.0, 2.0]]), np.array([[1.0, 1.0, 1.0]]), 1.0)
    np.testing.assert_allclose(z, [[1.0, -2.0, 2.0]])
    z, _ = loss_prox("hinge", np.array([[0.5, 3.0, -2.0]]), np.array([[0.0, 0.0, 0.0]]), 1.0)
    np.testing.assert_allclose(z, [[0.0, 2.0, -2.0]])


def test_loss_prox_cross_entropy_is_stationary(xp, rng):
    C, N, rho = 4, 5, 0.7
    c = rng.normal(size=(C, N))
    y = one_hot(rng.integers(0, C, size=N), C)
    z, info = loss_prox("cross_entropy", from_host(c, xp), from_host(y, xp), rho, options=ZLOptions(method="newton"))
    assert info.converged
    g = host(losses.cross_entropy_grad(z, from_host(y, xp))) + rho * (host(z) - c)
    assert np.max(np.abs(g)) < 1e-9


def test_loss_prox_rejects_bad_arguments():
    with pytest.raises(ValueError, match="rho"):
        loss_prox("squared", np.zeros((2, 2)), np.zeros((2, 2)), 0.0)
    with pytest.raises(ValueError, match="unknown loss"):
        loss_prox("logistic", np.zeros((2, 2)), np.zeros((2, 2)), 1.0)
