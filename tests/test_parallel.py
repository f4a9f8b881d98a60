"""Layer-parallel pdADMM: the dask runner computes the serial runner's iterates, measures what it sends,
checkpoints interchangeably, and survives a killed worker.

Most tests share one in-process LocalCluster (threads); the fault test starts worker processes and
kills one. Every cluster is closed by its context manager.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import types

import numpy as np
import pytest

import amref
from amref import checkpoint as ckpt
from amref.backend import get_namespace
from amref.cli import main
from amref.parallel import SerialRunner, check_runner, minimize_with_restores, open_runner
from amref.parallel.messages import decode, encode
from amref.quantize import CODE_LEVELS, PAPER_LEVELS, Grid, boundary_bytes, project
from amref.solvers.pdadmm import PdADMMOptions
from amref.solvers.pdadmm_g import PdADMMGOptions, PdADMMGQOptions
from amref.solvers.subproblems import ZLOptions
from helpers import synthetic_dataset

distributed = pytest.importorskip("distributed")
from distributed import Client, LocalCluster  # noqa: E402

from amref.parallel.dask import DaskRunner, layer_costs, local_cluster, place_layers  # noqa: E402

pytestmark = pytest.mark.distributed

NP = get_namespace("numpy")
NEWTON = ZLOptions(method="newton")
WIDTHS = (12, 9, 8, 7, 6, 3)  # 5 layers
GRID = Grid.uniform(-1.0, 2.0, 256)  # uint8 codes


@pytest.fixture(scope="module")
def client():
    with local_cluster(2, processes=False) as cluster, Client(cluster, set_as_default=False) as c:
        yield c


def data(dtype="float64"):
    return synthetic_dataset(NP, n_train=50, n_test=20, dtype=dtype)


CASES = {
    "pdadmm-f64": ("pdadmm", PdADMMOptions(rho=0.5, nu=0.1, zl=NEWTON), "float64", False),
    "pdadmm-g-f32-send-duals": ("pdadmm-g", PdADMMGOptions(rho=0.5, nu=0.1, rho_schedule="cost", cost_tol=1.0),
                                "float32", True),
    "pdadmm-g-q-pq-uint8": ("pdadmm-g-q", PdADMMGQOptions(rho=0.5, nu=0.1, quantize="pq", levels=GRID), "float64",
                            False),
    "pdadmm-g-q-p-paper": ("pdadmm-g-q", PdADMMGQOptions(rho=0.5, nu=0.1, levels=PAPER_LEVELS), "float32", True),
    "pdadmm-g-q-q-code": ("pdadmm-g-q", PdADMMGQOptions.released_code(rho=0.5), "float64", False),
}


def assert_same_state(a, b):
    """Two PdADMMStates with identical arrays (bit for bit) and scalars."""
    assert (a.rho, a.nu, a.iteration, a.costs) == (b.rho, b.nu, b.iteration, b.costs)
    for x, y in zip(a.blocks, b.blocks, strict=True):
        for f in ("p", "W", "b", "z", "q", "u", "m"):
            u, v = getattr(x, f), getattr(y, f)
            assert (u is None) == (v is None), f
            if u is not None:
                assert u.dtype == v.dtype and np.array_equal(u, v), f


# ----------------------------------------------------------------------------- pure pieces
def test_place_layers_is_contiguous_and_balanced():
    assert place_layers([1] * 8, 2) == [0] * 4 + [1] * 4
    assert place_layers([1] * 8, 3) == [0, 0, 0, 1, 1, 2, 2, 2]
    assert place_layers([1] * 3, 1) == [0, 0, 0]
    assert place_layers([1, 1], 4) == [1, 3]  # fewer layers than workers: one worker each
    # a heavy first layer (GA-MLP features) gets a worker to itself
    costs = layer_costs((5000, 100, 100, 100, 100, 7))
    assert place_layers(costs, 2) == [0, 1, 1, 1, 1]
    for n in (1, 2, 3, 5):
        p = place_layers(layer_costs((784,) + (1000,) * 15 + (10,)), n)
        assert p == sorted(p) and len(set(p)) == min(n, 16)
    with pytest.raises(ValueError):
        place_layers([1, 1], 0)
    with pytest.raises(ValueError):
        place_layers([1, 0], 2)


@pytest.mark.parametrize("grid", [PAPER_LEVELS, CODE_LEVELS, GRID], ids=["paper", "code", "uint8"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_messages_are_lossless_and_their_size_is_what_travels(rng, grid, dtype):
    x = project(NP.asarray(3 * rng.normal(size=(7, 11)), dtype=dtype), grid)
    codes = encode(x, grid)
    assert codes.payload.dtype == np.dtype(grid.code_dtype) and codes.nbytes == x.size * codes.payload.itemsize
    back = decode(codes)
    assert back.dtype == x.dtype and np.array_equal(back, x)
    plain = encode(x)
    assert plain.grid is None and decode(plain) is x and plain.nbytes == x.nbytes
    assert decode(None) is None
    # what dask puts on the wire: the payload plus a small header (the grid is a few numbers)
    for message in (codes, plain):
        frames = distributed.protocol.serialize_bytelist(message)
        wire = sum(len(memoryview(f).cast("B")) for f in frames)
        assert message.nbytes <= wire <= message.nbytes + 2048


def test_check_runner_errors():
    pd = amref.get_solver("pdadmm")
    check_runner("dask", pd, workers=2)
    check_runner("serial", pd)
    with pytest.raises(ValueError, match="not 'dladmm'"):
        check_runner("dask", amref.get_solver("dladmm"))
    with pytest.raises(ValueError, match="need --runner dask"):
        check_runner("serial", pd, workers=2)
    with pytest.raises(ValueError, match="not both"):
        check_runner("dask", pd, workers=2, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="positive"):
        check_runner("dask", pd, workers=0)
    with pytest.raises(ValueError, match="unknown runner"):
        check_runner("mpi", pd)
    assert SerialRunner().solver(pd) is pd


# ----------------------------------------------------------------------------- the dask runner
@pytest.mark.parametrize("case", list(CASES))
def test_dask_runner_gives_the_serial_iterates(client, case):
    """Both runners call the same layer functions: identical states and histories after k iterations."""
    name, opts, dtype, send_duals = CASES[case]
    d, problem = data(dtype), amref.MLP(WIDTHS)
    iters = 5 if case == "pdadmm-g-f32-send-duals" else 4  # the code's schedule fires after the 4th at the earliest
    serial = amref.minimize(amref.get_solver(name), problem, d, opts, max_iter=iters)
    runner = DaskRunner(client, send_duals=send_duals)
    spec = runner.solver(amref.get_solver(name))
    assert spec.name == name and spec.options_class is type(opts)
    res = amref.minimize(spec, problem, d, opts, max_iter=iters)
    assert res.status is amref.Status.COMPLETED
    assert_same_state(serial.state, runner.export_state(res.state))
    # the receiver's copy of u_{l−1} is the owner's u_{l−1}
    inboxes = client.gather(list(res.state.inboxes[1:]))
    for box, block in zip(inboxes, serial.state.blocks[:-1]):
        assert np.array_equal(box.u, block.u) and np.array_equal(box.q, block.q)
    for key, values in serial.history.items():
        if key not in ("seconds", "bytes_sent"):
            assert res.history[key] == values, key
    if case == "pdadmm-g-f32-send-duals":
        assert len(set(res.history["rho"])) > 1  # the cost schedule fired and was applied on the workers


@pytest.mark.parametrize("case", ["pdadmm-f64", "pdadmm-g-f32-send-duals", "pdadmm-g-q-pq-uint8",
                                  "pdadmm-g-q-p-paper"])
def test_bytes_sent_are_the_messages_and_match_boundary_bytes(client, case):
    name, opts, dtype, send_duals = CASES[case]
    d, problem = data(dtype), amref.MLP(WIDTHS)
    runner = DaskRunner(client, send_duals=send_duals)
    res = amref.minimize(runner.solver(amref.get_solver(name)), problem, d, opts, max_iter=2)
    want = boundary_bytes(WIDTHS, d.n_train, dtype=dtype, quantize=opts.quantize, grid=opts.levels)
    sent = want["p"] + want["q"] + (want["u"] if send_duals else 0.0)
    assert res.history["bytes_sent"] == [sent, sent]
    # only the boundary between the two workers crosses the network: p one way, q (and u) the other
    where = res.state.workers
    assert len(set(where)) == 2
    cut = [l for l in range(1, len(where)) if where[l] != where[l - 1]]
    assert len(cut) == 1
    n = WIDTHS[cut[0]] * d.n_train  # elements of p_{l+1} = q_l at the cut
    per = {k: want[k] / (sum(WIDTHS[1:-1]) * d.n_train) for k in ("p", "q", "u")}
    expected = n * (per["p"] + per["q"] + (per["u"] if send_duals else 0.0))
    assert res.history["bytes_between_workers"] == [expected, expected]


def test_more_layers_than_workers_and_one_worker(client):
    d, problem = data(), amref.MLP((12, 7, 7, 7, 7, 7, 7, 3))
    opts = PdADMMOptions(rho=0.5, nu=0.1, zl=NEWTON)
    serial = amref.minimize(amref.get_solver("pdadmm"), problem, d, opts, max_iter=3)
    addresses = DaskRunner(client).workers()
    one = DaskRunner(client, placement=[0] * 7)
    res = amref.minimize(one.solver(amref.get_solver("pdadmm")), problem, d, opts, max_iter=3)
    assert set(res.state.workers) == {addresses[0]}
    assert res.history["bytes_between_workers"] == [0.0] * 3 and res.history["bytes_sent"][0] > 0
    assert_same_state(serial.state, one.export_state(res.state))
    with pytest.raises(ValueError, match="placement"):
        amref.minimize(DaskRunner(client, placement=[0, 1]).solver(amref.get_solver("pdadmm")), problem, d, opts,
                       max_iter=1)


def test_checkpoints_are_interchangeable_between_runners(client, tmp_path):
    """A dask checkpoint resumes serially and a serial one on dask, with the uninterrupted iterates."""
    name, opts, dtype, _ = CASES["pdadmm-g-q-pq-uint8"]
    d, problem = data(dtype), amref.MLP(WIDTHS)
    pd = amref.get_solver(name)
    full = amref.minimize(pd, problem, d, opts, max_iter=4)
    runner = DaskRunner(client)
    path = tmp_path / "dask.npz"
    first = amref.minimize(runner.solver(pd), problem, d, opts, max_iter=2, checkpoint=path)
    assert first.nit == 2
    rest = amref.minimize(pd, problem, d, max_iter=4, resume=path)
    assert_same_state(full.state, rest.state)
    path2 = tmp_path / "serial.npz"
    amref.minimize(pd, problem, d, opts, max_iter=2, checkpoint=path2)
    rest2 = amref.minimize(runner.solver(pd), problem, d, max_iter=4, resume=path2)
    assert_same_state(full.state, runner.export_state(rest2.state))
    assert rest2.history["objective"] == full.history["objective"]


def test_a_failing_layer_raises_its_own_error(client):
    d, problem = data(), amref.MLP(WIDTHS)
    spec = DaskRunner(client).solver(amref.get_solver("pdadmm"))
    state = spec.init_state(problem, d, problem.init_params(0), PdADMMOptions(zl=NEWTON))
    # a first layer without its input is the layer function's own ValueError, raised here
    broken = dataclasses.replace(state, x=None)
    with pytest.raises(ValueError, match="needs the input data x"):
        spec.step(broken, d, PdADMMOptions(zl=NEWTON))


def test_runners_use_the_layer_functions_the_spec_declares(client):
    """Layer parallelism is a capability of the spec (``layer_functions``), not pdADMM's identity: a spec
    carrying other per-layer functions is accepted, and the dask runner calls those, not pdADMM's."""
    from amref.solvers import pdadmm

    assert amref.parallel.supports_layer_parallel(amref.get_solver("pdadmm-g-q"))
    assert not amref.parallel.supports_layer_parallel(amref.get_solver("adam"))

    def with_layers(**functions):
        layers = types.SimpleNamespace(**{**vars(pdadmm.LAYER_FUNCTIONS), **functions})
        return dataclasses.replace(amref.get_solver("pdadmm"), name="other", layer_functions=layers)

    def summed(parts):  # runs here, on the client
        total = pdadmm.sum_layer_diagnostics(parts)
        return {**total, "objective": total["objective"] + 1.0}

    def primal(*args, **kwargs):  # runs on the workers
        raise RuntimeError("the spec's own primal step")

    check_runner("dask", with_layers())
    with pytest.raises(ValueError, match="not 'pdadmm'"):
        check_runner("dask", dataclasses.replace(amref.get_solver("pdadmm"), layer_functions=None))
    d, problem, opts = data(), amref.MLP(WIDTHS), PdADMMOptions(rho=0.5, nu=0.1, zl=NEWTON)
    serial = amref.minimize(amref.get_solver("pdadmm"), problem, d, opts, max_iter=1)
    res = amref.minimize(DaskRunner(client).solver(with_layers(sum_layer_diagnostics=summed)), problem, d, opts,
                         max_iter=1)
    assert res.history["objective"][-1] == serial.history["objective"][-1] + 1.0
    with pytest.raises(RuntimeError, match="the spec's own primal step"):
        amref.minimize(DaskRunner(client).solver(with_layers(update_layer_primal=primal)), problem, d, opts,
                       max_iter=1)


