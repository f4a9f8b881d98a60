"""The ``Loss`` record of every output loss against independent truth, and every solver and baseline on
every loss its math allows: central differences for the gradient and the Hessian-vector product,
``scipy.optimize.minimize`` for the prox, the papers' monotone quantities for the AM solvers."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.optimize as so

import amref
from amref import losses, optim
from amref.backend import from_host
from amref.cli import main
from amref.data import one_hot
from amref.problem import MLP
from amref.solvers import dladmm
from amref.solvers.subproblems import ZLOptions, loss_prox
from helpers import assert_close, synthetic_dataset

NAMES = tuple(losses.LOSSES)
SMOOTH = tuple(name for name in NAMES if losses.get(name).smooth)
C, N = 3, 4


def tiny(seed, scale=2.0):
    """Random ``z`` (C × N) and one-hot ``y``; z keeps away from the hinge's kinks at 0 and 1."""
    rng = np.random.default_rng(seed)
    y = one_hot(rng.integers(0, C, N), C)
    z = scale * rng.normal(size=(C, N))
    z = np.where(np.abs(z) < 0.05, z + 0.1, z)
    z = np.where(np.abs(z - 1.0) < 0.05, z + 0.1, z)
    return z, y


# ----------------------------------------------------------------------------- the record itself
def test_get_is_the_one_lookup():
    assert set(NAMES) == {"cross_entropy", "squared", "hinge"}
    for name in NAMES:
        record = losses.get(name)
        assert record.name == name and losses.get(record) is record
    assert SMOOTH == ("cross_entropy", "squared")
    assert losses.get("hinge").lipschitz is None and losses.get("cross_entropy").prox is None
    with pytest.raises(ValueError, match="unknown loss 'logistic'"):
        losses.get("logistic")


