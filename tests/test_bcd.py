"""Zeng et al. BCD: every block against an independent minimisation, sufficient descent of F, training."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

from amref import losses
from amref.backend import from_host
from amref.driver import minimize as run
from amref.data import one_hot
from amref.problem import MLP
from amref.solvers import bcd as B
from amref import get_solver

from helpers import assert_close, host, synthetic_dataset

SOLVER = get_solver("bcd")


def _relu(z):
    return np.maximum(z, 0.0)


# ----------------------------------------------------------------------------- B1, B2: output layer
@pytest.mark.parametrize("loss", ["squared", "hinge"])
def test_update_V_last_matches_scalar_minimisation(xp, rng, loss):
    opts = B.BCDOptions(gamma=0.7, alpha=2.0)
    C, N = 3, 5
    V0, U = rng.normal(size=(C, N)), rng.normal(scale=1.5, size=(C, N))
    y = one_hot(rng.integers(0, C, size=N), C)
    V, k = B.update_V_last(*(from_host(v, xp) for v in (V0, U, y)), loss, opts)
    assert k == 0
    V = host(V)
    ell = losses.get(loss)
    for i, j in np.ndindex(C, N):
        def f(t):
            return (float(ell.value(np.array([[t]]), y[i:i + 1, j:j + 1])) + 0.35 * (t - U[i, j]) ** 2
                    + 1.0 * (t - V0[i, j]) ** 2)
        best = minimize_scalar(f, bounds=(-20, 20), method="bounded", options={"xatol": 1e-12})
        assert V[i, j] == pytest.approx(best.x, abs=1e-6)


def test_update_V_last_squared_is_the_codes_formula(xp, rng):
    """The code's ``V4 = (y + γU4 + αV4)/(1 + γ + α)``."""
    opts = B.BCDOptions(gamma=1.0, alpha=5.0)
    V0, U = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    y = one_hot(rng.integers(0, 3, size=4), 3)
    V, _ = B.update_V_last(*(from_host(v, xp) for v in (V0, U, y)), "squared", opts)
    assert_close(V, from_host((y + U + 5.0 * V0) / 7.0, xp))


def test_update_V_last_cross_entropy_matches_bfgs(rng):
    opts = B.BCDOptions(gamma=1.0, alpha=5.0)
    C, N = 3, 4
    V0, U = rng.normal(size=(C, N)), rng.normal(size=(C, N))
    y = one_hot(rng.integers(0, C, size=N), C)
    V, k = B.update_V_last(V0, U, y, "cross_entropy", opts)
    assert k > 0

    def f(v):
        Z = v.reshape(C, N)
        return float(losses.cross_entropy(Z, y)) + 0.5 * np.sum((Z - U) ** 2) + 2.5 * np.sum((Z - V0) ** 2)

    best = minimize(f, V0.ravel(), method="BFGS", options={"gtol": 1e-11})
    np.testing.assert_allclose(V.ravel(), best.x, atol=1e-6)


def test_update_U_last_matches_scalar_minimisation(xp, rng):
    opts = B.BCDOptions(gamma=0.4, rho=1.7)
    V, m = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    U = host(B.update_U_last(from_host(V, xp), from_host(m, xp), opts))
    for i, j in np.ndindex(2, 3):
        best = minimize_scalar(lambda t: 0.2 * (V[i, j] - t) ** 2 + 0.85 * (t - m[i, j]) ** 2, options={"xtol": 1e-12})
        assert U[i, j] == pytest.approx(best.x, abs=1e-8)