# ----------------------------------------------------------------------------- faults
def _kill_one_worker(c: Client) -> str:
    pids = c.run(os.getpid)
    address = sorted(pids)[-1]
    os.kill(pids[address], signal.SIGKILL)
    return address


def test_killed_worker_is_restored_from_the_checkpoint(tmp_path, no_jit):  # spare the workers Numba
    """Kill a worker process after iteration 3: the run restores iteration 2 from its checkpoint onto the
    workers it has and finishes with the uninterrupted iterates; with no restores allowed it stops with
    status STATE_LOST and a checkpoint that resumes to the same result."""
    name, opts, dtype, _ = CASES["pdadmm-g-q-pq-uint8"]
    d, problem = data(dtype), amref.MLP(WIDTHS)
    pd = amref.get_solver(name)
    full = amref.minimize(pd, problem, d, opts, max_iter=5)

    def killer(at):
        def callback(info):
            if info.iteration == at and not killed:
                killed.append(_kill_one_worker(client))
        return callback

    with local_cluster(2, processes=True) as cluster, Client(cluster, set_as_default=False) as client:
        runner = DaskRunner(client, rejoin_timeout=5.0)
        killed: list = []
        path = tmp_path / "run.npz"
        res = minimize_with_restores(runner.solver(pd), problem, d, opts, max_iter=5, checkpoint=path,
                                     checkpoint_every=2, callback=killer(3))
        assert killed and res.status is amref.Status.COMPLETED and res.nit == 5
        assert "restored iteration 2" in res.message and killed[0] in res.message
        assert res.history["iteration"] == [1, 2, 3, 4, 5]
        got = runner.export_state(res.state)
        for a, b in zip(full.state.blocks, got.blocks):  # worker processes use 1 BLAS thread: compare closely
            for f in ("W", "b", "z", "m"):
                np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(res.history["objective"], full.history["objective"], rtol=1e-10)

        killed.clear()
        client.wait_for_workers(2, timeout=60)  # the nanny's replacement for the killed worker has joined
        path2 = tmp_path / "lost.npz"
        lost = minimize_with_restores(runner.solver(pd), problem, d, opts, max_iter=5, checkpoint=path2,
                                      checkpoint_every=2, callback=killer(3), max_restores=0)
        assert lost.status is amref.Status.STATE_LOST and not lost.status.success
        assert lost.state is None and lost.nit == 3 and "lost.npz (iteration 2)" in lost.message
        assert ckpt.load(path2, NP)["nit"] == 2
    rest = amref.minimize(pd, problem, d, max_iter=5, resume=path2)
    np.testing.assert_allclose(rest.history["objective"], full.history["objective"], rtol=1e-10)


