"""The worked example of docs/guides/new_solver.md is a real solver that passes the solver checks."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import amref
from helpers import host, synthetic_dataset

PATH = Path(__file__).resolve().parents[2] / "docs" / "guides" / "toy_solver.py"


def load():
    spec = importlib.util.spec_from_file_location("toy_solver", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


toy = load()


def test_is_about_sixty_lines():
    code = [l for l in PATH.read_text().splitlines() if l.strip()]
    assert len(code) <= 70


def problem_and_data(xp):
    data = synthetic_dataset(xp, n_features=6, n_classes=3, n_train=40, n_test=10, seed=1)
    return amref.MLP((6, 5, 3), loss="squared"), data


def test_runs_through_the_driver_with_a_non_increasing_objective(xp):
    problem, data = problem_and_data(xp)
    result = amref.minimize(toy.SOLVER, problem, data, toy.ToyOptions(alpha=0.5), max_iter=8)
    assert result.success and result.nit == 8
    objective = np.asarray(result.history["objective"])
    assert np.all(np.diff(objective) <= 1e-10 * objective[:-1])
    assert objective[-1] < objective[0]


def test_step_is_pure_and_the_subproblem_is_solved(rng):
    import array_api_compat.numpy as xp

    problem, data = problem_and_data(xp)
    params = problem.init_params(seed=0, xp=xp)
    state = toy.init_state(problem, data, params, toy.ToyOptions())
    before = [host(a).copy() for a in state.params]
    new = toy.step(state, data, toy.ToyOptions(alpha=0.7))
    assert all(np.array_equal(b, host(a)) for b, a in zip(before, state.params))  # input untouched
    # the gradient of ½‖Y − W H‖² + (α/2)‖W − W^k‖² vanishes at the new W
    Wb_old = np.concatenate([before[-2], before[-1]], axis=1)
    Wb = np.concatenate([host(new.params[-2]), host(new.params[-1])], axis=1)
    H, Y = host(state.H), host(state.y)
    grad = -(Y - Wb @ H) @ H.T + 0.7 * (Wb - Wb_old)
    assert np.abs(grad).max() < 1e-9 * max(1.0, np.abs(Y @ H.T).max())


def test_resume_gives_the_uninterrupted_iterates(tmp_path):
    import array_api_compat.numpy as xp

    problem, data = problem_and_data(xp)
    full = amref.minimize(toy.SOLVER, problem, data, toy.ToyOptions(), max_iter=6)
    ck = tmp_path / "toy.npz"
    amref.minimize(toy.SOLVER, problem, data, toy.ToyOptions(), max_iter=3, checkpoint=ck, checkpoint_every=1)
    resumed = amref.minimize(toy.SOLVER, problem, data, toy.ToyOptions(), max_iter=6, resume=ck)
    for a, b in zip(full.params, resumed.params):
        np.testing.assert_array_equal(host(a), host(b))


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("nan")])
def test_invalid_options_raise(alpha):
    with pytest.raises(ValueError, match="alpha"):
        toy.ToyOptions(alpha=alpha)
    assert dataclasses.is_dataclass(toy.ToyOptions)
