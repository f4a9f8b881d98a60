"""Regression: real-valued targets through the data layer, R²/MSE against scikit-learn's metrics, every AM
solver and a baseline fitting a smooth target, the bundled diabetes data."""

from __future__ import annotations

import numpy as np
import pytest

import amref
from amref.backend import from_host
from amref.data import Dataset
from amref.problem import MLP


def _regression_data(xp=np, n_train=80, n_test=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5, n_train + n_test))
    y = np.stack([np.sin(x[0]) + 0.5 * x[1] * x[2], x[3] - 0.3 * x[4] ** 2])
    y = y + 0.05 * rng.normal(size=y.shape)
    mv = lambda a: from_host(a, xp)  # noqa: E731
    return Dataset("toy", mv(x[:, :n_train]), mv(y[:, :n_train]), mv(x[:, n_train:]), mv(y[:, n_train:]),
                   task="regression")


def test_scores_match_sklearn_metrics(xp, rng):
    metrics = pytest.importorskip("sklearn.metrics")
    problem = MLP((5, 6, 2), loss="squared", task="regression", activation="tanh")
    data = _regression_data(xp)
    params = problem.init_params(3, xp=xp)
    s = problem.scores(params, data.x_test, data.y_test)
    z = np.asarray(amref.backend.to_host(problem.forward(params, data.x_test))).T
    y = np.asarray(amref.backend.to_host(data.y_test)).T
    assert s["r2"] == pytest.approx(metrics.r2_score(y, z), rel=1e-12)
    assert s["mse"] == pytest.approx(metrics.mean_squared_error(y, z), rel=1e-12)
    assert s["loss"] == pytest.approx(0.5 * np.sum((z - y) ** 2) / y.shape[0], rel=1e-12)


def test_regression_data_and_problem_checks():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 10)), rng.normal(size=(1, 10))
    Dataset("r", x, y, task="regression")
    with pytest.raises(ValueError, match="one-hot"):
        Dataset("r", x, y)
    with pytest.raises(ValueError, match="NaN or inf"):
        Dataset("r", x, np.full((1, 10), np.nan), task="regression")
    with pytest.raises(ValueError, match="squared loss"):
        MLP((3, 1), task="regression")


@pytest.mark.parametrize("solver", ["dladmm", "pdadmm", "mdlam", "bcd", "taylor-admm", "mac", "adam"])
def test_every_solver_fits_a_smooth_target(solver):
    data = _regression_data()
    spec = amref.get_solver(solver)
    problem = MLP((5, 24, 2), loss="squared", task="regression", activation="tanh")
    options = {"dladmm": dict(rho=1.0, nu=1.0), "pdadmm": dict(rho=1.0, nu=1.0), "mdlam": {},
               "adam": dict(lr=1e-2)}.get(solver, {})
    start = problem.scores(problem.init_params(0), data.x_train, data.y_train)["mse"]
    res = amref.minimize(spec, problem, data, spec.options_class(**options), max_iter=40, seed=0)
    assert res.history["train_mse"][-1] < 0.7 * start
    assert np.isnan(res.history["train_accuracy"][-1]) and np.isfinite(res.history["test_r2"][-1])


def test_diabetes_is_bundled_and_standardised():
    pytest.importorskip("sklearn")
    data = amref.load_dataset("diabetes")
    assert data.task == "regression" and data.x_train.shape == (10, 353) and data.y_test.shape == (1, 89)
    np.testing.assert_allclose(data.y_train.mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.x_train.std(axis=1), 1.0, rtol=1e-12)
    assert "diabetes" in amref.data.dataset_names()


def test_the_command_line_reports_r2_for_a_regression_run(capsys):
    from amref.cli import main

    assert main(["train", "--dataset", "diabetes", "--iters", "2", "--hidden", "8"]) == 0
    out = capsys.readouterr().out
    assert "train R²" in out.splitlines()[-1] and "acc" not in out.splitlines()[-1]
    header = next(line for line in out.splitlines() if line.split()[:1] == ["iter"])
    assert "R²" in header and "acc" not in header
