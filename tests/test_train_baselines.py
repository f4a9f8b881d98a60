"""The baselines as solvers: registry, training loop, shuffling, checkpoints, history, AdAdaGrad, presets."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import amref
from amref import backprop, optim
from amref.optim import adadagrad
from amref.optim.presets import PRESETS
from helpers import synthetic_dataset

ISSUE_NAMES = ("sgd momentum nesterov adagrad adadelta rmsprop adam adamw adagrad-norm adadagrad sgd-sai adan "
               "adabelief diffgrad adahessian exadam lars lamb lion soaa adafisher").split()

MLP_SETTINGS = {  # learning rates that train the 12-16-3 net below in 30 full-batch epochs (mean loss)
    "sgd": {"lr": 1.0}, "momentum": {"lr": 0.3}, "nesterov": {"lr": 0.3}, "adagrad": {"lr": 0.1},
    "adadelta": {"lr": 3.0}, "rmsprop": {"lr": 3e-3}, "adam": {"lr": 0.03}, "adamw": {"lr": 0.03},
    "adagrad-norm": {"lr": 1.0}, "adadagrad": {"lr": 1.0}, "sgd-sai": {"lr": 0.3}, "adan": {"lr": 0.03},
    "adabelief": {"lr": 0.1}, "diffgrad": {"lr": 0.03}, "adahessian": {"lr": 0.1}, "exadam": {"lr": 3e-3},
    "lars": {"lr": 3.0, "trust_coefficient": 0.02}, "lamb": {"lr": 0.1}, "lion": {"lr": 0.01},
    "soaa": {"lr": 0.03}, "adafisher": {"lr": 3e-3},
}


def setup(xp=None, dtype="float64", **kw):
    if xp is None:
        import array_api_compat.numpy as xp
    data = synthetic_dataset(xp, dtype=dtype, **kw)
    return amref.MLP((data.n_features, 16, data.n_classes)), data


def test_names_match_the_issue_and_get_solver_finds_baselines():
    assert amref.baseline_names() == ISSUE_NAMES
    for name in ISSUE_NAMES:
        spec = amref.get_solver(name)
        assert spec.name == name and spec.options_class is optim.options_class(name)
    assert amref.get_solver("dladmm").name == "dladmm"
    with pytest.raises(ValueError, match="adam"):
        amref.get_solver("adamax")


@pytest.mark.parametrize("name", ISSUE_NAMES)
def test_every_baseline_trains_a_small_mlp(name):
    mlp, data = setup()
    options = optim.options_class(name)(**MLP_SETTINGS[name])
    start = mlp.loss_value(mlp.init_params(0), data.x_train, data.y_train)
    result = amref.minimize(amref.get_solver(name), mlp, data, options, max_iter=30)
    h = result.history
    assert result.success and result.nit == 30
    assert h["objective"][-1] < 0.5 * start
    assert h["residual"] == [0.0] * 30
    assert h["train_accuracy"][-1] > 0.8
    # objective = summed training loss (no coupled decay here) = N × the driver's mean train loss
    assert h["objective"][-1] == pytest.approx(data.n_train * h["train_loss"][-1], rel=1e-12)


@pytest.mark.parametrize("name", ISSUE_NAMES)
def test_every_baseline_runs_minibatches_through_the_array_api(xp, name):
    mlp, data = setup(xp, n_train=50, n_test=10)
    options = optim.options_class(name)(batch_size=16, **MLP_SETTINGS[name])
    result = amref.minimize(amref.get_solver(name), mlp, data, options, max_iter=2)
    assert result.success
    for p, shape in zip(result.params, mlp.param_shapes()):
        assert tuple(p.shape) == shape and p.dtype == xp.float64
        amref.backend.namespace(p, data.x_train)  # same namespace as the data
    assert result.history["steps"][-1] >= 2


def test_float32_stays_float32():
    mlp, data = setup(dtype="float32")
    for name in ("adam", "adahessian", "adafisher", "soaa", "adagrad-norm"):
        result = amref.minimize(amref.get_solver(name), mlp, data, max_iter=2)
        assert all(p.dtype == np.float32 for p in result.params), name


def test_full_batch_epoch_is_one_gradient_step():
    mlp, data = setup()
    p0 = mlp.init_params(3)
    for reduction in ("sum", "mean"):
        options = optim.options_class("sgd")(lr=0.01, reduction=reduction)
        result = amref.minimize(amref.get_solver("sgd"), mlp, data, options, max_iter=1, params=p0)
        _, g = backprop.loss_and_grad(mlp, p0, data.x_train, data.y_train, reduction)
        for got, p, gi in zip(result.params, p0, g):
            np.testing.assert_allclose(got, p - 0.01 * gi, rtol=1e-14)
        assert result.history["steps"] == [1.0] and result.history["samples"] == [float(data.n_train)]


def test_minibatch_epoch_follows_the_seeded_shuffle():
    mlp, data = setup()
    p0 = mlp.init_params(4)
    options = optim.options_class("momentum")(lr=0.05, batch_size=32, shuffle_seed=7)
    result = amref.minimize(amref.get_solver("momentum"), mlp, data, options, max_iter=2, params=p0)
    # the same epochs by hand: permutation from the seeded host generator, batches of 32, a last one of 24
    rng = np.random.default_rng(7)
    opt = optim.optimizer("momentum", options, is_bias=[False, True, False, True])
    params, state = list(p0), None
    state = opt.init(params)
    for _ in range(2):
        order = rng.permutation(data.n_train)
        for start in range(0, data.n_train, 32):
            idx = order[start:start + 32]
            _, g = backprop.loss_and_grad(mlp, params, data.x_train[:, idx], data.y_train[:, idx], "mean")
            deltas, state = opt.update(g, state, params)
            params = optim.apply_updates(params, deltas)
    for got, want in zip(result.params, params):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    assert result.history["steps"] == [4.0, 8.0]  # ⌈120/32⌉ = 4 updates per epoch
    assert result.history["batch_size"] == [32.0, 32.0]
    other = amref.minimize(amref.get_solver("momentum"), mlp, data, dataclasses.replace(options, shuffle_seed=8),
                           max_iter=2, params=p0)
    assert not np.allclose(other.params[0], result.params[0])


@pytest.mark.parametrize("name, fields", [
    ("adam", {"batch_size": 40, "lr": 0.01}),
    ("adahessian", {"batch_size": 40, "lr": 0.1}),            # the generator also draws the probes
    ("adadagrad", {"batch_size": 4, "eta": 0.5, "max_batch_size": 60}),  # the batch grows mid-run
    ("soaa", {"lr": 0.01}),
    ("adafisher", {"update_every": 3, "lr": 0.003}),
    ("lars", {"weight_decay": 1e-3, "lr": 1.0}),
])
def test_resume_reproduces_the_uninterrupted_run(tmp_path, name, fields):
    mlp, data = setup()
    spec = amref.get_solver(name)
    options = optim.options_class(name)(**fields)
    straight = amref.minimize(spec, mlp, data, options, max_iter=4)
    ckpt = tmp_path / "run.npz"
    amref.minimize(spec, mlp, data, options, max_iter=2, checkpoint=ckpt)
    resumed = amref.minimize(spec, mlp, data, max_iter=4, resume=ckpt)
    for a, b in zip(straight.params, resumed.params):
        np.testing.assert_array_equal(a, b)
    for key in ("objective", "batch_size", "steps", "epoch_loss"):
        assert straight.history[key] == resumed.history[key], key


def test_objective_includes_the_coupled_l2_penalty_in_summed_units():
    mlp, data = setup()
    n = data.n_train
    for reduction, batch, scale in (("mean", None, n), ("sum", None, 1.0), ("sum", 30, n / 30)):
        options = optim.options_class("sgd")(lr=1e-3, weight_decay=0.1, reduction=reduction, batch_size=batch)
        result = amref.minimize(amref.get_solver("sgd"), mlp, data, options, max_iter=1)
        p = result.params
        weights_sq = sum(float((w**2).sum()) for w in p[0::2])  # biases are not decayed
        expected = mlp.loss_value(p, data.x_train, data.y_train) + scale * 0.05 * weights_sq
        assert result.history["objective"][0] == pytest.approx(expected, rel=1e-12)


def test_history_reports_the_scheduled_learning_rate_and_epoch_loss():
    mlp, data = setup()
    options = optim.options_class("adam")(lr=0.1, schedule="step", decay_steps=2, decay_rate=0.5, batch_size=60)
    result = amref.minimize(amref.get_solver("adam"), mlp, data, options, max_iter=3)
    # 2 updates per epoch; the last update of epoch e is k = 2e − 1: γ = 0.1 · 0.5^⌊k/2⌋
    assert result.history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert all(v > 0 for v in result.history["epoch_loss"])
    assert all(v > 0 for v in result.history["grad_norm"])


def test_adam_does_not_depend_on_the_reduction_when_eps_is_zero():
    """Adam's step is invariant to a constant factor on the loss: summed and mean runs coincide."""
    mlp, data = setup()
    runs = [amref.minimize(amref.get_solver("adam"), mlp, data,
                           optim.options_class("adam")(lr=0.01, eps=0.0, reduction=r), max_iter=3)
            for r in ("sum", "mean")]
    for a, b in zip(*(r.params for r in runs)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------- AdAdaGrad's batch-size tests
def brute_force_suggestion(per_sample, test, eta=0.3, theta=0.5, nu=1.0):
    """The tests of ``adadagrad`` from explicit per-sample gradients (rows of ``per_sample``)."""
    b = per_sample.shape[0]
    g = per_sample.mean(axis=0)
    gg = g @ g
    if test == "norm":
        return ((per_sample - g) ** 2).sum() / (b - 1) / (eta**2 * gg)
    if test == "coordinate":
        var = ((per_sample - g) ** 2).sum(axis=0) / (b - 1)
        return np.max(var / (eta**2 * g**2))
    dots = per_sample @ g
    ip = dots.var(ddof=1) / (theta**2 * gg**2)
    if test == "inner_product":
        return ip
    ortho = per_sample - np.outer(dots / gg, g)
    return max(ip, (ortho**2).sum() / (b - 1) / (nu**2 * gg))


@pytest.mark.parametrize("test", ["norm", "inner_product", "augmented", "coordinate"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_batch_size_tests_match_per_sample_gradients(test, reduction):
    mlp, data = setup(n_train=20)
    params = mlp.init_params(5, std=0.5)
    x, y = data.x_train[:, :9], data.y_train[:, :9]
    tape = backprop.forward_backward(mlp, params, x, y, reduction)
    per_sample = np.stack([np.concatenate([np.ravel(g) for g in backprop.loss_and_grad(
        mlp, params, x[:, i:i + 1], y[:, i:i + 1])[1]]) for i in range(9)])
    options = optim.options_class("adadagrad")(test=test, eta=0.3, theta=0.5, nu=1.0)
    got = adadagrad.suggested_batch_size(tape, options)
    want = brute_force_suggestion(per_sample, test)
    if test == "coordinate":  # dead units: zero variance and zero mean are skipped; any ḡ_j = 0 with variance → inf
        nonzero = per_sample.var(axis=0) > 0
        g = per_sample.mean(axis=0)
        want = math.inf if np.any(nonzero & (g == 0)) else np.max(
            ((per_sample - g) ** 2).sum(axis=0)[nonzero] / 8 / (0.09 * g[nonzero] ** 2))
    assert got == pytest.approx(want, rel=1e-9)


def test_batch_grows_never_shrinks_and_stops_at_the_cap():
    mlp, data = setup()
    options = optim.options_class("adadagrad")(batch_size=2, eta=1.0, max_batch_size=50)
    result = amref.minimize(amref.get_solver("adadagrad"), mlp, data, options, max_iter=6)
    sizes = result.history["batch_size"]
    assert sizes[0] > 2 and all(b1 >= b0 for b0, b1 in zip(sizes, sizes[1:])) and sizes[-1] == 50
    tape = backprop.forward_backward(mlp, result.params, data.x_train[:, :50], data.y_train[:, :50])
    assert adadagrad.next_batch_size(tape, 50, options, data.n_train) == 50  # at the cap: no test
    assert adadagrad.next_batch_size(tape, 7, dataclasses.replace(options, eta=1e6), data.n_train) == 7


# ----------------------------------------------------------------------------- presets
def test_presets_hold_the_papers_learning_rates():
    assert optim.preset("dladmm", "sgd").lr == 1e-6
    assert optim.preset("dladmm", "adadelta").lr == 0.1
    assert (optim.preset("dladmm", "adadelta").rho, optim.preset("dladmm", "adadelta").eps) == (0.95, 1e-7)  # Keras
    assert optim.preset("pdadmm", "adadelta").rho == 0.9  # torch
    assert optim.preset("mdlam-pubmed", "adam").lr == 5e-4
    assert optim.preset("pdadmm", "adagrad").lr == 0.1
    assert optim.preset("pdadmm-g-100-flickr", "sgd").lr == 1e-3
    assert optim.preset("pdadmm-g-500-pubmed", "adadelta").lr == 1e-4
    for name in optim.preset_names():
        for solver in ("sgd", "adagrad", "adadelta", "adam"):
            o = optim.preset(name, solver)
            assert o.reduction == "sum" and o.batch_size is None and isinstance(o, optim.options_class(solver))
    assert len(PRESETS) == 1 + 4 + 1 + 18
    assert optim.preset("dladmm", "adam", reduction="mean").reduction == "mean"
    with pytest.raises(ValueError, match="preset"):
        optim.preset("dladmm-2", "adam")
    with pytest.raises(ValueError, match="lion"):
        optim.preset("dladmm", "lion")


# ----------------------------------------------------------------------------- command line
def test_command_line_maps_the_flags_onto_a_baseline(tmp_path):
    import json

    from amref.cli import main

    out = tmp_path / "adam.json"
    assert main(["train", "--solver", "adamw", "--iters", "3", "--hidden", "16", "--quiet", "--out", str(out),
                 "--lr", "0.01", "--weight-decay", "0.001", "--batch-size", "64",
                 "--option", "schedule=cosine", "--option", "decay_steps=50"]) == 0
    run = json.loads(out.read_text())
    assert run["solver"] == "adamw" and run["status"] == "completed"
    o = run["options"]
    assert (o["lr"], o["weight_decay"], o["batch_size"], o["schedule"], o["decay_steps"]) == (
        0.01, 0.001, 64, "cosine", 50)
    assert run["history"]["batch_size"] == [64.0] * 3 and run["history"]["residual"] == [0.0] * 3
    assert main(["train", "--solver", "adam", "--iters", "1", "--quiet", "--option", "b1=1.5"]) != 0
