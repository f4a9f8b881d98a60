"""The driver's hooks for states that live elsewhere: export/import around checkpoints, and restoring a
lost state (``StateLost``) from the last checkpoint — checked with a solver that loses its state on cue."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import amref
from amref import checkpoint as ckpt
from amref.backend import get_namespace
from amref.contract import StateLost
from amref.driver import minimize
from amref.parallel import minimize_with_restores
from amref.problem import MLP
from amref.result import Status
from amref.solvers.dladmm import DlADMMOptions
from amref.solvers.subproblems import ZLOptions
from helpers import synthetic_dataset

NP = get_namespace("numpy")
DLADMM = amref.get_solver("dladmm")
OPTS = DlADMMOptions(rho=1.0, nu=1.0, zl=ZLOptions(method="newton"), rho_schedule="paper", rho_every=2)
PROBLEM = MLP((12, 6, 5, 3))


@dataclasses.dataclass(frozen=True)
class Remote:
    """A stand-in for a worker-resident state: the real state plus a flag that it is still alive."""

    inner: object
    alive: list


def remote_solver(lose_at: set, log: list):
    """dlADMM whose state is wrapped in :class:`Remote`; the k-th call of ``step`` (k ∈ ``lose_at``)
    finds its state gone."""
    calls = []

    def check(state):
        if not state.alive[0]:
            raise StateLost("worker w1 holding layers 2–3 is gone")
        return state.inner

    def step(state, data, options):
        calls.append(1)
        if len(calls) in lose_at:
            state.alive[0] = False
        return Remote(DLADMM.step(check(state), data, options), [True])

    def init_state(problem, data, params, options):
        log.append("init")
        return Remote(DLADMM.init_state(problem, data, params, options), [True])

    def export_state(state):
        log.append("export")
        return check(state)

    def import_state(saved, problem, data, options):
        log.append("import")
        return Remote(saved, [True])

    return dataclasses.replace(
        DLADMM, init_state=init_state, step=step,
        diagnostics=lambda s, d, o: DLADMM.diagnostics(check(s), d, o),
        params=lambda s: DLADMM.params(check(s)),
        end_iteration=lambda s, row, o: Remote(DLADMM.end_iteration(check(s), row, o), s.alive),
        export_state=export_state, import_state=import_state,
    )


@pytest.fixture
def data():
    return synthetic_dataset(NP, n_train=40, n_test=10)


def test_a_lost_state_is_restored_from_the_last_checkpoint(data, tmp_path):
    full = minimize(DLADMM, PROBLEM, data, OPTS, max_iter=6)
    log: list = []
    path = tmp_path / "c.npz"
    seen = []
    res = minimize_with_restores(remote_solver({6}, log), PROBLEM, data, OPTS, max_iter=6, checkpoint=path,
                                 checkpoint_every=2, callback=lambda info: seen.append(info.iteration))
    assert res.status is Status.COMPLETED and res.nit == 6
    assert "worker w1 holding layers 2–3 is gone (last checkpoint: " in res.message
    assert "(iteration 4)); restored iteration 4" in res.message
    assert seen == [1, 2, 3, 4, 5, 5, 6]  # lost in iteration 6: iteration 5 is recomputed
    assert log.count("import") == 1 and log.count("init") == 1
    for a, b in zip(full.params, res.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(full.history["objective"], res.history["objective"])
    assert ckpt.load(path, NP)["nit"] == 6  # checkpoints hold the exported (plain) state
    assert type(ckpt.load(path, NP)["state"]).__name__ == type(full.state).__name__


def test_without_a_checkpoint_the_initial_state_is_restored(data):
    full = minimize(DLADMM, PROBLEM, data, OPTS, max_iter=4)
    log: list = []
    res = minimize_with_restores(remote_solver({3}, log), PROBLEM, data, OPTS, max_iter=4)
    assert res.status is Status.COMPLETED and "restored the initial state" in res.message
    assert log.count("init") == 2
    np.testing.assert_array_equal(full.history["objective"], res.history["objective"])


def test_too_many_losses_stop_with_a_resumable_checkpoint(data, tmp_path):
    full = minimize(DLADMM, PROBLEM, data, OPTS, max_iter=6)
    path = tmp_path / "c.npz"
    res = minimize_with_restores(remote_solver({4, 5}, []), PROBLEM, data, OPTS, max_iter=6, checkpoint=path,
                                 checkpoint_every=2, max_restores=1)
    assert res.status is Status.STATE_LOST and not res.success
    assert res.state is None and res.params == [] and res.nit == 2 and len(res.history) == 2
    assert f"{path} (iteration 2)" in res.message and "max_restores=1" in res.message
    assert ckpt.load(path, NP)["nit"] == 2
    rest = minimize(DLADMM, PROBLEM, data, max_iter=6, resume=path)
    np.testing.assert_array_equal(full.history["objective"], rest.history["objective"])
    with pytest.raises(ValueError, match="max_restores"):
        minimize_with_restores(DLADMM, PROBLEM, data, OPTS, max_iter=1, max_restores=-1)
