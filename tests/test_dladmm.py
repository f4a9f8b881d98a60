"""dlADMM: subproblems against brute force, Algorithm 1 against a naive re-implementation, and the
paper's provable properties (u = y − softmax(z_L), monotone L_ρ for ρ > 2H, residual → 0)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.optimize

import amref
from amref.activations import relu
from amref.backend import get_namespace, to_host
from amref.losses import cross_entropy, softmax
from amref.problem import MLP, split_params
from amref.solvers import dladmm
from amref.solvers.dladmm import DlADMMOptions, DlADMMState
from amref.solvers.subproblems import ZLOptions, doubling_search
from helpers import assert_close, central_gradient, synthetic_dataset

NEWTON = ZLOptions(method="newton")
SOLVER = amref.get_solver("dladmm")


def _run(data, widths, options, iters, seed=0):
    return amref.minimize(SOLVER, MLP(widths), data, options, max_iter=iters, seed=seed)


# ----------------------------------------------------------------------------- subproblems
def test_update_W_is_the_literal_backtracking_step(rng):
    """Closed-form θ equals the doubling loop's θ, and the new m equals W⁺a + b."""
    opts = DlADMMOptions()
    for trial in range(20):
        n_out, n_in, N = 4, 5, 7
        W = rng.normal(size=(n_out, n_in))
        b = rng.normal(size=(n_out, 1))
        a = rng.normal(size=(n_in, N)) * rng.uniform(0.1, 3)
        t = rng.normal(size=(n_out, N))
        w = float(rng.uniform(0.05, 5))
        m = W @ a + b
        theta0 = float(rng.uniform(0.01, 2))
        W_new, m_new, theta = dladmm.update_W(W, a, m, t, w, theta0, opts)

        def phi(V):
            return 0.5 * w * float(np.sum((t - V @ a - b) ** 2))

        G = -w * (t - m) @ a.T
        np.testing.assert_allclose(G, central_gradient(phi, W), rtol=1e-7, atol=1e-7)
        W_lit, t_lit, ok = doubling_search(phi, W, G, theta0, 2.0, max_tests=200)
        assert ok
        assert theta == t_lit
        np.testing.assert_allclose(W_new, W_lit, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(m_new, W_new @ a + b, rtol=1e-10, atol=1e-10)


def test_update_a_is_the_literal_backtracking_step(rng):
    opts = DlADMMOptions()
    for trial in range(20):
        n, n_next, N = 5, 3, 6
        a = rng.normal(size=(n, N))
        fz = relu(rng.normal(size=(n, N)))
        W_next = rng.normal(size=(n_next, n)) * rng.uniform(0.2, 3)
        b_next = rng.normal(size=(n_next, 1))
        t_next = rng.normal(size=(n_next, N))
        w, nu = float(rng.uniform(0.1, 3)), float(rng.uniform(0.1, 3))
        m_next = W_next @ a + b_next
        tau0 = float(rng.uniform(0.01, 1))
        a_new, m_new, tau = dladmm.update_a(a, fz, W_next, m_next, t_next, w, nu, tau0, opts)

        def phi(v):
            return 0.5 * w * float(np.sum((t_next - W_next @ v - b_next) ** 2)) + 0.5 * nu * float(np.sum((v - fz) ** 2))

        g = -w * W_next.T @ (t_next - m_next) + nu * (a - fz)
        np.testing.assert_allclose(g, central_gradient(phi, a), rtol=1e-7, atol=1e-7)
        a_lit, t_lit, ok = doubling_search(phi, a, g, tau0, 2.0, max_tests=200)
        assert ok and tau == t_lit
        np.testing.assert_allclose(a_new, a_lit, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(m_new, W_next @ a_new + b_next, rtol=1e-10, atol=1e-10)


def test_update_b_exact_is_the_block_minimiser(rng):
    n, d, N = 3, 4, 9
    W, a, t = rng.normal(size=(n, d)), rng.normal(size=(d, N)), rng.normal(size=(n, N))
    b = rng.normal(size=(n, 1))
    w = 0.7
    b_new, m_new = dladmm.update_b(b, W @ a + b, t, DlADMMOptions())
    res = scipy.optimize.minimize(lambda v: 0.5 * w * np.sum((t - W @ a - v[:, None]) ** 2), np.zeros(n), tol=1e-12)
    np.testing.assert_allclose(b_new.ravel(), res.x, atol=1e-6)
    np.testing.assert_allclose(m_new, W @ a + b_new, atol=1e-12)


def test_update_b_paper_literal_overshoots_by_N(rng):
    """With summed penalties, B = ν is not a majoriser: the literal step moves N times too far."""
    n, d, N = 3, 4, 9
    W, a, t, b = rng.normal(size=(n, d)), rng.normal(size=(d, N)), rng.normal(size=(n, N)), rng.normal(size=(n, 1))
    exact, _ = dladmm.update_b(b, W @ a + b, t, DlADMMOptions())
    literal, _ = dladmm.update_b(b, W @ a + b, t, DlADMMOptions(bias_step="paper-literal"))
    np.testing.assert_allclose(literal - b, N * (exact - b), rtol=1e-12)

    def phi(v):
        return np.sum((t - W @ a - v) ** 2)

    assert phi(literal) > phi(b)  # the printed step increases the block objective for N > 2


def test_update_z_hidden_brute_force(rng, no_jit):
    m = rng.normal(size=(4, 30)) * 2
    a = np.abs(rng.normal(size=(4, 30))) * rng.integers(0, 2, size=(4, 30))
    z = dladmm.update_z_hidden(m, a, DlADMMOptions())
    grid = np.linspace(-8, 8, 160001)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            f = (grid - m[i, j]) ** 2 + (a[i, j] - np.maximum(grid, 0)) ** 2
            fz = (z[i, j] - m[i, j]) ** 2 + (a[i, j] - max(z[i, j], 0)) ** 2
            assert fz <= f.min() + 1e-12


def test_update_z_last_solves_its_subproblem(rng):
    C, N, rho = 3, 4, 0.7
    m = rng.normal(size=(C, N))
    u = 0.1 * rng.normal(size=(C, N))
    y = np.eye(C)[:, rng.integers(0, C, N)]
    opts = DlADMMOptions(zl=NEWTON)
    z, _ = dladmm.update_z_last(m, u, y, rho, np.zeros((C, N)), opts)

    def f(v):
        v = v.reshape(C, N)
        return float(cross_entropy(v, y)) + np.sum(u * (v - m)) + 0.5 * rho * np.sum((v - m) ** 2)

    res = scipy.optimize.minimize(f, np.zeros(C * N), method="BFGS", options={"gtol": 1e-11})
    np.testing.assert_allclose(z.ravel(), res.x, atol=1e-6)


# ----------------------------------------------------------------------------- Algorithm 1
def _naive_iteration(s: DlADMMState, x, y, opts: DlADMMOptions) -> DlADMMState:
    """Algorithm 1 written without the m cache and with literal backtracking loops."""
    W, b, z, a = list(s.W), list(s.b), list(s.z), list(s.a)
    u, rho, nu = s.u, s.rho, s.nu
    L = len(W)

    def inp(i):
        return x if i == 0 else a[i - 1]

    def tgt(i):
        return z[i] + u / rho if i == L - 1 else z[i]

    def wgt(i):
        return rho if i == L - 1 else nu

    def W_step(i):
        def phi(V):
            return 0.5 * wgt(i) * np.sum((tgt(i) - V @ inp(i) - b[i]) ** 2)

        G = -wgt(i) * (tgt(i) - W[i] @ inp(i) - b[i]) @ inp(i).T
        W[i] = doubling_search(phi, W[i], G, s.theta0, 2.0, 200)[0]

    def b_step(i):
        b[i] = np.mean(tgt(i) - W[i] @ inp(i), axis=1, keepdims=True)

    def a_step(i):  # output a_i of layer i (0-based), feeds layer i+1
        def phi(v):
            return (0.5 * wgt(i + 1) * np.sum((tgt(i + 1) - W[i + 1] @ v - b[i + 1]) ** 2)
                    + 0.5 * nu * np.sum((v - relu(z[i])) ** 2))

        g = -wgt(i + 1) * W[i + 1].T @ (tgt(i + 1) - W[i + 1] @ a[i] - b[i + 1]) + nu * (a[i] - relu(z[i]))
        a[i] = doubling_search(phi, a[i], g, s.tau0, 2.0, 200)[0]

    def z_step(i):
        m = W[i] @ inp(i) + b[i]
        c1, c2 = np.minimum(m, 0), np.maximum((m + a[i]) / 2, 0)
        f1 = (c1 - m) ** 2 + a[i] ** 2
        f2 = (c2 - m) ** 2 + (a[i] - c2) ** 2
        z[i] = np.where(f2 < f1, c2, c1)

    def zL_step():
        m = W[-1] @ inp(L - 1) + b[-1]
        z[-1] = dladmm.update_z_last(m, u, y, rho, z[-1], opts)[0]

    zL_step(); b_step(L - 1); W_step(L - 1)
    for i in range(L - 2, -1, -1):
        a_step(i); z_step(i); b_step(i); W_step(i)
    for i in range(L - 1):
        W_step(i); b_step(i); z_step(i); a_step(i)
    W_step(L - 1); b_step(L - 1); zL_step()
    u = u + rho * (z[-1] - W[-1] @ inp(L - 1) - b[-1])
    return dataclasses.replace(s, W=tuple(W), b=tuple(b), z=tuple(z), a=tuple(a), u=u)


@pytest.mark.parametrize("widths", [(6, 5, 4, 3), (6, 3), (6, 5, 3)])
def test_step_matches_naive_algorithm_1(widths, no_jit):
    npx = get_namespace("numpy")
    data = synthetic_dataset(npx, n_features=6, n_classes=3, n_train=25, n_test=5)
    opts = DlADMMOptions(rho=1.5, nu=0.8, zl=NEWTON)
    prob = MLP(widths)
    s = dladmm.init_state(prob, data, prob.init_params(3), opts)
    ref = s
    for _ in range(3):
        s = dladmm.step(s, data, opts)
        ref = _naive_iteration(ref, data.x_train, data.y_train, opts)
        for name in ("W", "b", "z", "a"):
            for got, want in zip(getattr(s, name), getattr(ref, name)):
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(s.u, ref.u, rtol=1e-9, atol=1e-10)
        # the m cache stays equal to the products it stands for
        acts = (data.x_train,) + s.a
        for Wl, bl, al, ml in zip(s.W, s.b, acts, s.m):
            np.testing.assert_allclose(ml, Wl @ al + bl, rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------------- paper's properties
def test_dual_identity_after_every_iteration(xp):
    """Lemma B.2: ∇R(z_L) + u = 0, i.e. u = y − softmax(z_L), after every iteration (exact z_L solve)."""
    data = synthetic_dataset(xp, n_train=60, n_test=10)
    seen = []

    def check(info):
        s = info.state
        gap = float(xp.max(xp.abs(s.u - (data.y_train - softmax(s.z[-1])))))
        seen.append(gap)
        assert gap < 1e-9

    amref.minimize(SOLVER, MLP((12, 10, 8, 3)), data, DlADMMOptions(rho=1.0, nu=1.0, zl=NEWTON), max_iter=8,
                   callback=check)
    assert len(seen) == 8


def test_dual_identity_holds_to_fista_tolerance():
    npx = get_namespace("numpy")
    data = synthetic_dataset(npx, n_train=60, n_test=10)
    opts = DlADMMOptions(rho=1.0, nu=1.0, zl=ZLOptions(method="fista", fista_tol=1e-13, fista_max_iter=5000))
    res = _run(data, (12, 10, 3), opts, 4)
    s = res.state
    assert float(np.max(np.abs(s.u - (data.y_train - softmax(s.z[-1]))))) < 1e-5


@pytest.mark.parametrize("rho", [1.5, 4.0])
def test_augmented_lagrangian_is_non_increasing_when_rho_exceeds_2H(rho):
    """Property 2: L_ρ(k) ≥ L_ρ(k+1) for ρ > 2H = 1, any ν; the residual tends to 0 (Theorem 4.2)."""
    npx = get_namespace("numpy")
    data = synthetic_dataset(npx, n_train=80, n_test=10, seed=3)
    opts = DlADMMOptions(rho=rho, nu=0.3, rho_schedule="constant", zl=NEWTON)
    res = _run(data, (12, 16, 16, 3), opts, 60)
    obj = np.array(res.history["objective"])
    assert np.all(np.diff(obj) <= 1e-10 * np.abs(obj[:-1])), np.diff(obj).max()
    r = np.array(res.history["residual"])
    assert r[-1] < 1e-3 * r[0]


def test_small_rho_is_not_monotone():
    """Fig 3's behaviour: with ρ = 1e-6 < 2H the augmented Lagrangian is not monotone."""
    npx = get_namespace("numpy")
    data = synthetic_dataset(npx, n_train=80, n_test=10, seed=3)
    res = _run(data, (12, 16, 16, 3), DlADMMOptions(rho=1e-6, nu=1e-6, rho_schedule="constant", zl=NEWTON), 30)
    assert np.any(np.diff(res.history["objective"]) > 0)


def test_learns_on_separable_data(xp):
    data = synthetic_dataset(xp, n_train=150, n_test=50, seed=1)
    res = _run(data, (12, 20, 3), DlADMMOptions(rho=1.0, nu=1.0, zl=NEWTON), 30)
    assert res.success
    assert res.history["train_accuracy"][-1] > 0.9
    assert res.history["train_accuracy"][-1] > res.history["train_accuracy"][0]


def test_backends_give_identical_iterates(no_jit):
    dn = synthetic_dataset(get_namespace("numpy"), n_train=40)
    ds = synthetic_dataset(get_namespace("array_api_strict"), n_train=40)
    opts = DlADMMOptions(rho=1.0, nu=1.0, zl=NEWTON)
    rn, rs = _run(dn, (12, 7, 3), opts, 3), _run(ds, (12, 7, 3), opts, 3)
    for pn, ps in zip(rn.params, rs.params):
        np.testing.assert_array_equal(pn, to_host(ps))


def test_float32_end_to_end(xp):
    data = synthetic_dataset(xp, n_train=60, dtype="float32")
    res = _run(data, (12, 9, 3), DlADMMOptions(rho=1.0, nu=1.0, zl=NEWTON), 3)
    s = res.state
    for arr in (*s.W, *s.b, *s.z, *s.a, *s.m, s.u):
        assert arr.dtype == xp.float32
    assert np.isfinite(res.history["objective"]).all()


def test_paper_literal_bias_step_increases_the_lagrangian():
    npx = get_namespace("numpy")
    data = synthetic_dataset(npx, n_train=80, seed=3)
    res = _run(data, (12, 16, 3), DlADMMOptions(rho=2.0, nu=2.0, bias_step="paper-literal", zl=NEWTON), 5)
    obj = res.history["objective"]
    assert obj[-1] > obj[0] or res.status is amref.Status.DIVERGED


# ----------------------------------------------------------------------------- schedules and options
def _state(rho=1e-6, widths=(4, 100, 100, 3)):
    W = tuple(np.zeros((o, i)) for i, o in zip(widths[:-1], widths[1:]))
    return DlADMMState(W=W, b=(), z=(), a=(), u=np.zeros(1), m=(), rho=rho, nu=rho, theta0=1.0, tau0=1.0)


def test_paper_schedule_multiplies_rho_every_100_iterations():
    opts = DlADMMOptions()
    s = _state()
    for k in range(1, 201):
        s = dladmm.end_iteration(dataclasses.replace(s, iteration=k), {"train_loss": 1.0}, opts)
        if k == 99:
            assert s.rho == 1e-6
    assert s.rho == pytest.approx(1e-4)
    assert s.nu == 1e-6  # ν fixed in the paper


def test_code_schedule_fires_after_three_rises_and_scales_theta_tau():
    opts = DlADMMOptions.released_code()
    s = _state()
    for k, c in enumerate([5.0, 4.0, 4.5, 4.6], start=1):
        s = dladmm.end_iteration(dataclasses.replace(s, iteration=k), {"train_loss": c}, opts)
    assert s.rho == 1e-6  # only two rises so far
    s = dladmm.end_iteration(dataclasses.replace(s, iteration=5), {"train_loss": 4.7}, opts)
    assert s.rho == pytest.approx(1e-5) and s.nu == s.rho
    assert s.theta0 == 10.0 and s.tau0 == 10.0
    big = _state(rho=0.05)
    big = dataclasses.replace(big, costs=(1.0, 2.0, 3.0))
    big = dladmm.end_iteration(dataclasses.replace(big, iteration=9), {"train_loss": 4.0}, opts)
    assert big.rho == 0.1  # capped
    narrow = dataclasses.replace(_state(widths=(4, 50, 3)), costs=(1.0, 2.0, 3.0))
    narrow = dladmm.end_iteration(dataclasses.replace(narrow, iteration=4), {"train_loss": 4.0}, opts)
    assert narrow.theta0 == 1.0  # fewer than 100 hidden units: θ₀, τ₀ unchanged


def test_released_code_preset():
    o = DlADMMOptions.released_code(rho=1e-3)
    assert o.nu_equals_rho and o.rho_schedule == "cost" and o.rho_max == 0.1 and o.bias_step == "exact"
    assert o.zl.fista_step == 4.0 and o.zl.fista_tol == 1e-3 and o.zl.fista_max_iter == 500


@pytest.mark.parametrize(
    "bad",
    [dict(rho=0.0), dict(rho=-1.0), dict(nu=float("nan")), dict(rho=float("inf")), dict(theta0=0.0),
     dict(backtrack_factor=1.0), dict(rho_schedule="weekly"), dict(bias_step="mean"), dict(rho_every=0),
     dict(max_doublings=-1), dict(rho_factor=0.5)],
)
def test_invalid_options_raise(bad):
    with pytest.raises(ValueError):
        DlADMMOptions(**bad)


def test_max_doublings_cap_keeps_the_block():
    rng = np.random.default_rng(0)
    W, a = rng.normal(size=(3, 4)), 10 * rng.normal(size=(4, 6))
    t, b = rng.normal(size=(3, 6)), np.zeros((3, 1))
    opts = DlADMMOptions(max_doublings=0)
    W_new, m_new, _ = dladmm.update_W(W, a, W @ a + b, t, 1.0, 1e-3, opts)
    assert W_new is W  # threshold ≫ θ₀ and no growth allowed: the block stays


def test_state_splits_like_params():
    npx = get_namespace("numpy")
    data = synthetic_dataset(npx)
    prob = MLP((12, 5, 3))
    p = prob.init_params(0)
    s = dladmm.init_state(prob, data, p, DlADMMOptions())
    Ws, bs = split_params(dladmm.params(s))
    for got, want in zip(Ws + bs, split_params(p)[0] + split_params(p)[1]):
        assert got is want
    np.testing.assert_array_equal(s.z[-1], 2 * data.y_train - 1)
    assert_close(s.u, npx.zeros_like(data.y_train))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_step_writes_its_own_arrays_only_and_kernels_change_nothing_but_rounding(dtype):
    """``step`` updates in place only arrays it created: the state it was given is unchanged after two
    steps, with the Numba kernels (forced on these small arrays) and without; both give the same iterates
    to rounding (the row-mean kernel sums in another order), and the second step does not alias the first's."""
    from amref import kernels

    pytest.importorskip("numba")
    xp = get_namespace("numpy")
    data = synthetic_dataset(xp, n_train=90, dtype=dtype)
    problem = MLP((12, 9, 7, 3))
    options = DlADMMOptions(rho=1.5, nu=0.5)
    state0 = SOLVER.init_state(problem, data, problem.init_params(0, xp=xp, dtype=dtype), options)

    def arrays(s):
        return [v for field in ("W", "b", "z", "a", "m") for v in getattr(s, field)] + [s.u]

    before = [v.copy() for v in arrays(state0)]
    runs = {}
    for jit in (True, False):
        with kernels.use_jit(jit):
            s1 = dladmm.step(state0, data, options)
            after1 = [v.copy() for v in arrays(s1)]
            s2 = dladmm.step(s1, data, options)
        for v, old in zip(arrays(state0), before):
            np.testing.assert_array_equal(v, old)
        for v, old in zip(arrays(s1), after1):
            np.testing.assert_array_equal(v, old)
        runs[jit] = s2
    tol = 1e-4 if dtype == "float32" else 1e-10
    for v, w in zip(arrays(runs[True]), arrays(runs[False])):
        assert v.dtype == w.dtype
        np.testing.assert_allclose(v, w, rtol=tol, atol=tol)
