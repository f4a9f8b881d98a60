"""Shared closed forms: closed-form backtracking vs the literal loop, ReLU prox vs brute force,
z_L solvers vs scipy.optimize."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize

from amref.backend import from_host, to_host
from amref.losses import cross_entropy, softmax
from amref.solvers.subproblems import (
    ZLOptions, doubling_search, doubling_step, fista_zl, newton_zl, relu_prox, relu_prox_xp, solve_zl)


def test_doubling_step_equals_the_literal_loop_on_random_quadratics(rng):
    for _ in range(200):
        n = 6
        M = rng.normal(size=(n, n))
        H = M @ M.T * rng.uniform(0.01, 100)
        c = rng.normal(size=n)
        x0 = rng.normal(size=n)

        def phi(x):
            return 0.5 * x @ H @ x + c @ x

        G = H @ x0 + c
        t0 = float(rng.uniform(1e-3, 10))
        factor = float(rng.choice([2.0, 3.0, 1.5]))
        x_lit, t_lit, ok = doubling_search(phi, x0, G, t0, factor, max_tests=200)
        t, accepted = doubling_step(t0, float(G @ H @ G), float(G @ G), factor)
        assert ok and accepted
        if factor == 2.0:  # every code's factor: powers of two are exact, so the values are identical
            assert t == t_lit
        else:  # same accepted power; the loop's repeated products and factor**k differ in the last ulp
            assert t == pytest.approx(t_lit, rel=1e-13)


def _scalar_loop(t0, curvature, grad_sq, factor, max_tests=5000):
    """The literal search on the reduced test ⟨G,HG⟩ ≤ t‖G‖² (t ← t·γ̄ until it passes)."""
    t = t0
    for _ in range(max_tests):
        if curvature <= t * grad_sq:
            return t
        t *= factor
    raise AssertionError("the literal loop did not stop")


def test_doubling_step_equals_the_literal_loop_where_rounding_bites():
    """Ratios ⟨G,HG⟩/(t₀‖G‖²) that are exact powers of the factor (the boundary case, where the logarithm's
    rounding decides the count) and their neighbours one ulp away, over many magnitudes."""
    mismatches = []
    for factor in (2.0, 4.0):  # exact powers (2 in every code); other factors differ from the loop in an ulp
        for t0 in (1.0, 0.1, 10.0, 3.0, 1e-3, 7.7):
            for grad_sq in (1.0, 0.3, 2.5e-7, 1e5):
                for j in range(1, 60):
                    boundary = t0 * factor**j * grad_sq
                    for curvature in (boundary, math.nextafter(boundary, 0.0), math.nextafter(boundary, math.inf)):
                        t, ok = doubling_step(t0, curvature, grad_sq, factor)
                        if not ok or t != _scalar_loop(t0, curvature, grad_sq, factor):
                            mismatches.append((factor, t0, grad_sq, j, curvature, t))
    assert not mismatches, f"{len(mismatches)} cases differ, e.g. {mismatches[:3]}"


@pytest.mark.parametrize("t0, curvature, grad_sq", [
    (1e-320, 4.0, 1e-10),       # subnormal start: t₀‖G‖² underflows to 0
    (1e-300, 1.0, 1e-30),
    (5e-324, 1.0, 1.0),         # the smallest float
    (1e-300, 2.0**-900, 2.0**-100),
])
def test_doubling_step_when_the_products_underflow(t0, curvature, grad_sq):
    t, ok = doubling_step(t0, curvature, grad_sq)
    assert ok
    assert t == _scalar_loop(t0, curvature, grad_sq, 2.0)


def test_doubling_step_without_a_representable_constant_keeps_the_block():
    assert doubling_step(1.0, 1e308, 1e-300) == (1.0, False)  # would need t ≥ 1e608
    assert doubling_step(1e-320, 1e308, 1e-300, factor=1.5) == (1e-320, False)


def test_doubling_step_cap_and_degenerate_cases():
    assert doubling_step(1.0, 5.0, 0.0) == (1.0, True)  # zero gradient: nothing to do
    assert doubling_step(1.0, 0.5, 1.0) == (1.0, True)
    assert doubling_step(1.0, 3.0, 1.0) == (4.0, True)
    assert doubling_step(1.0, 4.0, 1.0) == (4.0, True)  # boundary: the test is "≤"
    assert doubling_step(1.0, 1e6, 1.0, max_doublings=10) == (1024.0, False)
    assert doubling_step(1.0, float("nan"), 1.0)[1] is False
    with pytest.raises(ValueError):
        doubling_step(0.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        doubling_step(1.0, 1.0, 1.0, factor=1.0)


def _brute_relu(m, a, alpha, beta, zp, delta):
    grid = np.linspace(-10, 10, 400001)
    f = alpha * (grid - m) ** 2 + beta * (a - np.maximum(grid, 0)) ** 2 + delta * (grid - zp) ** 2
    return f.min()


@pytest.mark.parametrize("delta", [0.0, 1.0, 0.3])
def test_relu_prox_is_the_minimiser(rng, delta, no_jit):
    m = 3 * rng.normal(size=(3, 8))
    a = np.abs(rng.normal(size=(3, 8))) * (rng.random((3, 8)) > 0.3)
    zp = rng.normal(size=(3, 8))
    alpha, beta = 0.7, 1.9
    z = relu_prox(m, a, alpha=alpha, beta=beta, z_prev=zp, delta=delta)
    f = alpha * (z - m) ** 2 + beta * (a - np.maximum(z, 0)) ** 2 + delta * (z - zp) ** 2
    for i in range(3):
        for j in range(8):
            assert f[i, j] <= _brute_relu(m[i, j], a[i, j], alpha, beta, zp[i, j], delta) + 1e-9


def test_relu_prox_code_comparison_bug_option(rng):
    """pdADMM's code compares the branches without the proximal term; the option reproduces it."""
    m = 3 * rng.normal(size=(50, 50))
    a = np.abs(rng.normal(size=(50, 50)))
    zp = 3 * rng.normal(size=(50, 50))
    good = relu_prox_xp(m, a, z_prev=zp, delta=1.0)
    code = relu_prox_xp(m, a, z_prev=zp, delta=1.0, compare="without_prox")

    def full(z):
        return (z - m) ** 2 + (a - np.maximum(z, 0)) ** 2 + (z - zp) ** 2

    assert np.all(full(good) <= full(code) + 1e-12)
    assert np.any(full(good) < full(code) - 1e-6)  # the bug changes some elements


