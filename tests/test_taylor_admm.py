"""Taylor et al. ADMM: every block against an independent minimisation, the monotone quantities, training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

from amref import losses
from amref.backend import from_host
from amref.driver import minimize as run
from amref.data import Dataset, one_hot
from amref.problem import MLP
from amref import get_solver
from amref.solvers import taylor_admm as T
from amref.solvers.subproblems import ZLOptions

from helpers import assert_close, host, synthetic_dataset

SOLVER = get_solver("taylor-admm")


def _relu(z):
    return np.maximum(z, 0.0)


# ----------------------------------------------------------------------------- T1 / T4: least squares
@pytest.mark.parametrize("bias", [False, True])
def test_update_W_solve_is_the_least_squares_fit(xp, rng, bias):
    n_in, n_out, N = 4, 3, 9
    a = rng.normal(size=(n_in, N))
    z = rng.normal(size=(n_out, N))
    opts = T.TaylorADMMOptions(ridge=0.0, bias=bias)
    W, b, m = T.update_W(from_host(z, xp), from_host(a, xp), opts)
    A = np.vstack([a, np.ones((1, N))]) if bias else a
    Wb_ref = np.linalg.lstsq(A.T, z.T, rcond=None)[0].T  # independent: LAPACK least squares
    W_ref, b_ref = (Wb_ref[:, :-1], Wb_ref[:, -1:]) if bias else (Wb_ref, np.zeros((n_out, 1)))
    assert_close(W, from_host(W_ref, xp), rtol=1e-9, atol=1e-11)
    assert_close(b, from_host(b_ref, xp), rtol=1e-9, atol=1e-11)
    assert_close(m, from_host(W_ref @ a + b_ref, xp), rtol=1e-9, atol=1e-11)


def test_update_W_ridge_minimises_the_regularised_block(rng):
    a, z = rng.normal(size=(3, 7)), rng.normal(size=(2, 7))
    eps = 0.3
    W, _, _ = T.update_W(z, a, T.TaylorADMMOptions(ridge=eps))

    def f(w):
        Wm = w.reshape(2, 3)
        return np.sum((z - Wm @ a) ** 2) + eps * np.sum(Wm**2)

    best = minimize(f, np.zeros(6), method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(W.ravel(), best.x, atol=1e-6)


def test_update_W_pinv_is_the_minimum_norm_solution_on_rank_deficient_inputs(xp, rng):
    """A zero row in a (an MNIST pixel that is never on): pinv gives the minimum-norm W, whose column is 0."""
    a = rng.normal(size=(4, 8))
    a[2] = 0.0
    z = rng.normal(size=(3, 8))
    W, _, _ = T.update_W(from_host(z, xp), from_host(a, xp), T.TaylorADMMOptions(weight_solver="pinv"))
    W_ref = np.linalg.lstsq(a.T, z.T, rcond=None)[0].T  # LAPACK gelsd: minimum-norm solution
    assert_close(W, from_host(W_ref, xp), rtol=1e-9, atol=1e-11)
    # the default regularised solve agrees to O(ε) and keeps the dead column at exactly 0
    W_solve, _, _ = T.update_W(from_host(z, xp), from_host(a, xp), T.TaylorADMMOptions())
    assert_close(W_solve, from_host(W_ref, xp), rtol=1e-5, atol=1e-7)
    assert np.all(host(W_solve)[:, 2] == 0.0)


# ----------------------------------------------------------------------------- T2: the a-step solve
@pytest.mark.parametrize("beta,gamma", [(1.0, 10.0), (0.3, 2.0)])
def test_update_a_matches_stacked_least_squares(xp, rng, beta, gamma):
    n, n_next, N = 4, 3, 5
    W = rng.normal(size=(n_next, n))
    b = rng.normal(size=(n_next, 1))
    z_next, z = rng.normal(size=(n_next, N)), rng.normal(size=(n, N))
    opts = T.TaylorADMMOptions(beta=beta, gamma=gamma)
    a = T.update_a(*(from_host(v, xp) for v in (W, b, z_next, z)), opts)
    # min β‖z⁺ − W a − b‖² + γ‖a − h(z)‖² is ‖[√β W; √γ I] a − [√β(z⁺ − b); √γ h(z)]‖²
    K = np.vstack([np.sqrt(beta) * W, np.sqrt(gamma) * np.eye(n)])
    rhs = np.vstack([np.sqrt(beta) * (z_next - b), np.sqrt(gamma) * _relu(z)])
    a_ref = np.linalg.lstsq(K, rhs, rcond=None)[0]
    assert_close(a, from_host(a_ref, xp), rtol=1e-9, atol=1e-11)


# ----------------------------------------------------------------------------- T3: elementwise ReLU step
def test_update_z_hidden_is_the_global_elementwise_minimiser(xp, rng):
    beta, gamma = 0.7, 3.0
    m, a = rng.normal(scale=2.0, size=(5, 6)), rng.normal(scale=2.0, size=(5, 6))
    m[0, :3] = [0.0, -1e-3, 1e-3]  # near the kink
    z = host(T.update_z_hidden(from_host(m, xp), from_host(a, xp), T.TaylorADMMOptions(beta=beta, gamma=gamma)))
    grid = np.linspace(-8, 8, 320001)
    for i, j in np.ndindex(*m.shape):
        f = lambda t: gamma * (a[i, j] - _relu(t)) ** 2 + beta * (t - m[i, j]) ** 2  # noqa: E731
        brute = f(grid).min()
        assert f(z[i, j]) <= brute + 1e-9
        assert f(z[i, j]) == pytest.approx(brute, abs=1e-6)


# ----------------------------------------------------------------------------- T5: output layer
@pytest.mark.parametrize("loss", ["hinge", "squared"])
def test_update_z_last_elementwise_matches_scalar_minimisation(xp, rng, loss):
    beta = 0.8
    C, N = 3, 5
    m, lam = rng.normal(scale=1.5, size=(C, N)), rng.normal(size=(C, N))
    y = one_hot(rng.integers(0, C, size=N), C)
    z, k = T.update_z_last(*(from_host(v, xp) for v in (m, lam, y)), loss, from_host(m, xp),
                           T.TaylorADMMOptions(beta=beta))
    assert k == 0
    z = host(z)
    ell = losses.get(loss)
    for i, j in np.ndindex(C, N):
        f = lambda t: (float(ell.value(np.array([[t]]), y[i:i + 1, j:j + 1])) + lam[i, j] * t  # noqa: E731
                       + beta * (t - m[i, j]) ** 2)
        best = minimize_scalar(f, bounds=(-20, 20), method="bounded", options={"xatol": 1e-12})
        assert z[i, j] == pytest.approx(best.x, abs=1e-6)


def test_update_z_last_cross_entropy_matches_bfgs(rng):
    beta, C, N = 0.5, 3, 4
    m, lam = rng.normal(size=(C, N)), rng.normal(size=(C, N))
    y = one_hot(rng.integers(0, C, size=N), C)
    z, k = T.update_z_last(m, lam, y, "cross_entropy", m, T.TaylorADMMOptions(beta=beta))
    assert k > 0

    def f(v):
        Z = v.reshape(C, N)
        return float(losses.cross_entropy(Z, y)) + np.sum(lam * Z) + beta * np.sum((Z - m) ** 2)

    best = minimize(f, m.ravel(), method="BFGS", options={"gtol": 1e-11})
    np.testing.assert_allclose(z.ravel(), best.x, atol=1e-6)


# ----------------------------------------------------------------------------- the iteration
def _problem(xp, loss="hinge", widths=(12, 8, 6, 3), n_train=80, dtype="float64"):
    data = synthetic_dataset(xp, n_train=n_train, n_test=30, dtype=dtype)
    return MLP(widths, loss=loss), data


def _block_objectives(state, data, opts):
    """Run one step block by block (as :func:`step` does) and return E(·; λ^k) after every block."""
    W, b, z, a, m = (list(v) for v in (state.W, state.b, state.z, state.a, state.m))
    values = [T.penalty_objective(state, data.y_train, opts)]

    def record():
        s = dataclasses.replace(state, W=tuple(W), b=tuple(b), z=tuple(z), a=tuple(a), m=tuple(m))
        values.append(T.penalty_objective(s, data.y_train, opts))

    last = len(W) - 1
    for i in range(last):
        a_prev = data.x_train if i == 0 else a[i - 1]
        W[i], b[i], m[i] = T.update_W(z[i], a_prev, opts)
        record()
        a[i] = T.update_a(W[i + 1], b[i + 1], z[i + 1], z[i], opts)
        m[i + 1] = W[i + 1] @ a[i] + b[i + 1]  # the cache of layer l+1 follows the new a_l
        record()
        z[i] = T.update_z_hidden(m[i], a[i], opts)
        record()
    W[last], b[last], m[last] = T.update_W(z[last], a[last - 1], opts)
    record()
    z[last], _ = T.update_z_last(m[last], state.lam, data.y_train, state.loss, z[last], opts)
    record()
    return np.array(values)


@pytest.mark.parametrize("loss", ["hinge", "squared", "cross_entropy"])
def test_every_block_decreases_the_penalty_objective(xp, loss):
    """For a fixed λ each of T1–T5 is an exact block minimiser, so E(·; λ) never increases block by block."""
    problem, data = _problem(xp, loss)
    opts = T.TaylorADMMOptions(bias=True)
    state = T.init_state(problem, data, problem.init_params(3, xp=xp), opts)
    for _ in range(3):
        values = _block_objectives(state, data, opts)
        assert np.all(np.diff(values) <= 1e-10 * np.abs(values[:-1]) + 1e-12), values
        state = T.step(state, data, opts)
    # and with a non-zero multiplier (after the warm start)
    state = dataclasses.replace(state, lam=state.z[-1] - state.m[-1] + 0.1)
    values = _block_objectives(state, data, opts)
    assert np.all(np.diff(values) <= 1e-10 * np.abs(values[:-1]) + 1e-12), values


@pytest.mark.parametrize("loss", ["hinge", "squared", "cross_entropy"])
def test_monotone_quantities_through_the_driver(xp, loss):
    """Warm start: λ = 0 and E non-increasing. Every iteration: E(x^{k+1}; λ^k) ≤ E(x^k; λ^k)."""
    problem, data = _problem(xp, loss)
    opts = T.TaylorADMMOptions(warm_start_iters=6)
    res = run(SOLVER, problem, data, opts, max_iter=14, seed=1)
    h = {k: np.array(v) for k, v in res.history.items()}
    obj, before = h["objective"], h["objective_before_multiplier"]
    tol = 1e-10 * np.abs(obj[:-1]) + 1e-12
    np.testing.assert_array_equal(h["warm_start"], [1.0] * 6 + [0.0] * 8)
    np.testing.assert_array_equal(obj[:6], before[:6])
    assert np.all(np.diff(obj[:6]) <= tol[:5])  # the warm start: plain penalty objective, monotone
    assert np.all(before[1:] <= obj[:-1] + tol)  # every iteration, multiplier steps included


def test_multiplier_step_and_warm_start(xp):
    problem, data = _problem(xp)
    opts = T.TaylorADMMOptions(warm_start_iters=2)
    state = T.init_state(problem, data, problem.init_params(0, xp=xp), opts)
    for k in range(4):
        new = T.step(state, data, opts)
        if k < 2:
            assert not new.multiplier_updated
            assert float(host(new.lam).__abs__().max()) == 0.0
        else:
            assert new.multiplier_updated
            assert_close(new.lam, state.lam + opts.beta * (new.z[-1] - new.m[-1]))
        state = new


@pytest.mark.parametrize("loss", ["hinge", "squared", "cross_entropy"])
def test_training_reduces_the_loss(loss, xp):
    problem, data = _problem(xp, loss, widths=(12, 16, 3), n_train=150)
    res = run(SOLVER, problem, data, T.TaylorADMMOptions.dladmm_paper(), max_iter=25, seed=0)
    h = res.history
    assert res.success
    init_loss, _ = problem.evaluate(problem.init_params(0, xp=xp), data.x_train, data.y_train)
    assert h["train_loss"][-1] < init_loss
    assert h["train_accuracy"][-1] > 0.75
    assert h["residual"][-1] < h["residual"][0]


def test_float32_end_to_end(xp):
    problem, data = _problem(xp, "squared", dtype="float32")
    res = run(SOLVER, problem, data, T.TaylorADMMOptions(), max_iter=3)
    assert all(p.dtype == xp.float32 for p in res.params)
    assert all(v.dtype == xp.float32 for v in res.state.z + res.state.a + (res.state.lam,))


def test_biases_are_held_at_zero_by_default(rng):
    problem, data = _problem(np)
    params = problem.init_params(0)
    res = run(SOLVER, problem, data, T.TaylorADMMOptions(), max_iter=2, params=params)
    assert all(np.all(b == 0) for b in res.params[1::2])


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    problem, data = _problem(np)
    opts = T.TaylorADMMOptions(warm_start_iters=1)
    full = run(SOLVER, problem, data, opts, max_iter=4)
    ck = tmp_path / "t.npz"
    run(SOLVER, problem, data, opts, max_iter=2, checkpoint=ck)
    resumed = run(SOLVER, problem, data, None, max_iter=4, resume=ck)
    for p, q in zip(full.params, resumed.params):
        np.testing.assert_array_equal(p, q)
    assert resumed.state.multiplier_updated and resumed.state.loss == "hinge"


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(beta=0.0), "beta"),
        (dict(beta=float("nan")), "beta"),
        (dict(gamma=-1.0), "gamma"),
        (dict(gamma=float("inf")), "gamma"),
        (dict(ridge=-1e-3), "ridge"),
        (dict(warm_start_iters=-1), "warm_start_iters"),
        (dict(warm_start_iters=1.5), "warm_start_iters"),
        (dict(warm_start_iters=True), "warm_start_iters"),
        (dict(weight_solver="lstsq"), "weight_solver"),
        (dict(bias="yes"), "bias"),
    ],
)
def test_invalid_options_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        T.TaylorADMMOptions(**kwargs)
    with pytest.raises(ValueError, match="zl"):
        T.TaylorADMMOptions(zl="newton")


def test_presets_and_registry():
    assert SOLVER.name == "taylor-admm" and SOLVER.options_class is T.TaylorADMMOptions
    p = T.TaylorADMMOptions.dladmm_paper()
    assert (p.beta, p.gamma) == (1.0, 1.0)
    assert T.TaylorADMMOptions.dladmm_paper(warm_start_iters=0).warm_start_iters == 0
    assert T.TaylorADMMOptions().zl == ZLOptions(method="newton")



@pytest.mark.parametrize("loss", ["cross_entropy", "hinge"])
def test_auxiliary_read_out_leaks_random_labels(loss):
    """With labels drawn at random (nothing to learn from x), the read-out of the auxiliary a_{L−1} is right
    on the training set from the first iteration, while the forward pass of the weights stays near chance:
    T2 writes the targets into a_{L−1} and the least-squares T4 reads them back."""

    rng = np.random.default_rng(7)
    N, C = 300, 3
    x = rng.normal(size=(12, N))
    labels = rng.integers(0, C, N)
    data = Dataset("random-labels", x, one_hot(labels, C))
    r = run(get_solver("taylor-admm"), MLP((12, 8, 8, C), loss=loss), data, T.TaylorADMMOptions(), max_iter=3)
    state = r.state
    read_out = np.argmax(state.W[-1] @ state.a[-1] + state.b[-1], axis=0)
    assert r.history["aux_accuracy"][-1] == pytest.approx(np.mean(read_out == labels))
    assert min(r.history["aux_accuracy"]) >= 0.95
    assert max(r.history["train_accuracy"]) <= 0.6
