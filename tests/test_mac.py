"""MAC: every subproblem against least squares / scipy.optimize, a literal loop version of one iteration,
E_Q non-increasing for a fixed μ, the μ path and its stopping rule, the command line."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import minimize

import amref
import amref.cli
from amref import losses
from amref.backend import from_host
from amref.data import one_hot
from amref.solvers import mac as M

from helpers import assert_close, host, synthetic_dataset

RELU = M.get_activation("relu")
IDENTITY = M.Activation("identity", lambda u: u, lambda u: u * 0.0 + 1.0, 1.0)
SOFTPLUS = M.Activation("softplus", lambda u: np.logaddexp(0.0, u), lambda u: 1.0 / (1.0 + np.exp(-u)), 1.0)
MANY = M.MACOptions(w_iters=200, z_iters=200)


def _relu(u):
    return np.maximum(u, 0.0)


def _softplus(u):
    return np.logaddexp(0.0, u)


def _rows(rng, *shapes):
    return [rng.normal(size=s) for s in shapes]


# ----------------------------------------------------------------------------- options
@pytest.mark.parametrize("field, value", [
    ("mu0", 0.0), ("mu0", -1.0), ("mu_max", float("inf")), ("mu_factor", 0.5), ("iters_per_mu", 0),
    ("stage_tol", -1e-3), ("feasibility_tol", float("nan")), ("variant", "admm"), ("w_iters", 0),
    ("z_iters", 1.5), ("z_sweeps", 0), ("lm_damping", 0.0), ("lm_factor", 1.0), ("nonsmooth_curvature", 0.0),
    ("weight_decay", -0.1),
])
def test_options_reject_invalid_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        M.MACOptions(**{field: value})


def test_options_reject_mu0_above_mu_max():
    with pytest.raises(ValueError, match="mu0"):
        M.MACOptions(mu0=10.0, mu_max=1.0)


# ----------------------------------------------------------------------------- loss pieces
@pytest.mark.parametrize("loss", ["squared", "hinge", "cross_entropy"])
def test_loss_columns_and_rows_sum_to_the_loss(xp, rng, loss):
    z, y = rng.normal(scale=2.0, size=(4, 6)), one_hot(rng.integers(0, 4, size=6), 4)
    zx, yx = from_host(z, xp), from_host(y, xp)
    ell = losses.get(loss)
    cols = host(M.loss_columns(loss, zx, yx))
    assert cols.shape == (1, 6)
    for j in range(6):
        assert cols[0, j] == pytest.approx(float(ell.value(z[:, j:j + 1], y[:, j:j + 1])), rel=1e-12)
    rows = host(M.loss_rows(loss, zx, yx))
    if loss == "cross_entropy":
        assert rows.shape == (1, 1) and rows[0, 0] == pytest.approx(float(ell.value(z, y)), rel=1e-12)
    else:
        for i in range(4):
            assert rows[i, 0] == pytest.approx(float(ell.value(z[i:i + 1], y[i:i + 1])), rel=1e-12)


# ----------------------------------------------------------------------------- M2: hidden W-step
def _hidden_w_objective(W, b, z_prev, target, act_fn=_relu):
    return 0.5 * np.sum((target - act_fn(W @ z_prev + b)) ** 2, axis=1)


def test_update_W_hidden_linear_unit_is_least_squares(xp, rng):
    """With a linear activation M2 is a least-squares fit; the majorised Gauss–Newton step is exact
    (up to the damping, which shrinks tenfold per accepted trial)."""
    W0, b0, zp, t = _rows(rng, (3, 4), (3, 1), (4, 9), (3, 9))
    args = [from_host(v, xp) for v in (W0, b0, zp, t)]
    damp = from_host(np.full((1, 3), 1e-9), xp)
    W, b, _ = M.update_W_hidden(*args, 2.0, damp, M.gram_basis(args[2]), IDENTITY, M.MACOptions(w_iters=3))
    A = np.vstack([zp, np.ones((1, 9))]).T
    sol = np.linalg.lstsq(A, t.T, rcond=None)[0].T
    assert_close(W, from_host(sol[:, :4], xp), rtol=1e-7, atol=1e-8)
    assert_close(b, from_host(sol[:, 4:], xp), rtol=1e-7, atol=1e-8)


def _ridge_lstsq(zp, t, mu, wd):
    """``min_V (μ/2)‖t − Vᵀ[zp; 1]‖² + (λ/2)‖W‖²`` (bias free) as least squares on an augmented system."""
    d, N = zp.shape
    A = np.vstack([np.sqrt(mu) * np.vstack([zp, np.ones((1, N))]).T, np.sqrt(wd) * np.eye(d, d + 1)])
    rhs = np.vstack([np.sqrt(mu) * t.T, np.zeros((d, t.shape[0]))])
    return np.linalg.lstsq(A, rhs, rcond=None)[0].T  # rows [w_j b_j]


@pytest.mark.parametrize("d, N", [(4, 9), (12, 7)])  # the full eigenbasis, and the thin one (d + 1 > N)
def test_update_W_hidden_linear_unit_with_ridge_is_ridge_regression(xp, rng, d, N):
    """With the ridge a linear unit's M2 is a ridge regression with a free bias; the majorised LM reaches it."""
    W0, b0, zp, t = _rows(rng, (3, d), (3, 1), (d, N), (3, N))
    args = [from_host(v, xp) for v in (W0, b0, zp, t)]
    damp = from_host(np.full((1, 3), 1e-9), xp)
    opts = M.MACOptions(w_iters=60, weight_decay=0.3)
    W, b, _ = M.update_W_hidden(*args, 2.0, damp, M.gram_basis(args[2]), IDENTITY, opts)
    sol = _ridge_lstsq(zp, t, 2.0, 0.3)
    assert_close(W, from_host(sol[:, :d], xp), rtol=1e-7, atol=1e-8)
    assert_close(b, from_host(sol[:, d:], xp), rtol=1e-7, atol=1e-8)