def test_relu_prox_validation():
    x = np.zeros((2, 2))
    with pytest.raises(ValueError):
        relu_prox(x, x, alpha=0.0)
    with pytest.raises(ValueError):
        relu_prox(x, x, delta=1.0)
    with pytest.raises(ValueError):
        relu_prox(x, x, z_prev=x, delta=1.0, compare="nope")


def _zl_reference(m, y, rho):
    C, N = m.shape

    def f(v):
        v = v.reshape(C, N)
        return float(cross_entropy(v, y)) + 0.5 * rho * np.sum((v - m) ** 2)

    def g(v):
        v = v.reshape(C, N)
        return (softmax(v) - y + rho * (v - m)).ravel()

    return scipy.optimize.minimize(f, m.ravel(), jac=g, method="L-BFGS-B",
                                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000}).x.reshape(C, N)


@pytest.mark.parametrize("rho", [1e-3, 0.5, 20.0])
def test_newton_zl_matches_scipy_and_reaches_machine_precision(xp, rng, rho):
    m = 2 * rng.normal(size=(4, 6))
    y = np.eye(4)[:, rng.integers(0, 4, 6)]
    ref = _zl_reference(m, y, rho)
    z, info = newton_zl(from_host(m, xp), from_host(y, xp), rho, from_host(2 * y - 1, xp))
    assert info.converged
    z = to_host(z)
    np.testing.assert_allclose(z, ref, atol=1e-5 / rho ** 0.5)
    assert np.abs(softmax(z) - y + rho * (z - m)).max() < 1e-10


def test_newton_zl_float32(xp, rng):
    m = rng.normal(size=(3, 5))
    y = np.eye(3)[:, rng.integers(0, 3, 5)]
    z, info = newton_zl(from_host(m, xp, dtype="float32"), from_host(y, xp, dtype="float32"), 1.0,
                        from_host(m, xp, dtype="float32"))
    assert info.converged and z.dtype == xp.float32


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_newton_zl_saturated_columns_converge_fast(xp, rng, dtype):
    # large |m| (as in dlADMM's first iterations): softmax saturates, F changes below its own rounding
    # level, and a line search that ignored that stalled to the iteration cap (50 Newton steps)
    C, N, rho = 10, 400, 1.0
    m = rng.normal(scale=30.0, size=(C, N))
    y = np.eye(C)[:, rng.integers(0, C, N)]
    z, info = newton_zl(from_host(m, xp, dtype=dtype), from_host(y, xp, dtype=dtype), rho,
                        from_host(m, xp, dtype=dtype), ZLOptions(method="newton"))
    assert info.converged and info.iterations <= 8
    z = to_host(z).astype(np.float64)
    if dtype == "float64":
        assert np.abs(softmax(z) - y + rho * (z - m)).max() < 1e-10  # first-order optimality, recomputed here
    else:  # within float32 rounding of the float64 minimiser, column by column
        z64, _ = newton_zl(m, y, rho, m, ZLOptions(method="newton"))
        scale = 1.0 + np.abs(m).max(axis=0)
        assert (np.abs(z - z64).max(axis=0) / scale).max() < 64 * np.finfo(np.float32).eps


@pytest.mark.parametrize("rho", [0.2, 5.0])
def test_fista_zl_converges_to_the_minimiser(rng, rho):
    m = rng.normal(size=(3, 5))
    y = np.eye(3)[:, rng.integers(0, 3, 5)]
    ref = _zl_reference(m, y, rho)
    z, info = fista_zl(m, y, rho, np.zeros_like(m), ZLOptions(fista_tol=1e-14, fista_max_iter=20000))
    assert info.converged
    np.testing.assert_allclose(z, ref, atol=1e-5)


def test_fista_default_step_is_the_safe_one():
    assert ZLOptions().fista_step == 2.0  # 1/H with H = 1/2


def test_solve_zl_dispatch_and_validation(rng):
    m = rng.normal(size=(3, 4))
    y = np.eye(3)[:, [0, 1, 2, 0]]
    z1, _ = solve_zl(m, y, 1.0, m, ZLOptions(method="newton"))
    z2, _ = solve_zl(m, y, 1.0, m, ZLOptions(method="fista", fista_tol=1e-14, fista_max_iter=20000))
    np.testing.assert_allclose(z1, z2, atol=1e-6)
    with pytest.raises(ValueError):
        solve_zl(m, y, 0.0, m)
    for bad in (dict(method="lbfgs"), dict(fista_step=0), dict(fista_max_iter=0), dict(armijo=0.7),
                dict(newton_tol=float("nan"))):
        with pytest.raises(ValueError):
            ZLOptions(**bad)