# ----------------------------------------------------------------------------- command line
def test_cli_dask_runner_records_bytes(tmp_path, capsys):
    out = tmp_path / "run.json"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0") as cluster:
        code = main(["train", "--solver", "pdadmm-g-q", "--quantize", "pq", "--runner", "dask", "--scheduler",
                     cluster.scheduler_address, "--hidden", "16,16,16", "--iters", "2", "--rho", "0.5", "--nu", "0.1",
                     "--train-size", "200", "--quiet", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    record = json.loads(out.read_text())
    assert record["runner"] == "dask"
    want = boundary_bytes((64, 16, 16, 16, 10), 200, quantize="pq", grid=PAPER_LEVELS)
    assert record["history"]["bytes_sent"] == [want["p"] + want["q"]] * 2
    assert len(record["history"]["bytes_between_workers"]) == 2


def test_cli_errors_are_one_line(capsys):
    import dask

    assert main(["train", "--solver", "dladmm", "--runner", "dask"]) == 2
    assert main(["train", "--solver", "pdadmm", "--runner", "dask", "--workers", "0"]) == 2
    assert main(["train", "--solver", "pdadmm", "--workers", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("amref: error: ") for line in err)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["train", "--solver", "pdadmm", "--runner", "dask", "--scheduler", "tcp://127.0.0.1:9",
                     "--hidden", "8", "--iters", "1", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "cannot reach the dask scheduler at tcp://127.0.0.1:9" in err[0]
    with pytest.raises(ConnectionError), dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with open_runner("dask", scheduler="tcp://127.0.0.1:9"):
            pass


def test_cli_greedy_training_on_dask(client, tmp_path):
    """--greedy trains stage after stage on the same runner (each stage placed afresh)."""
    out = tmp_path / "greedy.json"
    code = main(["train", "--solver", "pdadmm", "--greedy", "--runner", "dask", "--scheduler",
                 client.scheduler.address, "--hidden", "8,8,8,8,8", "--iters", "2", "--rho", "0.5", "--nu", "0.1",
                 "--train-size", "100", "--quiet", "--out", str(out)])
    assert code == 0
    history = json.loads(out.read_text())["history"]
    assert history["depth"] == [5, 5, 6, 6] and all(b > 0 for b in history["bytes_between_workers"])


# ----------------------------------------------------------------------------- what comes back to the client
def _count_array_gathers(client, monkeypatch) -> list:
    """Record, for every ``client.gather``, whether what came back held an array (weights or blocks)."""
    seen: list = []
    original = client.gather

    def holds_array(x):
        if isinstance(x, np.ndarray):
            return x.size > 1
        if isinstance(x, (list, tuple)):
            return any(holds_array(v) for v in x)
        if isinstance(x, dict):
            return any(holds_array(v) for v in x.values())
        return dataclasses.is_dataclass(x) and any(holds_array(getattr(x, f.name)) for f in dataclasses.fields(x))

    def gather(futures, *args, **kwargs):
        out = original(futures, *args, **kwargs)
        seen.append(holds_array(out))
        return out

    monkeypatch.setattr(client, "gather", gather)
    return seen


@pytest.mark.parametrize("eval_every, with_callback, weight_gathers", [
    (5, False, 2),   # the evaluation at the end and Result.params
    (5, True, 2),    # a callback that does not read info.params costs nothing
    (1, False, 6),   # an evaluation every iteration, then Result.params
])
def test_only_scalars_come_back_between_evaluations(client, monkeypatch, eval_every, with_callback, weight_gathers):
    name, opts, dtype, _ = CASES["pdadmm-f64"]
    d, problem = data(dtype), amref.MLP(WIDTHS)
    spec = DaskRunner(client).solver(amref.get_solver(name))
    rows: list = []
    seen = _count_array_gathers(client, monkeypatch)
    res = amref.minimize(spec, problem, d, opts, max_iter=5, eval_every=eval_every,
                         callback=(lambda info: rows.append(info.row)) if with_callback else None)
    assert res.status is amref.Status.COMPLETED and len(rows) == (5 if with_callback else 0)
    assert sum(seen) == weight_gathers
    assert len(seen) - sum(seen) == 5  # one gather of the layers' scalar reports per iteration
    evaluated = [i for i, a in enumerate(res.history["test_accuracy"], 1) if not np.isnan(a)]
    assert evaluated == list(range(eval_every, 6, eval_every))