def test_update_W_hidden_wide_linear_unit_moves_least(rng):
    """d + 1 > N, no ridge: the fit is exact and under-determined; the thin basis steps only in the span
    of the data, so W ends at the exact fit nearest W0: V0 + pinv(Ãᵀ)(t − ÃᵀV0)ᵀ."""
    d, N = 12, 7
    W0, b0, zp, t = _rows(rng, (3, d), (3, 1), (d, N), (3, N))
    W, b, _ = M.update_W_hidden(W0, b0, zp, t, 2.0, np.full((1, 3), 1e-9), M.gram_basis(zp), IDENTITY,
                                M.MACOptions(w_iters=3))
    A = np.vstack([zp, np.ones((1, N))])
    V0 = np.hstack([W0, b0]).T
    want = V0 + np.linalg.pinv(A.T) @ (t.T - A.T @ V0)
    np.testing.assert_allclose(np.hstack([W, b]).T, want, rtol=1e-8, atol=1e-10)


def test_gram_basis_is_thin_for_wide_inputs(rng):
    """d + 1 > N: an orthonormal (d+1) × N basis whose Q Λ Qᵀ is [a; 1][a; 1]ᵀ; else the full (d+1)²."""
    for d, N, r in [(12, 7, 7), (4, 9, 5)]:
        a = rng.normal(size=(d, N))
        Q, lam = M.gram_basis(a)
        A = np.vstack([a, np.ones((1, N))])
        assert Q.shape == (d + 1, r) and lam.shape == (r, 1)
        np.testing.assert_allclose(Q.T @ Q, np.eye(r), atol=1e-12)
        np.testing.assert_allclose(Q @ (lam * Q.T), A @ A.T, atol=1e-10)


@pytest.mark.parametrize("weight_decay", [0.0, 0.2])
def test_thin_and_full_bases_give_the_same_w_step(rng, weight_decay):
    """The thin basis of a wide input and the full eigenbasis (its zero eigenvalues included) give the
    same M2 and M3 steps up to rounding (ReLU; squared output)."""
    d, N = 15, 8
    W0, b0, zp, t = _rows(rng, (3, d), (3, 1), (d, N), (3, N))
    opts = M.MACOptions(w_iters=4, weight_decay=weight_decay)
    A = np.vstack([zp, np.ones((1, N))])
    full = M._eig(A @ A.T)
    thin = M.gram_basis(zp)
    assert thin[0].shape == (d + 1, N) and full[0].shape == (d + 1, d + 1)
    damp, y = np.full((1, 3), 1e-6), one_hot(rng.integers(0, 3, size=N), 3)
    for w_step in (lambda basis: M.update_W_hidden(W0, b0, zp, t, 1.5, damp, basis, RELU, opts),
                   lambda basis: M.update_W_output(W0, b0, zp, y, "squared", damp, basis, opts)):
        for got, want in zip(w_step(thin), w_step(full)):
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_update_W_hidden_relu_never_increases_a_unit(rng):
    W0, b0, zp, t = _rows(rng, (3, 3), (3, 1), (3, 12), (3, 12))
    W, b, _ = M.update_W_hidden(W0, b0, zp, t, 1.7, np.full((1, 3), 1e-9), M.gram_basis(zp), RELU, MANY)
    before, after = _hidden_w_objective(W0, b0, zp, t), _hidden_w_objective(W, b, zp, t)
    assert np.all(after <= before) and np.sum(after) < np.sum(before)


