"""The driver: history, callback, divergence, interruption, checkpoints and exact resume."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import numpy as np
import pytest

import amref
from amref import checkpoint as ckpt
from amref.backend import get_namespace, to_host
from amref.contract import SolverSpec
from amref.driver import minimize
from amref.problem import MLP, join_params, split_params
from amref.result import STANDARD_COLUMNS, Status
from amref.solvers.dladmm import DlADMMOptions
from amref.solvers.subproblems import ZLOptions
from helpers import synthetic_dataset

DLADMM = amref.get_solver("dladmm")
OPTS = DlADMMOptions(rho=1.0, nu=1.0, zl=ZLOptions(method="newton"), rho_schedule="paper", rho_every=2)


@pytest.fixture
def data():
    return synthetic_dataset(get_namespace("numpy"), n_train=40, n_test=10)


def test_history_has_standard_columns(data):
    res = minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=4)
    assert res.status is Status.COMPLETED and res.success and res.nit == 4
    for key in STANDARD_COLUMNS:
        assert len(res.history[key]) == 4
    assert res.history["iteration"] == [1, 2, 3, 4]
    assert all(s > 0 for s in res.history["seconds"])
    payload = json.loads(res.to_json())
    for key in ("solver", "options", "status", "history"):
        assert key in payload
    assert payload["options"]["rho"] == 1.0


def test_resume_gives_the_same_iterates(data, tmp_path):
    """Stopping after 3 iterations and resuming reproduces the uninterrupted 6-iteration run exactly
    (the ρ schedule fires in between, so schedule state must be restored too)."""
    prob = MLP((12, 6, 5, 3))
    full = minimize(DLADMM, prob, data, OPTS, max_iter=6)
    path = tmp_path / "run.ckpt.npz"
    first = minimize(DLADMM, prob, data, OPTS, max_iter=3, checkpoint=path)
    assert first.nit == 3 and path.exists()
    rest = minimize(DLADMM, prob, data, max_iter=6, resume=path, checkpoint=path)
    assert rest.nit == 6
    for a, b in zip(full.params, rest.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(full.state.u, rest.state.u)
    assert rest.history["iteration"] == [1, 2, 3, 4, 5, 6]
    assert rest.history["objective"][:3] == first.history["objective"]
    np.testing.assert_array_equal(full.history["objective"], rest.history["objective"])
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


def test_resume_checks(data, tmp_path):
    path = tmp_path / "c.npz"
    minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=1, checkpoint=path)
    with pytest.raises(ValueError, match="widths"):
        minimize(DLADMM, MLP((12, 7, 3)), data, max_iter=2, resume=path)
    with pytest.raises(ValueError, match="options differ"):
        minimize(DLADMM, MLP((12, 6, 3)), data, DlADMMOptions(), max_iter=2, resume=path)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ckpt.CheckpointError):
        minimize(DLADMM, MLP((12, 6, 3)), data, max_iter=2, resume=bad)


def test_callback_can_stop(data):
    calls = []

    def cb(info):
        calls.append(info.iteration)
        if info.iteration == 2:
            raise StopIteration

    res = minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=10, callback=cb)
    assert res.status is Status.STOPPED_BY_CALLBACK and res.success and res.nit == 2 and calls == [1, 2]


# a toy solver whose iterate blows up on a chosen iteration, to exercise the failure paths
@dataclasses.dataclass(frozen=True)
class ToyOptions:
    nan_at: int = 0
    interrupt_at: int = 0


FAIL_AT = {"k": 0}  # simulated out-of-memory on this iteration (a test switch, not an option)


@dataclasses.dataclass(frozen=True)
class ToyState:
    W: tuple
    b: tuple
    k: int = 0


def _toy_step(s, data, o):
    k = s.k + 1
    if k == FAIL_AT["k"]:
        raise MemoryError("boom")
    if k == o.interrupt_at:
        raise KeyboardInterrupt
    W = tuple(w * 0.9 for w in s.W)
    if k == o.nan_at:
        W = tuple(w * math.nan for w in W)
    return ToyState(W, s.b, k)


TOY = SolverSpec(
    name="toy",
    options_class=ToyOptions,
    init_state=lambda p, d, params, o: ToyState(tuple(split_params(params)[0]), tuple(split_params(params)[1])),
    step=_toy_step,
    diagnostics=lambda s, d, o: {"objective": float(sum(float(np.sum(w * w)) for w in s.W)), "residual": 0.0},
    params=lambda s: join_params(s.W, s.b),
)


def test_divergence_keeps_the_last_finite_state(data, tmp_path):
    path = tmp_path / "c.npz"
    res = minimize(TOY, MLP((12, 4, 3)), data, ToyOptions(nan_at=3), max_iter=10, checkpoint=path)
    assert res.status is Status.DIVERGED and not res.success
    assert res.nit == 2
    assert all(np.isfinite(p).all() for p in res.params)
    assert math.isnan(res.history["objective"][-1]) and len(res.history["objective"]) == 3
    saved = ckpt.load(path, get_namespace("numpy"))
    assert saved["nit"] == 2 and len(saved["history"]["iteration"]) == 2


def test_failure_checkpoints_the_last_completed_iteration(data, tmp_path):
    path = tmp_path / "c.npz"
    FAIL_AT["k"] = 4
    try:
        with pytest.raises(MemoryError):
            minimize(TOY, MLP((12, 4, 3)), data, ToyOptions(), max_iter=10, checkpoint=path)
    finally:
        FAIL_AT["k"] = 0
    saved = ckpt.load(path, get_namespace("numpy"))
    assert saved["nit"] == 3 and saved["state"].k == 3
    # and the run can be resumed from there
    res = minimize(TOY, MLP((12, 4, 3)), data, max_iter=5, resume=path)
    assert res.nit == 5 and res.state.k == 5


def test_keyboard_interrupt_returns_the_last_state(data, tmp_path):
    path = tmp_path / "c.npz"
    res = minimize(TOY, MLP((12, 4, 3)), data, ToyOptions(interrupt_at=3), max_iter=10, checkpoint=path)
    assert res.status is Status.INTERRUPTED and res.nit == 2 and len(res.history["iteration"]) == 2
    assert ckpt.load(path, get_namespace("numpy"))["nit"] == 2


def test_input_validation(data):
    prob = MLP((12, 4, 3))
    with pytest.raises(ValueError, match="max_iter"):
        minimize(DLADMM, prob, data, max_iter=-1)
    with pytest.raises(TypeError):
        minimize(DLADMM, prob, data, ToyOptions(), max_iter=1)
    with pytest.raises(ValueError, match="features"):
        minimize(DLADMM, MLP((11, 4, 3)), data, max_iter=1)
    bad = prob.init_params(0)
    bad[0] = bad[0][:, :5]
    with pytest.raises(ValueError, match="W1"):
        minimize(DLADMM, prob, data, params=bad, max_iter=1)
    strict = get_namespace("array_api_strict")
    with pytest.raises(TypeError):  # no silent numpy → strict conversion
        minimize(DLADMM, prob, data, params=prob.init_params(0, xp=strict), max_iter=1)


def test_checkpoint_round_trip_any_namespace(tmp_path):
    strict = get_namespace("array_api_strict")
    from amref.solvers.dladmm import DlADMMState

    s = DlADMMState(W=(strict.ones((2, 3)),), b=(strict.zeros((2, 1)),), z=(), a=(), u=strict.ones((2, 2)),
                    m=(), rho=0.5, nu=1e-300, theta0=1.0, tau0=2.0, iteration=7, costs=(1.5, float("inf")))
    ckpt.save(tmp_path / "s.npz", {"state": s, "rng": np.random.default_rng(3).bit_generator.state})
    back = ckpt.load(tmp_path / "s.npz", strict)
    assert back["state"].rho == 0.5 and back["state"].nu == 1e-300 and back["state"].costs == (1.5, float("inf"))
    assert back["rng"]["state"]["state"] == np.random.default_rng(3).bit_generator.state["state"]["state"]
    np.testing.assert_array_equal(to_host(back["state"].u), np.ones((2, 2)))


def test_checkpoint_refuses_foreign_classes(tmp_path):
    arrays, tree = ckpt.pack({"x": 1.0})
    for evil in ("os:system", "subprocess:Popen", "not_imported_module_xyz:Thing"):
        tree["__dict__"]["x"] = {"__type__": evil, "fields": {}}
        with pytest.raises(ckpt.CheckpointError):
            ckpt.unpack(arrays, tree, get_namespace("numpy"))


def test_checkpoint_stores_numpy_scalars_as_plain_values(tmp_path):
    ckpt.save(tmp_path / "s.npz", {"a": np.float64(2.5), "b": np.int64(3), "c": np.bool_(True)})
    back = ckpt.load(tmp_path / "s.npz", get_namespace("numpy"))
    assert back == {"a": 2.5, "b": 3, "c": True} and type(back["a"]) is float


# ----------------------------------------------------------------------------- evaluation period, tolerance, verbose
def test_eval_every_evaluates_every_k_iterations_and_at_the_end(data):
    every = minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=7)
    sparse = minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=7, eval_every=3)
    evaluated = [int(n) for n, a in zip(sparse.history["iteration"], sparse.history["test_accuracy"]) if not math.isnan(a)]
    assert evaluated == [3, 6, 7]
    for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        for n in evaluated:  # same iterates, so the evaluated rows agree with the dense run
            assert sparse.history[key][n - 1] == every.history[key][n - 1]
    assert sparse.history["objective"] == every.history["objective"]
    with pytest.raises(ValueError, match="eval_every"):
        minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=2, eval_every=0)


def test_a_run_that_stops_early_is_evaluated_at_its_last_iteration(data):
    def stop_at_2(info):
        if info.iteration == 2:
            raise StopIteration

    res = minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=10, eval_every=5, callback=stop_at_2)
    assert res.status is Status.STOPPED_BY_CALLBACK and res.nit == 2
    assert math.isnan(res.history["test_accuracy"][0]) and not math.isnan(res.history["test_accuracy"][1])


def test_a_schedule_that_reads_the_training_loss_is_evaluated_every_iteration(data):
    code = DlADMMOptions.released_code(rho=1.0)  # cost-triggered ρ schedule reads row["train_loss"]
    assert DLADMM.needs_train_loss(code) and not DLADMM.needs_train_loss(OPTS)
    sparse = minimize(DLADMM, MLP((12, 6, 3)), data, code, max_iter=6, eval_every=6)
    dense = minimize(DLADMM, MLP((12, 6, 3)), data, code, max_iter=6)
    assert not any(math.isnan(v) for v in sparse.history["train_loss"])
    assert sparse.history["rho"] == dense.history["rho"]


def test_tol_on_the_residual_ends_with_converged(data):
    ref = minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=30)
    tol = ref.history["residual"][9]  # the first iteration at or below it ends the run
    first = next(n for n, r in zip(ref.history["iteration"], ref.history["residual"]) if r <= tol)
    res = minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=30, tol=tol)
    assert res.status is Status.CONVERGED and res.success and res.nit == first
    assert "converged at iteration" in res.message
    assert not math.isnan(res.history["test_accuracy"][-1])
    assert minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=3, tol=0.0).status is Status.COMPLETED
    with pytest.raises(ValueError, match="tol"):
        minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=3, tol=-1.0)


def test_tol_for_a_baseline_is_the_relative_objective_change(data):
    adam = amref.get_solver("adam")
    assert not adam.constrained and DLADMM.constrained
    ref = minimize(adam, MLP((12, 6, 3)), data, max_iter=40)
    f = ref.history["objective"]
    changes = [abs(b - a) / max(abs(a), abs(b), 1.0) for a, b in zip(f, f[1:])]
    tol = sorted(changes)[len(changes) // 2]
    first = 2 + next(i for i, c in enumerate(changes) if c <= tol)
    res = minimize(adam, MLP((12, 6, 3)), data, max_iter=40, tol=tol)
    assert res.status is Status.CONVERGED and res.nit == first


def test_callback_params_are_computed_only_when_read(data):
    calls = []
    spec = dataclasses.replace(DLADMM, params=lambda s: calls.append(1) or DLADMM.params(s))
    minimize(spec, MLP((12, 6, 3)), data, OPTS, max_iter=4, eval_every=4, callback=lambda info: info.row)
    assert len(calls) == 2  # the evaluation at iteration 4 and Result.params
    calls.clear()
    read = []
    minimize(spec, MLP((12, 6, 3)), data, OPTS, max_iter=2, eval_every=2,
             callback=lambda info: read.append(info.params is info.params))
    assert read == [True, True] and len(calls) == 2 + 2  # once per read iteration (cached), eval, result


def test_verbose_prints_the_cli_table(data, capsys):
    minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=3, verbose=True)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("amref: dladmm on synthetic (40 train samples), widths 12-6-3")
    assert out[1].split() == ["iter", "objective", "residual", "train", "acc", "test", "acc", "sec/it"]
    assert [line.split()[0] for line in out[2:]] == ["1", "2", "3"]


def test_result_names_the_last_checkpoint(data, tmp_path):
    path = tmp_path / "c.npz"
    res = minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=5, checkpoint=path, checkpoint_every=2)
    assert res.checkpoint == {"path": os.fspath(path), "nit": 5}
    assert minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=1).checkpoint is None


def test_resume_refuses_a_network_with_another_activation_or_loss(data, tmp_path):
    from amref.checkpoint import CheckpointError

    path = tmp_path / "c.npz"
    minimize(DLADMM, MLP((12, 6, 3)), data, OPTS, max_iter=2, checkpoint=path)
    with pytest.raises(CheckpointError, match="activation 'relu', not 'tanh'"):
        minimize(DLADMM, MLP((12, 6, 3), activation="tanh"), data, max_iter=4, resume=path)
    with pytest.raises(CheckpointError, match="loss 'cross_entropy', not 'squared'"):
        minimize(DLADMM, MLP((12, 6, 3), loss="squared"), data, max_iter=4, resume=path)
    assert minimize(DLADMM, MLP((12, 6, 3)), data, max_iter=4, resume=path).nit == 4
