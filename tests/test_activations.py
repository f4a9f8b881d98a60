"""Activations: values and derivatives against finite differences, every elementwise subproblem against
brute force on a fine grid, the solvers' monotone quantities for every activation, backprop and the
straight-through estimator against finite differences, the MLP and weights-file records."""

from __future__ import annotations

import json

import numpy as np
import pytest

import amref
from amref import activations as A
from amref import backprop
from amref.backend import from_host, to_host
from amref.problem import MLP, load_params, save_params
from amref.solvers import subproblems
from tests.helpers import synthetic_dataset

NAMES = ["relu", "leaky_relu", "leaky_relu:0.3", "hardtanh", "linear", "sigmoid", "tanh", "step"]
GRID = np.linspace(-20.0, 20.0, 200_001)  # spacing 2e-4; holds the kinks −1, 0, 1


def _objective(h, z, m, a, alpha, beta, zp, delta):
    f = alpha * (z - m) ** 2 + beta * (a - h(z)) ** 2
    return f + delta * (z - zp) ** 2 if delta else f


def _brute_min(name, m, a, alpha, beta, zp, delta):
    """min over the grid, per element (exact for every piece: the grid holds the kinks ±1, 0)."""
    h = A.get(name).value
    hg = h(GRID)
    out = np.empty(m.shape)
    for i in range(m.size):
        out.flat[i] = np.min(_objective(lambda _: hg, GRID, m.flat[i], a.flat[i], alpha, beta,
                                        zp.flat[i] if zp is not None else 0.0, delta))
    return out


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("weights", [(1.0, 1.0, 0.0), (1.0, 1.0, 1.0), (0.05, 5.0, 0.0), (1.0, 10.0, 5.0),
                                     (3.0, 0.2, 0.0)])
def test_prox_is_the_global_minimiser_on_a_fine_grid(xp, rng, name, weights):
    alpha, beta, delta = weights
    m = rng.normal(scale=2.5, size=(2, 12))
    a = rng.normal(scale=1.5, size=(2, 12))
    zp = rng.normal(scale=2.5, size=(2, 12)) if delta else None
    z = A.prox(name, from_host(m, xp), from_host(a, xp), alpha=alpha, beta=beta,
               z_prev=None if zp is None else from_host(zp, xp), delta=delta)
    assert z.shape == m.shape and z.dtype == from_host(m, xp).dtype
    ours = _objective(A.get(name).value, to_host(z), m, a, alpha, beta, zp, delta)
    best = _brute_min(name, m, a, alpha, beta, zp, delta)
    # the grid's minimum is within (α+δ+βL²)·(2e-4)² of the true one; ours may not exceed it
    assert np.all(ours <= best + 1e-6 * (1.0 + np.abs(best))), np.max(ours - best)


def test_prox_finds_the_far_minimum_of_a_two_well_tanh_problem():
    """A(z − c)² + B(a − tanh z)² with B ≫ A has two local minima; the left one is global here."""
    c, a, A_, B = np.array([0.3]), np.array([-0.9]), 0.02, 10.0
    z = A.smooth_prox("tanh", c, a, A_, B)
    f = A_ * (GRID - c[0]) ** 2 + B * (a[0] - np.tanh(GRID)) ** 2
    assert abs(z[0] - GRID[np.argmin(f)]) < 1e-3 and z[0] < -1.0
    # a local-descent solver started at c would stay right of 0: the check is not vacuous
    assert f[np.searchsorted(GRID, 0.3)] > f.min() + 0.1


@pytest.mark.parametrize("compare", ["full", "without_prox"])
def test_generic_piecewise_prox_equals_the_relu_prox(xp, rng, compare):
    m, a, zp = (from_host(rng.normal(size=(4, 30)), xp) for _ in range(3))
    ours = A.prox("relu", m, a, alpha=1.3, beta=0.7, z_prev=zp, delta=0.9, compare=compare)
    ref = subproblems.relu_prox_xp(m, a, alpha=1.3, beta=0.7, z_prev=zp, delta=0.9, compare=compare)
    np.testing.assert_allclose(to_host(ours), to_host(ref), rtol=1e-13, atol=1e-13)


def test_activation_prox_keeps_relu_on_relu_prox(rng):
    m, a = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    np.testing.assert_array_equal(subproblems.activation_prox("relu", m, a, alpha=2.0, beta=0.5),
                                  subproblems.relu_prox(m, a, alpha=2.0, beta=0.5))


def test_step_prox_at_the_open_boundary_returns_a_negative_point():
    """argmin (z − 0.1)² + 10(−1 − step z)²: the infimum is approached as z → 0⁻."""
    z = A.prox("step", np.array([0.1]), np.array([-1.0]), alpha=1.0, beta=10.0)
    assert z[0] < 0 and z[0] > -1e-300
    assert A.get("step").value(z)[0] == -1.0