def test_update_W_hidden_smooth_unit_is_stationary(rng):
    """With a smooth activation the bounded LM reaches a stationary point: BFGS from it gains nothing."""
    W0, b0, zp, t = _rows(rng, (3, 3), (3, 1), (3, 12), (3, 12))
    t = np.abs(t) + 0.1  # reachable targets: a bounded minimiser exists
    W, b, _ = M.update_W_hidden(W0, b0, zp, t, 1.7, np.full((1, 3), 1e-9), M.gram_basis(zp), SOFTPLUS, MANY)
    for j in range(3):
        def f(v, j=j):
            return 0.85 * np.sum((t[j] - _softplus(v[:3] @ zp + v[3])) ** 2)
        ours = np.concatenate([W[j], b[j]])
        best = minimize(f, ours, method="BFGS", options={"gtol": 1e-10})
        assert f(ours) <= best.fun + 1e-9 * (1 + abs(best.fun))
        np.testing.assert_allclose(ours, best.x, atol=1e-5)


# ----------------------------------------------------------------------------- M3: output W-step
@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
def test_update_W_output_with_ridge_matches_scipy(rng, loss):
    """M3 with the ridge (weights only, not the biases): the minimiser of R + (λ/2)‖W_L‖² by BFGS."""
    C, n, N, wd = 3, 4, 10, 0.4
    W0, b0, zp = _rows(rng, (C, n), (C, 1), (n, N))
    y = one_hot(rng.integers(0, C, size=N), C)
    ell = losses.get(loss)
    damp = np.full((1, 1 if loss == "cross_entropy" else C), 1e-9)
    W, b, _ = M.update_W_output(W0, b0, zp, y, loss, damp, M.gram_basis(zp), M.MACOptions(w_iters=200, weight_decay=wd))

    def f(v):
        V = v.reshape(C, n + 1)
        return float(ell.value(V[:, :n] @ zp + V[:, n:], y)) + 0.5 * wd * np.sum(V[:, :n] ** 2)

    res = minimize(f, np.zeros(C * (n + 1)), method="BFGS", options={"gtol": 1e-11})
    ours, best = np.concatenate([W, b], axis=1), res.x.reshape(C, n + 1)
    if loss == "cross_entropy":
        # the softmax ignores a shift of every output unit's row by one vector; only the ridge fixes the
        # weights' shift (curvature λ against the majoriser's H_R Λ: LM converges slowly along it, here
        # to ~1e-4), nothing fixes the biases'. Compare the objective and the centred rows.
        assert f(ours.ravel()) <= res.fun + 1e-7 * abs(res.fun)
        ours, best = ours - np.mean(ours, axis=0), best - np.mean(best, axis=0)
    np.testing.assert_allclose(ours, best, atol=1e-6)


