"""Nothing lost, nothing silently wrong: signals, output paths, resume checks, scheduler probes, plots."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from amref import checkpoint as ckpt
from amref import runguard
from amref.cli import main

REPO = pathlib.Path(__file__).resolve().parents[1]
SMALL = ["--hidden", "8", "--quiet", "--rho", "1"]


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("amref: error:"), err
    return err[0]


# ----------------------------------------------------------------------------- output paths
def test_outputs_are_checked_before_the_first_iteration(tmp_path, capsys):
    out = tmp_path / "r.json"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = [
        (["--out", str(out), "--checkpoint", str(out)], "name the same file"),
        (["--out", str(tmp_path)], "is a directory"),
        (["--save-weights", str(blocker / "w.npz")], "is not a directory"),
        (["--out", "/dev/null"], "not a regular file"),
        (["--checkpoint", str(tmp_path / "a" / "c.npz"), "--save-weights", str(tmp_path / "a" / "c.npz")],
         "name the same file"),
    ]
    for flags, words in cases:
        assert main(["train", "--iters", "500", *SMALL, *flags]) == 2
        line = _err_line(capsys)
        assert words in line, line
    assert not out.exists() and not (tmp_path / "a").exists()


def test_no_output_may_overwrite_the_resumed_checkpoint_but_the_checkpoint_may_continue_it(tmp_path, capsys):
    ck = tmp_path / "c.npz"
    assert main(["train", "--iters", "2", *SMALL, "--checkpoint", str(ck)]) == 0
    before = ck.read_bytes()
    for flag in ("--out", "--save-weights"):
        assert main(["train", "--iters", "3", "--hidden", "8", "--quiet", "--resume", str(ck), flag, str(ck)]) == 2
        assert "would overwrite the --resume file" in _err_line(capsys)
    assert ck.read_bytes() == before
    assert main(["train", "--iters", "3", "--hidden", "8", "--quiet", "--resume", str(ck), "--checkpoint", str(ck)]) == 0
    assert ckpt.load(ck, np)["nit"] == 3


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path):
    target = tmp_path / "r.json"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".tmp-r.json.{dead.pid}-abc.json"
    mine = tmp_path / f".tmp-r.json.{os.getpid()}-abc.json"  # a write in progress in this process
    other = tmp_path / f".tmp-other.json.{dead.pid}-abc.json"  # another file's
    for f in (stale, mine, other):
        f.write_text("{")
    runguard.check_outputs({"--out": str(target)})
    assert not stale.exists() and mine.exists() and other.exists()


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_files_get_the_umask_permissions(tmp_path, mask):
    old = os.umask(mask)
    try:
        ckpt.atomic_write_text(tmp_path / "r.json", "{}")
        ckpt.atomic_savez(tmp_path / "w.npz", {"a": np.zeros(2)})
    finally:
        os.umask(old)
    for name in ("r.json", "w.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask


# ----------------------------------------------------------------------------- signals
def _train_until_rows(tmp_path, extra, sig, rows=2, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "amref", "train", "--iters", "100000", "--hidden", "8",
                             "--rho", "1", "--print-every", "1", "--threads", "1", *extra],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    seen, deadline = 0, time.monotonic() + timeout
    while seen < rows and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.split() and line.split()[0].isdigit():
            seen += 1
    assert seen >= rows, "the run printed no rows"
    os.killpg(proc.pid, sig)  # as a terminal's Ctrl-C or a batch system's kill does: the whole group
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_a_signal_ends_the_run_like_a_clean_stop(tmp_path, sig, status):
    code, out, err = _train_until_rows(tmp_path, ["--out", "run.json"], sig)
    assert code == status, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"amref: interrupted by {signal.Signals(sig).name}")
    assert "checkpoint run.ckpt.npz" in lines[0] and "run record run.json" in lines[0]
    run = json.loads((tmp_path / "run.json").read_text())
    saved = ckpt.load(tmp_path / "run.ckpt.npz", np)
    assert run["status"] == "interrupted" and run["nit"] == saved["nit"] >= 2
    assert saved["history"]["iteration"] == run["history"]["iteration"] == list(range(1, run["nit"] + 1))
    # and it resumes
    assert main(["train", "--iters", str(run["nit"] + 1), "--hidden", "8", "--quiet",
                 "--resume", str(tmp_path / "run.ckpt.npz")], ) == 0


def test_sigterm_with_a_checkpoint_flag_saves_there(tmp_path):
    code, _, err = _train_until_rows(tmp_path, ["--checkpoint", "c.npz", "--checkpoint-every", "1000"],
                                     signal.SIGTERM)
    assert code == 143 and "checkpoint c.npz" in err and "no run record" in err
    assert ckpt.load(tmp_path / "c.npz", np)["nit"] >= 2


# ----------------------------------------------------------------------------- resume
@pytest.fixture
def saved_run(tmp_path):
    ck = tmp_path / "c.npz"
    assert main(["train", "--iters", "3", *SMALL, "--checkpoint", str(ck), "--train-size", "300"]) == 0
    return ck


@pytest.mark.parametrize("flags, words", [
    (["--rho", "2"], "--rho would change rho: 1.0 → 2.0"),
    (["--preset", "code"], "--preset code would change"),
    (["--option", "theta0=3"], "theta0: 1.0 → 3.0"),
    (["--dtype", "float32"], "dtype float64, not float32"),
    (["--train-size", "200"], "300 samples of 64 features, not 200"),
    (["--test-size", "50"], "test set"),
    (["--hidden", "9"], "widths"),
    (["--solver", "mdlam"], "solver 'dladmm'"),
])
def test_resume_refuses_what_does_not_fit_with_one_line(saved_run, capsys, flags, words):
    args = {"--hidden": "8", "--train-size": "300"}
    for k, v in zip(flags[::2], flags[1::2]):
        args[k] = v
    argv = ["train", "--iters", "5", "--quiet", "--resume", str(saved_run)]
    for k, v in args.items():
        argv += [k, v]
    argv += [f for f in flags if f not in args and f not in args.values()]
    assert main(argv) == 2
    assert words in _err_line(capsys)


def test_resume_accepts_flags_that_agree_with_the_checkpoint(saved_run, tmp_path):
    out = tmp_path / "r.json"
    assert main(["train", "--iters", "4", *SMALL, "--train-size", "300", "--option", "theta0=1",
                 "--resume", str(saved_run), "--out", str(out)]) == 0
    run = json.loads(out.read_text())
    assert run["options"]["rho"] == 1.0 and run["history"]["iteration"] == [1, 2, 3, 4]


def test_resume_refuses_data_of_the_same_sizes_with_other_content(tmp_path, capsys):
    from amref import Dataset, MLP, get_solver, minimize
    from tests.helpers import synthetic_dataset

    a = synthetic_dataset(np, seed=0)
    b = synthetic_dataset(np, seed=1)
    ck = tmp_path / "c.npz"
    spec, problem = get_solver("dladmm"), MLP((12, 6, 3))
    minimize(spec, problem, a, max_iter=2, checkpoint=ck)
    with pytest.raises(ckpt.CheckpointError, match="content hash"):
        minimize(spec, problem, b, max_iter=3, resume=ck)
    renamed = Dataset(name="other", x_train=a.x_train, y_train=a.y_train, x_test=a.x_test, y_test=a.y_test)
    with pytest.raises(ckpt.CheckpointError, match="dataset 'synthetic', not 'other'|dataset '.*', not 'other'"):
        minimize(spec, problem, renamed, max_iter=3, resume=ck)
    assert minimize(spec, problem, a, max_iter=3, resume=ck).nit == 3


def _tamper(path, change):
    saved = ckpt.load(path, np)
    change(saved)
    ckpt.save(path, saved)


@pytest.mark.parametrize("change, words", [
    (lambda s: s.update(nit=1), "history column 'iteration' has 3 values, iteration count 1"),
    (lambda s: s.update(nit=7), "has 3 values, iteration count 7"),
    (lambda s: s["history"].update(objective=s["history"]["objective"][:2]), "'objective' has 2 values"),
    (lambda s: s.pop("dataset"), "does not record its dataset"),
    (lambda s: s.pop("options"), "missing options"),
    (lambda s: s.update(nit="3"), "iteration count '3'"),
    (lambda s: s["state"].W[0].__setitem__((0, 0), np.nan), "NaN or inf (state.W.0)"),
    (lambda s: s["history"].update(iteration=[1, 1, 2]), "not 1..3"),
])
def test_resume_validates_the_checkpoint_before_running(saved_run, capsys, change, words):
    _tamper(saved_run, change)
    assert main(["train", "--iters", "5", "--hidden", "8", "--quiet", "--train-size", "300",
                 "--resume", str(saved_run)]) == 2
    line = _err_line(capsys)
    assert words in line, line


# ----------------------------------------------------------------------------- command line values
def test_negative_numbers_are_values_and_bad_ones_name_their_flag(capsys):
    assert main(["train", "--iters", "1", "--hidden", "8", "--quiet", "--nu", "-1e-6"]) == 2
    assert "nu must be a finite number > 0, got -1e-06" in _err_line(capsys)
    assert main(["train", "--iters", "1", "--hidden", "8", "--quiet", "--seed", "-1"]) == 2
    assert "--seed must be >= 0" in _err_line(capsys)
    assert main(["train", "--iters", "1", "--hidden", "8", "--quiet", "--option", "rho=true"]) == 2
    assert "rho" in _err_line(capsys)


@pytest.mark.parametrize("solver, option", [("dladmm", "theta0=1e-320"), ("pdadmm", "p_step0=1e-300")])
def test_underflowing_step_constants_run(solver, option, capsys):
    assert main(["train", "--solver", solver, "--iters", "2", "--hidden", "8", "--quiet", "--option", option]) == 0


# ----------------------------------------------------------------------------- --scheduler
@pytest.fixture
def loopback_server():
    """A TCP server on 127.0.0.1 that accepts and either says nothing or answers like HTTP."""
    servers = []

    def start(reply: bytes | None) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        servers.append(sock)

        def serve():
            conns = []
            try:
                while True:
                    c, _ = sock.accept()
                    conns.append(c)
                    if reply is not None:
                        c.sendall(reply)
            except OSError:
                pass

        threading.Thread(target=serve, daemon=True).start()
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for s in servers:
        s.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scheduler_probe_is_bounded_and_says_why(loopback_server):
    pytest.importorskip("distributed")
    from amref.parallel import probe_scheduler

    with pytest.raises(ValueError, match="not an address"):
        probe_scheduler("notanaddress", 1.0)
    with pytest.raises(ConnectionError, match="refused"):
        probe_scheduler(f"tcp://127.0.0.1:{_closed_port()}", 1.0)
    t0 = time.monotonic()
    with pytest.raises(ConnectionError, match="within 0.5 s"):
        probe_scheduler(loopback_server(None), 0.5)
    assert time.monotonic() - t0 < 10
    with pytest.raises(ConnectionError, match="another kind of server"):
        probe_scheduler(loopback_server(b"HTTP/1.1 400 Bad Request\r\n\r\n"), 1.0)
    probe_scheduler(loopback_server(b"\x3a\x00\x00\x00\x00\x00\x00\x00rest"), 1.0)  # a dask-like length prefix


def test_scheduler_errors_are_one_line(loopback_server, capsys):
    pytest.importorskip("distributed")
    for address in ("notanaddress", loopback_server(None)):
        assert main(["train", "--solver", "pdadmm", "--iters", "1", "--hidden", "8", "--quiet", "--runner", "dask",
                     "--scheduler", address, "--connect-timeout", "0.5"]) != 0
        _err_line(capsys)
    assert main(["train", "--solver", "pdadmm", "--quiet", "--runner", "dask", "--scheduler", "tcp://127.0.0.1:1",
                 "--connect-timeout", "0"]) == 2
    assert "--connect-timeout" in _err_line(capsys)


# ----------------------------------------------------------------------------- amref plot
def _record(path, solver="dladmm", objective=(3.0, 2.0, 1.0), residual=(1.0, 0.5, 0.1), argv=(), **options):
    n = len(objective)
    run = {"solver": solver, "dataset": "digits", "options": {"rho": 1.0, **options}, "argv": list(argv),
           "history": {"iteration": list(range(1, n + 1)), "objective": list(objective),
                       "residual": list(residual), "train_accuracy": [0.5] * n, "test_accuracy": [0.4] * n}}
    path.write_text(json.dumps(run))
    return str(path)


def test_plot_keeps_one_colour_per_run_and_names_things_right(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig))
    a = _record(tmp_path / "a.json", residual=(0.0, 0.0, 0.0))  # no residual: the panel must skip only it
    b = _record(tmp_path / "b.json", argv=["--preset", "code"], objective=(-5.0, -6.0, -7.0))
    assert main(["plot", a, b, "-o", str(tmp_path / "curves")]) == 0
    assert capsys.readouterr().out.strip() == f"amref: wrote {tmp_path / 'curves.png'}"
    assert (tmp_path / "curves.png").exists() and not (tmp_path / "curves").exists()
    fig = figures[-1]
    objective, residual, train, _ = fig.axes
    colour = {line.get_label(): line.get_color() for line in objective.get_lines()}
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(set(labels)) == 2 and "preset=code" in labels[1]
    assert [line.get_label() for line in residual.get_lines()] == [labels[1]]
    assert residual.get_lines()[0].get_color() == colour[labels[1]]
    for ax in (objective, train):
        assert [line.get_color() for line in ax.get_lines()] == [colour[labels[0]], colour[labels[1]]]
    assert objective.get_yscale() == "symlog" and residual.get_yscale() == "log"
    assert objective.get_xlabel() == "iteration"
    assert not any("not recorded" in t.get_text() for t in objective.texts)


def test_plot_labels_and_epoch_axis(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig))
    a = _record(tmp_path / "a.json", solver="adam")
    b = _record(tmp_path / "b.json", solver="adam", lr=0.1)
    assert main(["plot", a, b, "--label", "one", "--label", "two", "-o", str(tmp_path / "p.png")]) == 0
    fig = figures[-1]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["one", "two"]
    from amref.plotting import load_run, run_labels

    record = json.loads(open(b).read())
    record["status"] = "interrupted"
    (tmp_path / "c.json").write_text(json.dumps(record))
    assert run_labels([load_run(a), load_run(tmp_path / "c.json")]) == ["adam rho=1 digits", "adam rho=1 lr=0.1 digits (interrupted)"]
    assert fig.axes[0].get_xlabel() == "epoch"
    assert main(["plot", a, b, "--label", "one", "-o", str(tmp_path / "p.png")]) == 2
    assert "--label given 1 times for 2 runs" in _err_line(capsys)


def test_resume_refuses_a_shorter_run_and_a_second_starting_point(saved_run, capsys):
    base = ["train", "--hidden", "8", "--quiet", "--train-size", "300", "--resume", str(saved_run)]
    assert main([*base, "--iters", "2"]) == 2
    assert "--iters 2 is below the 3 iterations the checkpoint has done" in _err_line(capsys)
    assert main([*base, "--iters", "4", "--init", str(saved_run)]) == 2
    assert "--init and --resume" in _err_line(capsys)


def test_a_diverging_run_says_so_on_one_line(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["train", "--solver", "adam", "--lr", "1e300", "--iters", "3", "--hidden", "8", "--quiet",
                 "--out", str(out)]) == 3
    captured = capsys.readouterr()
    assert captured.err == "" and "diverged at iteration 1" in captured.out
    assert json.loads(out.read_text())["status"] == "diverged"


@pytest.mark.parametrize("meta, words", [
    ({"format": 1}, "no tree of the saved values"),
    ([1, 2], "no tree of the saved values"),
    ({"format": 1, "tree": {"__dict__": {"state": {"weird": 1}}}}, "unrecognised checkpoint node"),
    ({"format": 1, "tree": {"__type__": "amref.solvers.dladmm:DlADMMOptions", "fields": {"nope": 1}}},
     "unexpected keyword argument 'nope'"),
    ({"format": 1, "tree": {"__type__": "amref.solvers.dladmm:DlADMMOptions"}}, "KeyError"),
    ({"format": 1, "tree": {"__dict__": {"state": {"__array__": "s.gone"}}}}, "missing array 's.gone'"),
])
def test_a_damaged_description_is_one_line_naming_the_file(tmp_path, capsys, meta, words):
    path = tmp_path / "bad.npz"
    np.savez(path, __amref_meta__=np.array(json.dumps(meta)))
    assert main(["train", "--iters", "2", "--hidden", "8", "--quiet", "--resume", str(path)]) == 2
    line = _err_line(capsys)
    assert str(path) in line and words in line, line


def test_a_write_removes_the_temporaries_a_killed_writer_left(tmp_path):
    """SIGKILL during a checkpoint write leaves its temporary; the next write of that file removes it."""
    code = ("import os, signal, numpy as np\n"
            "from amref import checkpoint as c\n"
            "with c.atomic_open('c.npz') as f:\n"
            "    f.write(b'partial'); f.flush(); os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == -signal.SIGKILL
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert len(left) == 1 and not (tmp_path / "c.npz").exists()
    ckpt.atomic_savez(tmp_path / "c.npz", {"a": np.ones(1)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_ctrl_c_to_a_dask_runs_process_group_still_saves(tmp_path):
    """The terminal sends SIGINT to every process of the group, local dask workers included."""
    pytest.importorskip("distributed")
    code, _, err = _train_until_rows(tmp_path, ["--solver", "pdadmm", "--runner", "dask", "--workers", "2",
                                                "--out", "run.json"], signal.SIGINT, rows=2, timeout=180)
    assert code == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("amref: interrupted by SIGINT")
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["status"] == "interrupted"
    assert ckpt.load(tmp_path / "run.ckpt.npz", np)["nit"] == run["nit"] >= 2