@pytest.mark.parametrize("name", NAMES)
def test_preimage_is_the_band_set_on_a_fine_grid(xp, rng, name):
    lo = rng.normal(scale=1.2, size=25)
    hi = lo + np.abs(rng.normal(scale=0.8, size=25))
    B1, B2 = (to_host(b) for b in A.preimage(name, from_host(lo, xp), from_host(hi, xp)))
    hg = A.get(name).value(GRID)
    for i in range(lo.size):
        inside = GRID[(hg >= lo[i]) & (hg <= hi[i])]
        if inside.size == 0:
            assert B1[i] > B2[i] or (B1[i] > 20 or B2[i] < -20)
            continue
        assert (B1[i] <= inside[0] + 1e-9) and (B1[i] >= inside[0] - 3e-4 or inside[0] == GRID[0])
        assert (B2[i] >= inside[-1] - 1e-9) and (B2[i] <= inside[-1] + 3e-4 or inside[-1] == GRID[-1])


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_match_finite_differences(name, rng):
    rec = A.get(name)
    z = rng.uniform(-3, 3, size=200)
    z = z[np.min(np.abs(z[:, None] - np.array([-1.0, 0.0, 1.0])), axis=1) > 1e-3]  # away from kinks
    e = 1e-6
    fd = (rec.value(z + e) - rec.value(z - e)) / (2 * e)
    np.testing.assert_allclose(rec.derivative(z), fd, atol=1e-7)
    np.testing.assert_allclose(rec.derivative_from_output(rec.value(z)), fd, atol=1e-7)
    if rec.second_from_output is not None:
        fd2 = (rec.derivative(z + e) - rec.derivative(z - e)) / (2 * e)
        np.testing.assert_allclose(rec.second_from_output(rec.value(z)), fd2, atol=1e-6)
    if rec.lipschitz is not None:
        assert np.max(np.abs(fd)) <= rec.lipschitz + 1e-9


def test_names_specs_and_errors():
    assert A.canonical(["relu", "tanh"]) == "relu,tanh" and A.canonical("leaky_relu") == "leaky_relu:0.01"
    assert A.get("leaky_relu:0.3").value(np.array([-1.0]))[0] == -0.3
    for bad in ("gelu", "leaky_relu:-1", "leaky_relu:x", "relu:2", ""):
        with pytest.raises(ValueError):
            A.canonical(bad)
    assert MLP((3, 4, 5, 2), activation=["tanh", "step"]).activation == "tanh,step"
    with pytest.raises(ValueError, match="2 hidden layers"):
        MLP((3, 4, 5, 2), activation="relu,tanh,step")


# ----------------------------------------------------------------------------- backprop
@pytest.mark.parametrize("act", ["leaky_relu:0.2", "hardtanh", "linear", "sigmoid", "tanh", "tanh,sigmoid"])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared"])
def test_gradient_and_hvp_match_finite_differences(rng, act, loss):
    p = MLP((4, 5, 6, 3), activation=act, loss=loss)
    params = p.init_params(1, std=0.7)
    x, y = rng.normal(size=(4, 7)), np.eye(3)[:, rng.integers(0, 3, 7)]
    v = [rng.normal(size=q.shape) for q in params]
    e = 1e-6
    tape = backprop.forward_backward(p, params, x, y)
    plus = [q + e * w for q, w in zip(params, v)]
    minus = [q - e * w for q, w in zip(params, v)]
    slope = sum(float(np.sum(g * w)) for g, w in zip(tape.grads, v))
    assert slope == pytest.approx((p.loss_value(plus, x, y) - p.loss_value(minus, x, y)) / (2 * e), rel=1e-6, abs=1e-7)
    hv = backprop.hessian_vector_product(p, params, x, y, v)
    gp = backprop.forward_backward(p, plus, x, y).grads
    gm = backprop.forward_backward(p, minus, x, y).grads
    for h, a, b in zip(hv, gp, gm):
        np.testing.assert_allclose(h, (a - b) / (2 * e), rtol=1e-5, atol=1e-6)