def test_update_W_output_squared_is_least_squares(xp, rng):
    W0, b0, zp = _rows(rng, (3, 5), (3, 1), (5, 11))
    y = one_hot(rng.integers(0, 3, size=11), 3)
    args = [from_host(v, xp) for v in (W0, b0, zp, y)]
    damp = from_host(np.full((1, 3), 1e-9), xp)
    W, b, _ = M.update_W_output(*args, "squared", damp, M.gram_basis(args[2]), M.MACOptions(w_iters=3))
    A = np.vstack([zp, np.ones((1, 11))]).T
    sol = np.linalg.lstsq(A, y.T, rcond=None)[0].T
    assert_close(W, from_host(sol[:, :5], xp), rtol=1e-7, atol=1e-8)
    assert_close(b, from_host(sol[:, 5:], xp), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("loss", ["cross_entropy", "hinge"])
def test_update_W_output_matches_scipy(rng, loss):
    """Cross-entropy (multinomial logistic regression, smooth convex) and hinge (convex, non-smooth)."""
    C, n, N = 3, 2, 10
    W0, b0, zp = _rows(rng, (C, n), (C, 1), (n, N))
    y = one_hot(rng.integers(0, C, size=N), C)
    ell = losses.get(loss)
    damp = np.full((1, 1 if loss == "cross_entropy" else C), 1e-9)
    W, b, _ = M.update_W_output(W0, b0, zp, y, loss, damp, M.gram_basis(zp), MANY)

    def f(v):
        V = v.reshape(C, n + 1)
        return float(ell.value(V[:, :n] @ zp + V[:, n:], y))

    ours = np.concatenate([W, b], axis=1).ravel()
    f0 = float(ell.value(W0 @ zp + b0, y))
    assert float(ell.value(W @ zp + b, y)) <= f0
    if loss == "cross_entropy":
        best = minimize(f, ours, method="BFGS", options={"gtol": 1e-10})
        assert f(ours) <= best.fun + 1e-6 * abs(best.fun)
    else:  # non-smooth: our damped subgradient descent must at least have made progress
        assert float(ell.value(W @ zp + b, y)) < f0


# ----------------------------------------------------------------------------- M4: Z-step
def _z_args(rng, n, n_next, N, C=3):
    z0, a, s = _rows(rng, (n, N), (n, N), (n, N))
    Wn, bn, tn = _rows(rng, (n_next, n), (n_next, 1), (n_next, N))
    y = one_hot(rng.integers(0, C, size=N), C)
    return z0, a, s, Wn, bn, tn, y


def test_update_z_last_layer_squared_is_a_linear_solve(xp, rng):
    """k = K, squared loss: (μI + WᵀW) z = μ(a − s) + Wᵀ(y − b), one system per point."""
    mu = 0.7
    z0, a, s, Wn, bn, _, y = _z_args(rng, 4, 3, 6)
    args = [from_host(v, xp) for v in (z0, a, s, Wn, bn)]
    z, _ = M.update_z(*args, None, from_host(y, xp), "squared", mu, from_host(np.full((1, 6), 1e-9), xp),
                      RELU, M.MACOptions(z_iters=1))
    K = np.vstack([np.sqrt(mu) * np.eye(4), Wn])
    rhs = np.vstack([np.sqrt(mu) * (a - s), y - bn])
    assert_close(z, from_host(np.linalg.lstsq(K, rhs, rcond=None)[0], xp), rtol=1e-7, atol=1e-8)


def test_update_z_last_layer_cross_entropy_matches_bfgs(rng):
    mu = 1.3
    z0, a, s, Wn, bn, _, y = _z_args(rng, 3, 3, 5)
    z, _ = M.update_z(z0, a, s, Wn, bn, None, y, "cross_entropy", mu, np.full((1, 5), 1e-9), RELU, MANY)
    for j in range(5):
        def f(v, j=j):
            return (float(losses.cross_entropy((Wn @ v + bn[:, 0])[:, None], y[:, j:j + 1]))
                    + 0.5 * mu * np.sum((v + s[:, j] - a[:, j]) ** 2))
        best = minimize(f, z0[:, j], method="BFGS", options={"gtol": 1e-11})
        np.testing.assert_allclose(z[:, j], best.x, atol=1e-6)


def _z_hidden_objective(v, a, s, Wn, bn, tn, mu, h=_relu):
    return 0.5 * mu * np.sum((v + s - a) ** 2, axis=0) + 0.5 * mu * np.sum((tn - h(Wn @ v + bn)) ** 2, axis=0)


def test_update_z_hidden_relu_never_increases_a_point(rng):
    mu = 0.9
    z0, a, s, Wn, bn, tn, y = _z_args(rng, 3, 4, 7)
    z, _ = M.update_z(z0, a, s, Wn, bn, tn, y, "squared", mu, np.full((1, 7), 1e-9), RELU, MANY)
    before = _z_hidden_objective(z0, a, s, Wn, bn, tn, mu)
    after = _z_hidden_objective(z, a, s, Wn, bn, tn, mu)
    assert np.all(after <= before) and np.sum(after) < np.sum(before)


def test_update_z_hidden_smooth_is_stationary_per_point(rng):
    mu = 0.9
    z0, a, s, Wn, bn, tn, y = _z_args(rng, 3, 4, 7)
    z, _ = M.update_z(z0, a, s, Wn, bn, tn, y, "squared", mu, np.full((1, 7), 1e-9), SOFTPLUS, MANY)
    for j in range(7):
        def f(v, j=j):
            return float(_z_hidden_objective(v[:, None], a[:, j:j + 1], s[:, j:j + 1], Wn, bn, tn[:, j:j + 1], mu,
                                             _softplus)[0])
        best = minimize(f, z[:, j], method="BFGS", options={"gtol": 1e-10})
        assert f(z[:, j]) <= best.fun + 1e-9 * (1 + abs(best.fun))
        np.testing.assert_allclose(z[:, j], best.x, atol=1e-5)


# ----------------------------------------------------------------------------- a literal loop version
def _literal_lm(x, value_and_grad, M_curv, nu, iters, opts):
    """One problem (a unit or a point): LM with an explicit solve of (M + ν·scale·I) d = g."""
    ev = np.linalg.eigvalsh(M_curv)
    scale = max(np.mean(np.maximum(ev, 0)) + np.max(np.maximum(ev, 0)) * opts.lm_damping_min, 0)
    f, g = value_and_grad(x)
    for _ in range(iters):
        trial = x - np.linalg.solve(M_curv + nu * scale * np.eye(len(x)), g)
        ft, gt = value_and_grad(trial)
        if ft <= f:
            x, f, g, nu = trial, ft, gt, nu / opts.lm_factor
        else:
            nu = nu * opts.lm_factor
        nu = min(max(nu, opts.lm_damping_min), opts.lm_damping_max)
    return x


def _literal_step(state, x, y, opts):
    """One MAC iteration written with loops over units and points (squared loss, ReLU, no multipliers;
    the ridge λ on the weights with the curvature + λI)."""
    W, b, Z = [w.copy() for w in state.W], [v.copy() for v in state.b], [z.copy() for z in state.Z]
    mu, K, wd = state.mu, len(Z), opts.weight_decay
    inp = lambda k: x if k == 0 else Z[k - 1]  # noqa: E731

    def ridge(v):  # (λ/2)‖w‖², the bias (last entry) free
        w = np.concatenate([v[:-1], [0.0]])
        return 0.5 * wd * w @ w, wd * w

    for k in range(K):  # M2, unit by unit
        A = np.vstack([inp(k), np.ones((1, x.shape[1]))])
        for j in range(W[k].shape[0]):
            def vg(v, j=j, k=k, A=A):
                u = v @ A
                r = Z[k][j] - _relu(u)
                return 0.5 * mu * r @ r + ridge(v)[0], A @ (-mu * (u > 0) * r) + ridge(v)[1]
            v = _literal_lm(np.concatenate([W[k][j], b[k][j]]), vg, mu * A @ A.T + wd * np.eye(len(A)),
                            float(state.w_damping[k][0, j]), opts.w_iters, opts)
            W[k][j], b[k][j] = v[:-1], v[-1]
    A = np.vstack([inp(K), np.ones((1, x.shape[1]))])
    for j in range(W[K].shape[0]):  # M3, output unit by output unit (squared loss)
        def vg(v, j=j):
            r = v @ A - y[j]
            return 0.5 * r @ r + ridge(v)[0], A @ r + ridge(v)[1]
        v = _literal_lm(np.concatenate([W[K][j], b[K][j]]), vg, A @ A.T + wd * np.eye(len(A)),
                        float(state.w_damping[K][0, j]), opts.w_iters, opts)
        W[K][j], b[K][j] = v[:-1], v[-1]
    for k in range(K):  # M4, point by point
        a = _relu(W[k] @ inp(k) + b[k])
        Wn, bn = W[k + 1], b[k + 1][:, 0]
        for n in range(x.shape[1]):
            def vg(v, n=n, k=k, a=a, Wn=Wn, bn=bn):
                e = v - a[:, n]
                u = Wn @ v + bn
                if k + 1 < K:
                    r = Z[k + 1][:, n] - _relu(u)
                    return 0.5 * mu * (e @ e + r @ r), mu * e + Wn.T @ (-mu * (u > 0) * r)
                r = u - y[:, n]
                return 0.5 * mu * e @ e + 0.5 * r @ r, mu * e + Wn.T @ r
            c = mu if k + 1 < K else 1.0
            Z[k][:, n] = _literal_lm(Z[k][:, n].copy(), vg, mu * np.eye(len(a)) + c * Wn.T @ Wn,
                                     float(state.z_damping[k][0, n]), opts.z_iters, opts)
    return W, b, Z


@pytest.mark.parametrize("n_features", [4, 20])  # 20 + 1 > 15 points: the first layer's thin basis
@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
def test_step_equals_the_literal_loop_version(rng, n_features, weight_decay):
    data = synthetic_dataset(np, n_features=n_features, n_classes=3, n_train=15, n_test=5, seed=2)
    problem = amref.MLP((n_features, 5, 4, 3), loss="squared")
    opts = M.MACOptions(mu0=0.5, w_iters=2, z_iters=2, weight_decay=weight_decay)
    state = M.init_state(problem, data, problem.init_params(1, std=0.5), opts)
    state = M.step(state, data, opts)  # move away from the feasible start so every block does something
    W, b, Z = _literal_step(state, data.x_train, data.y_train, opts)
    new = M.step(state, data, opts)
    for got, want in zip(new.W + new.b + new.Z, W + b + Z):
        # the same trials, solved by an eigenbasis here and by explicit solves there: rounding only
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- the claims
def _run(loss, opts, iters, widths=(6, 5, 4, 3), seed=0):
    data = synthetic_dataset(np, n_features=6, n_classes=3, n_train=30, n_test=10, seed=seed)
    problem = amref.MLP(widths, loss=loss)
    return amref.minimize(M.SOLVER, problem, data, opts, max_iter=iters, params=problem.init_params(seed, std=0.5))


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("variant", ["quadratic-penalty", "augmented-lagrangian"])
@pytest.mark.parametrize("loss", ["squared", "cross_entropy", "hinge"])
def test_objective_non_increasing_for_fixed_mu(loss, variant, weight_decay):
    """One μ stage (no schedule, no multiplier step): E_Q (E_A), with the ridge term, never increases."""
    opts = M.MACOptions(mu0=0.5, iters_per_mu=1000, stage_tol=0.0, variant=variant, weight_decay=weight_decay)
    h = _run(loss, opts, 12).history
    assert len(set(h["mu"])) == 1
    obj = h["objective"]
    assert obj[-1] < obj[0]
    assert all(b <= a + 1e-12 * abs(a) for a, b in zip(obj, obj[1:]))


def test_violation_vanishes_along_the_path():
    h = _run("squared", M.MACOptions(mu0=0.1, mu_factor=4.0), 40).history
    assert h["mu"][-1] > h["mu"][0]
    assert max(h["residual"]) > 0
    assert h["residual"][-1] < 1e-3 * max(h["residual"])


def test_no_hidden_layer_is_the_output_fit():
    data = synthetic_dataset(np, n_features=4, n_classes=3, n_train=20, n_test=5, seed=1)
    res = amref.minimize(M.SOLVER, amref.MLP((4, 3), loss="squared"), data, M.MACOptions(), max_iter=2)
    A = np.vstack([data.x_train, np.ones((1, 20))]).T
    sol = np.linalg.lstsq(A, data.y_train.T, rcond=None)[0].T
    np.testing.assert_allclose(res.params[0], sol[:, :4], atol=1e-7)
    assert res.history["residual"] == [0.0, 0.0]


# ----------------------------------------------------------------------------- the path and its stopping rule
def _state(variant="quadratic-penalty"):
    data = synthetic_dataset(np, n_features=4, n_classes=3, n_train=10, n_test=5, seed=0)
    problem = amref.MLP((4, 3, 3), loss="squared")
    opts = M.MACOptions(variant=variant, iters_per_mu=2, stage_tol=1e-3)
    state = M.step(M.init_state(problem, data, problem.init_params(0, std=0.5), opts), data, opts)
    return state, data, opts


def test_mu_grows_after_iters_per_mu_or_when_the_objective_stalls():
    state, _, opts = _state()
    s1 = M.end_iteration(state, {"objective": 10.0, "residual": 1.0}, opts)
    assert (s1.mu, s1.stage_iters) == (opts.mu0, 1)
    s2 = M.end_iteration(s1, {"objective": 5.0, "residual": 1.0}, opts)  # second alternation: stage over
    assert (s2.mu, s2.stage_iters) == (opts.mu0 * opts.mu_factor, 0)
    s3 = M.end_iteration(s1, {"objective": 10.0 * (1 - 1e-4), "residual": 1.0}, dataclasses.replace(opts, iters_per_mu=9))
    assert s3.mu == opts.mu0 * opts.mu_factor  # stalled: the stage ends early
    capped = M.end_iteration(dataclasses.replace(s1, mu=opts.mu_max), {"objective": 10.0, "residual": 1.0}, opts)
    assert capped.mu == opts.mu_max


def test_path_stops_when_feasible_and_stalled():
    state, data, opts = _state()
    s1 = M.end_iteration(state, {"objective": 10.0, "residual": 1.0}, opts)
    done = M.end_iteration(s1, {"objective": 10.0, "residual": 1e-12}, opts)
    assert done.converged and done.mu == s1.mu
    after = M.step(done, data, opts)
    assert after.W is done.W and after.Z is done.Z and after.iteration == done.iteration + 1
    assert M.diagnostics(after, data, opts)["converged"] == 1.0
    not_yet = M.end_iteration(s1, {"objective": 10.0, "residual": 1.0}, opts)  # stalled but infeasible
    assert not not_yet.converged and not_yet.mu > s1.mu


def test_multiplier_step_at_the_end_of_a_stage():
    state, data, opts = _state("augmented-lagrangian")
    s1 = M.end_iteration(state, {"objective": 10.0, "residual": 1.0}, opts)
    s2 = M.end_iteration(s1, {"objective": 9.0, "residual": 1.0}, opts)
    gaps = M.constraint_gaps(state.W, state.b, state.Z, data.x_train, RELU)
    for lam, c in zip(s2.lam, gaps):
        np.testing.assert_allclose(lam, state.mu * c, rtol=1e-14)
    diag = M.diagnostics(s2, data, opts)
    assert diag["objective"] == pytest.approx(diag["penalty_objective"] + sum(float(np.sum(l * c)) for l, c in zip(s2.lam, gaps)))


def test_diagnostics_are_the_penalty_objective_and_the_violation():
    state, data, opts = _state()
    d = M.diagnostics(state, data, opts)
    x = data.x_train
    a1 = _relu(state.W[0] @ x + state.b[0])
    violation = float(np.sum((state.Z[0] - a1) ** 2))
    fit = 0.5 * float(np.sum((state.W[1] @ state.Z[0] + state.b[1] - data.y_train) ** 2))
    assert d["residual"] == pytest.approx(violation, rel=1e-12)
    assert d["objective"] == pytest.approx(fit + 0.5 * state.mu * violation, rel=1e-12)
    assert d["mu"] == state.mu
    ridged = M.diagnostics(state, data, dataclasses.replace(opts, weight_decay=0.7))
    sq = sum(float(np.sum(Wk ** 2)) for Wk in state.W)  # the weights only, not the biases
    assert ridged["objective"] == pytest.approx(fit + 0.5 * state.mu * violation + 0.35 * sq, rel=1e-12)
    assert ridged["fit_loss"] == d["fit_loss"]


# ----------------------------------------------------------------------------- backends and the command line
def test_step_same_on_every_backend(xp):
    data_np = synthetic_dataset(np, n_features=4, n_classes=3, n_train=12, n_test=4, seed=5)
    data = synthetic_dataset(xp, n_features=4, n_classes=3, n_train=12, n_test=4, seed=5)
    problem = amref.MLP((4, 5, 3), loss="cross_entropy")
    ref = amref.minimize(M.SOLVER, problem, data_np, M.MACOptions(), max_iter=3)
    res = amref.minimize(M.SOLVER, problem, data, M.MACOptions(), max_iter=3)
    for got, want in zip(res.params, ref.params):
        assert_close(got, from_host(host(want), xp), rtol=1e-8, atol=1e-10)


def test_cli_trains_mac_on_digits():
    assert amref.cli.main(["train", "--solver", "mac", "--dataset", "digits", "--iters", "3", "--quiet"]) == 0