@pytest.mark.parametrize("name", NAMES)
def test_grad_matches_central_differences(name):
    loss = losses.get(name)
    z, y = tiny(1)
    h = 1e-6
    fd = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[idx] = h
        fd[idx] = (float(loss.value(z + e, y)) - float(loss.value(z - e, y))) / (2 * h)
    np.testing.assert_allclose(loss.grad(z, y), fd, rtol=1e-7, atol=1e-8)
    value, grad = loss.value_and_grad(z, y)
    assert float(value) == pytest.approx(float(loss.value(z, y)), rel=1e-14)
    np.testing.assert_allclose(grad, loss.grad(z, y), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_hvp_matches_differences_of_gradients(name):
    """``hvp(z, y, v) = (∇R(z + hv) − ∇R(z − hv)) / 2h``; for the hinge both sides are 0 off the kinks."""
    loss = losses.get(name)
    z, y = tiny(2)
    rng = np.random.default_rng(3)
    for _ in range(3):
        v = rng.normal(size=z.shape)
        h = 1e-5 if name != "hinge" else 1e-3  # the hinge's gradient is piecewise constant
        fd = (loss.grad(z + h * v, y) - loss.grad(z - h * v, y)) / (2 * h)
        got = loss.hvp(z, y, v)
        assert got.shape == v.shape and got is not v
        np.testing.assert_allclose(got, fd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_hvp_on_every_backend(xp, name):
    loss = losses.get(name)
    z, y = tiny(4)
    v = np.random.default_rng(5).normal(size=z.shape)
    got = loss.hvp(from_host(z, xp), from_host(y, xp), from_host(v, xp))
    assert_close(got, from_host(loss.hvp(z, y, v), xp))


@pytest.mark.parametrize("name", SMOOTH)
def test_lipschitz_constant_bounds_the_gradient(name):
    """‖∇R(z₁) − ∇R(z₂)‖ ≤ H‖z₁ − z₂‖ on random pairs (attained for the squared loss)."""
    loss = losses.get(name)
    rng = np.random.default_rng(6)
    y = one_hot(rng.integers(0, C, 50), C)
    ratios = []
    for _ in range(200):
        z1 = rng.normal(size=(C, 50))
        z2 = z1 + 1e-4 * rng.normal(size=z1.shape)
        ratios.append(np.linalg.norm(loss.grad(z1, y) - loss.grad(z2, y)) / np.linalg.norm(z1 - z2))
    assert max(ratios) <= loss.lipschitz + 1e-9
    if name == "squared":
        assert max(ratios) == pytest.approx(1.0, rel=1e-12)


def _scipy_prox(name, c, y, rho):
    """The prox by ``scipy.optimize.minimize``: BFGS for the smooth losses; for the hinge its epigraph
    form ``min Σ t + ρ/2‖z − c‖²`` s.t. ``t ≥ 1 − z`` (y = 1) or ``t ≥ z`` (y = 0), ``t ≥ 0`` (SLSQP)."""
    n = c.size
    if name != "hinge":
        value = losses.get(name).value

        def f(v):
            return float(value(v.reshape(c.shape), y)) + 0.5 * rho * np.sum((v - c.ravel()) ** 2)

        return so.minimize(f, c.ravel(), method="BFGS", options={"gtol": 1e-10}).x.reshape(c.shape)
    yy = y.ravel()

    def obj(w):
        return np.sum(w[n:]) + 0.5 * rho * np.sum((w[:n] - c.ravel()) ** 2)

    cons = [{"type": "ineq", "fun": lambda w: w[n:] - np.where(yy > 0.5, 1.0 - w[:n], w[:n])},
            {"type": "ineq", "fun": lambda w: w[n:]}]
    w0 = np.concatenate([c.ravel(), np.ones(n)])
    res = so.minimize(obj, w0, method="SLSQP", constraints=cons, options={"ftol": 1e-14, "maxiter": 500})
    assert res.success, res.message
    return res.x[:n].reshape(c.shape)


@pytest.mark.parametrize("rho", [0.3, 1.0, 4.0])
@pytest.mark.parametrize("name", NAMES)
def test_prox_matches_scipy(name, rho):
    rng = np.random.default_rng(7)
    y = one_hot(rng.integers(0, C, N), C)
    c = 1.5 * rng.normal(size=(C, N))
    want = _scipy_prox(name, c, y, rho)
    for method in ("newton", "fista"):
        zl = ZLOptions(method=method, fista_tol=1e-14, fista_max_iter=20000)
        got, info = loss_prox(name, c, y, rho, options=zl)
        np.testing.assert_allclose(got, want, atol=2e-6)
        assert info.converged and (info.iterations == 0) == (losses.get(name).prox is not None)
    if losses.get(name).prox is not None:  # the closed form is the record's, reached through the one lookup
        np.testing.assert_array_equal(losses.get(name).prox(c, y, rho), loss_prox(losses.get(name), c, y, rho)[0])


# ----------------------------------------------------------------------------- baselines
def _tiny_data():
    return synthetic_dataset(np, n_features=6, n_classes=3, n_train=48, n_test=12, seed=2)


BASELINE_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.05, "adadelta": 1.0, "rmsprop": 1e-3,
               "adam": 0.01, "adamw": 0.01, "adagrad-norm": 0.3, "adadagrad": 0.3, "sgd-sai": 0.05, "adan": 0.01,
               "adabelief": 0.01, "diffgrad": 0.01, "adahessian": 0.03, "exadam": 1e-3, "lars": 1.0,
               "lamb": 0.01, "lion": 3e-3, "soaa": 0.01, "adafisher": 1e-3}


@pytest.mark.parametrize("loss", NAMES)
@pytest.mark.parametrize("name", amref.baseline_names())
def test_every_baseline_trains_with_every_loss(name, loss):
    """Two epochs of three mini-batches; the smooth losses' summed objective decreases; the history's
    ``objective`` is N × the driver's mean training loss for every loss (no coupled decay here)."""
    data = _tiny_data()
    problem = MLP((6, 8, 3), loss=loss)
    options = optim.options_class(name)(lr=BASELINE_LR[name], batch_size=16)
    start = problem.loss_value(problem.init_params(0), data.x_train, data.y_train)
    result = amref.minimize(amref.get_solver(name), problem, data, options, max_iter=2, seed=0)
    h = result.history
    assert result.success and result.nit == 2
    assert all(math.isfinite(v) for v in h["objective"])
    assert h["objective"][-1] == pytest.approx(data.n_train * h["train_loss"][-1], rel=1e-12)
    if loss in SMOOTH:
        assert h["objective"][-1] < start


def test_cli_trains_a_baseline_with_the_squared_and_hinge_losses(tmp_path):
    for loss in ("squared", "hinge"):
        out = tmp_path / f"{loss}.json"
        assert main(["train", "--solver", "adam", "--loss", loss, "--dataset", "digits", "--iters", "2",
                     "--quiet", "--out", str(out)]) == 0
        assert out.exists()


# ----------------------------------------------------------------------------- AM solvers
ALLOWED = {"dladmm": SMOOTH, "mdlam": NAMES, "pdadmm": NAMES, "bcd": NAMES, "taylor-admm": NAMES}


@pytest.mark.parametrize("solver, loss", [(s, loss) for s, allowed in ALLOWED.items() for loss in allowed])
def test_am_solvers_run_every_loss_they_take(solver, loss):
    data = _tiny_data()
    result = amref.minimize(amref.get_solver(solver), MLP((6, 8, 3), loss=loss), data, max_iter=2, seed=0)
    assert result.success and all(math.isfinite(v) for v in result.history["objective"])


def test_dladmm_refuses_the_hinge_in_one_line():
    data = _tiny_data()
    with pytest.raises(ValueError, match=r"dlADMM needs a loss with a Lipschitz gradient.*'hinge'"):
        amref.minimize(amref.get_solver("dladmm"), MLP((6, 8, 3), loss="hinge"), data, max_iter=1)
    assert dladmm.required_rho("squared") == 2.0 and dladmm.required_rho() == 1.0
    with pytest.raises(ValueError, match="hinge"):
        dladmm.required_rho("hinge")


def test_dladmm_squared_loss_dual_identity_and_monotone_lagrangian():
    """Lemma B.2 for R = ½‖z − y‖²: ∇R(z_L) + u = z_L − y + u = 0 after every iteration; Property 2:
    L_ρ non-increasing for ρ > 2H = 2."""
    data = synthetic_dataset(np, n_train=60, n_test=10, seed=3)
    gaps = []

    def check(info):
        s = info.state
        gaps.append(float(np.max(np.abs(s.z[-1] - data.y_train + s.u))))

    opts = dladmm.DlADMMOptions(rho=3.0, nu=0.5, rho_schedule="constant")
    res = amref.minimize(amref.get_solver("dladmm"), MLP((12, 10, 8, 3), loss="squared"), data, opts, max_iter=30,
                         callback=check)
    assert max(gaps) < 1e-12
    obj = np.array(res.history["objective"])
    assert np.all(np.diff(obj) <= 1e-10 * np.abs(obj[:-1])), np.diff(obj).max()


@pytest.mark.parametrize("loss", ["squared", "hinge"])
def test_mdlam_F_non_increasing_for_other_losses(loss):
    """Lemma 2 (F non-increasing for fixed ε) needs only an exact (here closed-form) z_L block."""
    data = synthetic_dataset(np, n_features=6, n_classes=3, n_train=40, n_test=10, seed=0)
    opts = amref.get_solver("mdlam").options_class(rho=0.1, eps0=1.0, eps_schedule="constant")
    r = amref.minimize(amref.get_solver("mdlam"), MLP((6, 7, 7, 3), loss=loss), data, opts, max_iter=30, seed=1)
    F = np.array(r.history["objective"])
    assert np.all(np.diff(F) <= 1e-12 * np.abs(F[:-1])), np.max(np.diff(F))
    assert F[-1] < F[0]


@pytest.mark.parametrize("loss", ["squared", "hinge"])
def test_pdadmm_objective_non_increasing_for_other_losses(loss):
    """Lemma 1 (ρ > 4ν ⇒ L_ρ non-increasing) asks nothing of R but an exact z_L block."""
    data = synthetic_dataset(np, n_features=6, n_classes=3, n_train=40, n_test=10, seed=0)
    opts = amref.get_solver("pdadmm").options_class(rho=1.0, nu=0.2)
    r = amref.minimize(amref.get_solver("pdadmm"), MLP((6, 7, 7, 3), loss=loss), data, opts, max_iter=40, seed=2)
    obj = np.array(r.history["objective"])
    assert np.all(np.diff(obj) <= 1e-10 * np.abs(obj[:-1])), np.max(np.diff(obj))
    assert obj[-1] < obj[0]
    assert r.state.blocks[-1].loss == loss


def test_am_objectives_use_the_problems_loss():
    """The objective an AM solver reports after its first iteration contains R(z_L) of the problem's loss:
    the same state evaluated with another loss differs by exactly R_other − R."""
    data = _tiny_data()
    res = amref.minimize(amref.get_solver("mdlam"), MLP((6, 8, 3), loss="hinge"), data, max_iter=1, seed=0)
    s = res.state
    F = amref.solvers.mdlam.objective(s, data.y_train, amref.get_solver("mdlam").options_class())
    diff = float(losses.hinge_loss(s.z[-1], data.y_train)) - float(losses.squared_loss(s.z[-1], data.y_train))
    F_sq = amref.solvers.mdlam.objective(dataclasses.replace(s, loss="squared"), data.y_train,
                                         amref.get_solver("mdlam").options_class())
    assert F - F_sq == pytest.approx(diff, rel=1e-12)