# ----------------------------------------------------------------------------- B3/B6: W and b
@pytest.mark.parametrize("wb_update", ["gauss-seidel", "jacobi"])
def test_update_Wb_are_exact_proximal_block_minimisers(xp, rng, wb_update):
    alpha, rho = 2.0, 0.6
    opts = B.BCDOptions(alpha=alpha, rho=rho, wb_update=wb_update)
    n_in, n_out, N = 3, 2, 7
    W0, b0 = rng.normal(size=(n_out, n_in)), rng.normal(size=(n_out, 1))
    U, V = rng.normal(size=(n_out, N)), rng.normal(size=(n_in, N))
    W, b = B.update_Wb(*(from_host(v, xp) for v in (W0, b0, U, V)), opts)
    # W: ‖[√ρ Vᵀ; √α I] Wᵀ − [√ρ (U − b)ᵀ; √α W0ᵀ]‖², solved by LAPACK least squares
    K = np.vstack([np.sqrt(rho) * V.T, np.sqrt(alpha) * np.eye(n_in)])
    rhs = np.vstack([np.sqrt(rho) * (U - b0).T, np.sqrt(alpha) * W0.T])
    W_ref = np.linalg.lstsq(K, rhs, rcond=None)[0].T
    assert_close(W, from_host(W_ref, xp), rtol=1e-9, atol=1e-11)
    # b: scalar-per-row proximal least squares with the W the scheme prescribes
    W_used = W_ref if wb_update == "gauss-seidel" else W0
    b_host = host(b)
    for r in range(n_out):
        f = lambda t: 0.5 * rho * np.sum((U[r] - W_used[r] @ V - t) ** 2) + 0.5 * alpha * (t - b0[r, 0]) ** 2  # noqa: E731
        # Brent locates a minimiser from function values only to ~sqrt(eps) (its result moved by 2e-8
        # between SciPy 1.17 and 1.18), so compare loosely in t and strictly in f: b must be at least as good
        t_ref = minimize_scalar(f, options={"xtol": 1e-12}).x
        assert b_host[r, 0] == pytest.approx(t_ref, abs=1e-6)
        assert f(b_host[r, 0]) <= f(t_ref) + 1e-13 * abs(f(t_ref))


def test_update_Wb_without_bias_keeps_b(rng):
    b0 = np.zeros((2, 1))
    _, b = B.update_Wb(rng.normal(size=(2, 3)), b0, rng.normal(size=(2, 5)), rng.normal(size=(3, 5)),
                       B.BCDOptions(bias=False))
    assert b is b0


# ----------------------------------------------------------------------------- B4: V_i
def test_update_V_matches_stacked_least_squares(xp, rng):
    gamma, rho = 1.3, 0.8
    n, n_next, N = 4, 3, 5
    U, U_next = rng.normal(size=(n, N)), rng.normal(size=(n_next, N))
    W, b = rng.normal(size=(n_next, n)), rng.normal(size=(n_next, 1))
    V = B.update_V(*(from_host(v, xp) for v in (U, W, b, U_next)), B.BCDOptions(gamma=gamma, rho=rho))
    K = np.vstack([np.sqrt(rho) * W, np.sqrt(gamma) * np.eye(n)])
    rhs = np.vstack([np.sqrt(rho) * (U_next - b), np.sqrt(gamma) * _relu(U)])
    assert_close(V, from_host(np.linalg.lstsq(K, rhs, rcond=None)[0], xp), rtol=1e-9, atol=1e-11)


# ----------------------------------------------------------------------------- B5: U_i
def test_update_U_is_the_global_elementwise_minimiser(xp, rng):
    gamma, rho, alpha = 1.0, 0.5, 5.0
    U0, V, m = (rng.normal(scale=2.0, size=(4, 5)) for _ in range(3))
    U = host(B.update_U(*(from_host(v, xp) for v in (U0, V, m)), B.BCDOptions(gamma=gamma, rho=rho, alpha=alpha)))
    grid = np.linspace(-10, 10, 400001)
    for i, j in np.ndindex(4, 5):
        def f(t):
            return (0.5 * gamma * (V[i, j] - _relu(t)) ** 2 + 0.5 * rho * (t - m[i, j]) ** 2
                    + 0.5 * alpha * (t - U0[i, j]) ** 2)
        brute = f(grid).min()
        assert f(U[i, j]) <= brute + 1e-9
        assert f(U[i, j]) == pytest.approx(brute, abs=1e-6)


# ----------------------------------------------------------------------------- the iteration
def _problem(xp, loss="squared", widths=(12, 8, 6, 3), n_train=80, dtype="float64"):
    return MLP(widths, loss=loss), synthetic_dataset(xp, n_train=n_train, n_test=30, dtype=dtype)


def _sq(a, b):
    return float(np.sum((host(a) - host(b)) ** 2))