def test_straight_through_is_the_gradient_of_the_frozen_surrogate(rng):
    """STE gradient = exact gradient of a_l = step(z_l⁰) + (z_l − z_l⁰) with z⁰ frozen at the current point."""
    p = MLP((4, 6, 5, 3), activation="step", loss="cross_entropy")
    params = p.init_params(2, std=0.8)
    x, y = rng.normal(size=(4, 9)), np.eye(3)[:, rng.integers(0, 3, 9)]
    zs0, _ = p.hidden(params, x)

    def surrogate(P):
        a = x
        for l in range(2):
            z = P[2 * l] @ a + P[2 * l + 1]
            a = A.get("step").value(zs0[l]) + (z - zs0[l])
        return float(amref.losses.get("cross_entropy").value(P[4] @ a + P[5], y))

    tape = backprop.forward_backward(p, params, x, y, straight_through=True)
    plain = backprop.forward_backward(p, params, x, y)
    for k in range(len(params)):
        fd = np.zeros_like(params[k])
        for idx in np.ndindex(params[k].shape):
            P1 = [q.copy() for q in params]
            P2 = [q.copy() for q in params]
            P1[k][idx] += 1e-6
            P2[k][idx] -= 1e-6
            fd[idx] = (surrogate(P1) - surrogate(P2)) / 2e-6
        np.testing.assert_allclose(tape.grads[k], fd, rtol=1e-6, atol=1e-7)
    assert np.all(plain.grads[0] == 0) and np.all(plain.grads[2] == 0)  # the true derivative: nothing flows
    assert np.any(tape.grads[0] != 0)


def test_straight_through_option_reaches_the_baselines():
    data = synthetic_dataset(np, n_train=60, n_test=20)
    problem = MLP((12, 8, 3), activation="step")
    runs = {}
    for ste in (False, True):
        opts = amref.get_solver("adam").options_class(lr=1e-2, straight_through=ste)
        runs[ste] = amref.minimize(amref.get_solver("adam"), problem, data, opts, max_iter=3, seed=0)
    W1 = {ste: to_host(r.params[0]) for ste, r in runs.items()}
    W1_0 = problem.init_params(0)[0]
    np.testing.assert_array_equal(W1[False], W1_0)  # h′ = 0: the first layer never moves
    assert not np.array_equal(W1[True], W1_0)


# ----------------------------------------------------------------------------- solvers
def _tiny(xp):
    data = synthetic_dataset(xp, n_features=6, n_classes=3, n_train=40, n_test=10)
    return data


@pytest.mark.parametrize("name", ["leaky_relu", "hardtanh", "linear", "sigmoid", "tanh", "step"])
def test_taylor_penalty_objective_is_monotone_for_every_activation(name):
    """Every block of Taylor ADMM is an exact minimisation, so E is non-increasing during the warm start
    (λ = 0) — for any h, which fails as soon as one z-step is not the global minimiser."""
    data = _tiny(np)
    problem = MLP((6, 7, 5, 3), activation=name, loss="squared")
    opts = amref.solvers.taylor_admm.TaylorADMMOptions(warm_start_iters=8, gamma=3.0)
    res = amref.minimize(amref.get_solver("taylor-admm"), problem, data, opts, max_iter=8, seed=1)
    obj = np.array(res.history["objective"])
    assert np.all(np.diff(obj) <= 1e-10 * np.abs(obj[:-1]) + 1e-12), obj


@pytest.mark.parametrize("name", ["leaky_relu", "hardtanh", "linear", "sigmoid", "tanh", "step"])
def test_bcd_lifted_objective_is_monotone_for_every_activation(name):
    data = _tiny(np)
    problem = MLP((6, 7, 5, 3), activation=name, loss="squared")
    res = amref.minimize(amref.get_solver("bcd"), problem, data, amref.solvers.bcd.BCDOptions(), max_iter=8, seed=1)
    obj = np.array(res.history["objective"])
    assert np.all(np.diff(obj) <= 1e-10 * np.abs(obj[:-1]) + 1e-12), obj


@pytest.mark.parametrize("name", ["leaky_relu", "hardtanh", "linear", "sigmoid", "tanh", "step"])
def test_mdlam_objective_is_monotone_for_every_activation(name):
    """Lemma 2 (fixed ε, safeguard on): F non-increasing; the z-step is the exact band projection."""
    data = _tiny(np)
    problem = MLP((6, 7, 5, 3), activation=name)
    opts = amref.solvers.mdlam.MDLAMOptions(eps_schedule="constant", eps0=0.5, rho=1.0)
    res = amref.minimize(amref.get_solver("mdlam"), problem, data, opts, max_iter=8, seed=1)
    obj = np.array(res.history["objective"])
    assert np.all(np.diff(obj) <= 1e-10 * np.abs(obj[:-1]) + 1e-12), obj
    assert max(res.history["band_violation"]) <= 1e-12