@pytest.mark.parametrize("loss", ["squared", "cross_entropy", "hinge"])
def test_sufficient_descent_of_the_lifted_objective(xp, loss):
    """Gauss–Seidel: F^{k−1} − F^k ≥ (α/2)(‖ΔV_L‖² + Σ‖ΔW_i‖² + ‖Δb_i‖² + Σ_{i<L}‖ΔU_i‖²) every iteration."""
    problem, data = _problem(xp, loss)
    opts = B.BCDOptions(alpha=2.0)
    state = B.init_state(problem, data, B.released_code_init(problem, 0, xp=xp), opts)
    F = B.lifted_objective(state, data.y_train, opts)
    assert F == pytest.approx(B.diagnostics(state, data, opts)["objective"])
    for _ in range(12):
        new = B.step(state, data, opts)
        F_new = B.lifted_objective(new, data.y_train, opts)
        moved = _sq(new.V[-1], state.V[-1])
        moved += sum(_sq(p, q) for p, q in zip(new.W, state.W)) + sum(_sq(p, q) for p, q in zip(new.b, state.b))
        moved += sum(_sq(p, q) for p, q in zip(new.U[:-1], state.U[:-1]))
        assert F - F_new >= 0.5 * opts.alpha * moved * (1 - 1e-9) - 1e-10 * abs(F)
        state, F = new, F_new


def test_cached_products_match_a_fresh_forward_computation(xp):
    problem, data = _problem(xp)
    opts = B.BCDOptions()
    state = B.init_state(problem, data, problem.init_params(0, xp=xp), opts)
    for _ in range(2):
        state = B.step(state, data, opts)
    inputs = (data.x_train,) + state.V[:-1]
    for Wi, bi, Vi, mi in zip(state.W, state.b, inputs, state.m):
        assert_close(mi, Wi @ Vi + bi, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
def test_training_reduces_the_loss(xp, loss):
    problem, data = _problem(xp, loss, widths=(12, 16, 3), n_train=150)
    params = B.released_code_init(problem, 0, xp=xp)
    res = run(SOLVER, problem, data, B.BCDOptions(), max_iter=30, params=params)
    h = res.history
    assert res.success
    init_loss, _ = problem.evaluate(params, data.x_train, data.y_train)
    assert h["train_loss"][-1] < 0.5 * init_loss
    assert h["train_accuracy"][-1] > 0.8
    assert np.all(np.diff(h["objective"]) <= 1e-10 * np.abs(h["objective"][:-1]))


def test_released_code_variant_runs_and_differs_only_through_b(xp):
    problem, data = _problem(xp)
    params = B.released_code_init(problem, 0, xp=xp)
    gs = B.step(B.init_state(problem, data, params, B.BCDOptions()), data, B.BCDOptions())
    jac_opts = B.BCDOptions.released_code()
    jac = B.step(B.init_state(problem, data, params, jac_opts), data, jac_opts)
    assert_close(gs.W[-1], jac.W[-1])  # W_L is computed before any b differs
    assert _sq(gs.b[-1], jac.b[-1]) > 0


def test_float32_end_to_end(xp):
    problem, data = _problem(xp, dtype="float32")
    res = run(SOLVER, problem, data, B.BCDOptions(), max_iter=3,
              params=B.released_code_init(problem, 0, xp=xp, dtype="float32"))
    assert all(p.dtype == xp.float32 for p in res.params)
    assert all(v.dtype == xp.float32 for v in res.state.U + res.state.V)


def test_released_code_init_values():
    problem = MLP((5, 4, 3))
    params = B.released_code_init(problem, 7)
    assert [p.shape for p in params] == problem.param_shapes()
    assert all(np.all(b == 0.1) for b in params[1::2])
    assert 0.003 < np.std(np.concatenate([W.ravel() for W in params[0::2]])) < 0.03


def test_biases_held_at_zero_without_bias():
    problem, data = _problem(np)
    res = run(SOLVER, problem, data, B.BCDOptions(bias=False), max_iter=2, params=B.released_code_init(problem, 0))
    assert all(np.all(b == 0) for b in res.params[1::2])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(gamma=0.0), "gamma"),
        (dict(rho=-1.0), "rho"),
        (dict(alpha=float("nan")), "alpha"),
        (dict(alpha=float("inf")), "alpha"),
        (dict(alpha=True), "alpha"),
        (dict(wb_update="random"), "wb_update"),
        (dict(bias=1), "bias"),
    ],
)
def test_invalid_options_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        B.BCDOptions(**kwargs)


def test_presets_and_registry():
    assert SOLVER.name == "bcd" and SOLVER.options_class is B.BCDOptions
    code = B.BCDOptions.released_code()
    assert (code.gamma, code.rho, code.alpha, code.wb_update) == (1.0, 1.0, 5.0, "jacobi")
    assert B.BCDOptions.released_code(alpha=1.0).alpha == 1.0