@pytest.mark.parametrize("solver", ["dladmm", "pdadmm", "pdadmm-g", "mac", "mdlam", "bcd", "taylor-admm"])
@pytest.mark.parametrize("name", ["leaky_relu:0.1", "hardtanh", "sigmoid", "step", "relu,tanh"])
def test_every_am_solver_trains_every_activation(xp, solver, name):
    if solver == "mac" and "," in name:
        pytest.skip("MAC takes one activation for every hidden layer (tested below)")
    data = _tiny(xp)
    spec = amref.get_solver(solver)
    problem = MLP((6, 7, 5, 3), activation=name, loss="squared" if solver in ("mac", "bcd") else "cross_entropy")
    res = amref.minimize(spec, problem, data, spec.options_class(), max_iter=2, seed=0)
    assert res.status.value == "completed" and np.isfinite(res.history["objective"][-1])


def test_mac_refuses_mixed_per_layer_activations():
    with pytest.raises(ValueError, match="one activation"):
        amref.solvers.mac.get_activation("relu,tanh")


def test_dladmm_z_step_uses_the_layers_activation(rng):
    from amref.solvers.dladmm import DlADMMOptions, update_z_hidden

    m, a = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    z = update_z_hidden(m, a, DlADMMOptions(), activation="tanh")
    np.testing.assert_allclose(z, A.smooth_prox("tanh", m, a, 1.0, 1.0, steps=DlADMMOptions().activation_steps))
    assert not np.allclose(z, update_z_hidden(m, a, DlADMMOptions()))


# ----------------------------------------------------------------------------- records
def test_weights_file_records_the_activation(tmp_path):
    problem = MLP((3, 4, 2), activation="tanh")
    params = problem.init_params(0)
    save_params(tmp_path / "w.npz", params, activation=problem.activation)
    back = load_params(tmp_path / "w.npz", problem)
    for p, q in zip(params, back):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="'tanh' network"):
        load_params(tmp_path / "w.npz", MLP((3, 4, 2), activation="relu"))


def test_cli_activation_flag_and_run_record(tmp_path):
    from amref.cli import main

    out = tmp_path / "run.json"
    assert main(["train", "--solver", "pdadmm", "--activation", "hardtanh", "--iters", "2", "--hidden", "8",
                 "--quiet", "--out", str(out), "--save-weights", str(tmp_path / "w.npz")]) == 0
    assert json.loads(out.read_text())["activation"] == "hardtanh"
    assert str(np.load(tmp_path / "w.npz")["activation"]) == "hardtanh"


def test_resume_of_a_non_relu_run_gives_the_uninterrupted_iterates(tmp_path):
    data = _tiny(np)
    problem = MLP((6, 7, 5, 3), activation="tanh,hardtanh")
    spec = amref.get_solver("pdadmm")
    opts = spec.options_class(rho=1.0, nu=1.0)
    straight = amref.minimize(spec, problem, data, opts, max_iter=4, seed=2)
    ckpt = tmp_path / "run.npz"
    amref.minimize(spec, problem, data, opts, max_iter=2, seed=2, checkpoint=ckpt, checkpoint_every=2)
    resumed = amref.minimize(spec, problem, data, opts, max_iter=4, seed=2, resume=ckpt)
    for a, b in zip(straight.params, resumed.params):
        np.testing.assert_array_equal(a, b)
    assert resumed.state.blocks[0].activation == "tanh" and resumed.state.blocks[1].activation == "hardtanh"


def test_greedy_stages_keep_the_layers_activations():
    from amref.solvers.greedy import stage_problem

    problem = MLP((6, 5, 5, 5, 3), activation="tanh,step,relu")
    assert stage_problem(problem, 2).activation == "tanh" and stage_problem(problem, 3).activation == "tanh,step"
    assert stage_problem(MLP((6, 5, 5, 3), activation="hardtanh"), 2).activation == "hardtanh"


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "hardtanh", "step", "leaky_relu"])
def test_mdlam_band_step_is_the_projection_onto_the_band_or_keeps_z(rng, name):
    """clip(m) onto {z : |a − h(z)| ≤ ε} by brute force; where that set is empty z^k is kept."""
    from amref.solvers.mdlam import MDLAMOptions, band_z

    m, a, zk = rng.normal(scale=3, size=40), rng.normal(scale=1.5, size=40), rng.normal(size=40)
    eps = 0.3
    z = band_z(m, a, eps, MDLAMOptions(), activation=name, z_prev=zk)
    grid = np.linspace(-400.0, 400.0, 800_001)  # leaky ReLU's band reaches z = (a ± ε)/0.01
    hg = A.get(name).value(grid)
    for i in range(m.size):
        feasible = grid[np.abs(a[i] - hg) <= eps]
        if feasible.size == 0:
            assert z[i] == zk[i]
            continue
        best = feasible[np.argmin(np.abs(feasible - m[i]))]
        assert abs(z[i] - best) <= 1.5e-3 or (abs(m[i] - z[i]) <= abs(m[i] - best) + 1e-12)
        assert abs(a[i] - A.get(name).value(np.array([z[i]]))[0]) <= eps + 1e-12
