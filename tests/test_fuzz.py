"""Hostile input, drawn by hypothesis: random flags, values and files for ``amref train``, random arguments for
the options classes and ``MLP``. Every case ends in a valid run record, or a non-zero exit with exactly one
``amref: error:`` line (a constructor: ``ValueError``/``TypeError`` with one line), never a traceback."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import amref  # noqa: E402
from amref.cli import main  # noqa: E402

NUMBERS = st.sampled_from(["0", "1", "-1", "1e-6", "-1e-6", "1e-320", "1e308", "inf", "-inf", "nan", "2.5", "abc",
                           "", "true", "3", "0.5", "1e400", "-0", "[1]", "{}", "null"])
FILE_KINDS = st.sampled_from(["missing", "directory", "garbage", "empty", "json", "fresh"])
SOLVERS = st.sampled_from(["dladmm", "pdadmm", "mdlam", "bcd", "taylor-admm", "mac", "adam", "sgd", "nope"])
OPTION_KEYS = st.sampled_from(["rho", "nu", "theta0", "p_step0", "lr", "zl.method", "zl.fista_step", "max_doublings",
                               "nope", "zl", "rho.x", "backtrack_factor", ""])


def _file(directory: str, kind: str, name: str) -> str:
    path = os.path.join(directory, name)
    if kind == "directory":
        os.makedirs(path, exist_ok=True)
    elif kind == "garbage":
        with open(path, "wb") as f:
            f.write(os.urandom(64))
    elif kind == "empty":
        open(path, "wb").close()
    elif kind == "json":
        with open(path, "w") as f:
            f.write('{"history": {"iteration": [1]}}')
    return path


def _pick(draw, good, bad):
    """Mostly a good value, one time in five a bad one (so that most cases get as far as running)."""
    return draw(st.sampled_from(bad)) if draw(st.integers(0, 4)) == 0 else draw(st.sampled_from(good))


@st.composite
def train_argv(draw):
    argv = ["train", "--quiet", "--iters", _pick(draw, ["1", "2"], ["0", "-3", "x"]),
            "--hidden", _pick(draw, ["4", "6,4", ""], ["0", "a", "-2"]),
            "--train-size", _pick(draw, ["60", "40"], ["0", "100000", "-1"]),
            "--test-size", "30", "--solver", _pick(draw, ["dladmm", "pdadmm", "mdlam", "bcd", "taylor-admm", "mac",
                                                          "adam", "sgd"], ["nope"]), "--threads", "1"]
    for flag, good in (("--rho", ["1", "1e-6", "1e-320"]), ("--nu", ["1", "-1e-6"]), ("--lr", ["0.01"]),
                       ("--tol", ["1e-3", "0"]), ("--weight-decay", ["0", "1e-4"])):
        if draw(st.integers(0, 5)) == 0:
            argv += [flag, _pick(draw, good, ["-1", "inf", "nan", "abc", "", "1e400", "-inf"])]
    for flag, good, bad in (("--seed", ["0", "7"], ["-1", "1e3"]), ("--batch-size", ["8"], ["0", "-4"]),
                            ("--eval-every", ["1", "3"], ["0"]), ("--checkpoint-every", ["1", "0"], ["-1"]),
                            ("--dtype", ["float32", "float64"], ["float16"]),
                            ("--preset", ["paper", "code"], ["dladmm", "x"]),
                            ("--loss", ["squared", "hinge", "cross_entropy"], ["l1"]), ("--runner", ["serial"], ["x"])):
        if draw(st.integers(0, 3)) == 0:
            argv += [flag, _pick(draw, good, bad)]
    if draw(st.integers(0, 3)) == 0:
        argv += ["--option", f"{draw(OPTION_KEYS)}={draw(NUMBERS)}"]
    files = {}
    for flag in ("--out", "--checkpoint", "--save-weights", "--init", "--resume"):
        output = flag in ("--out", "--checkpoint", "--save-weights")
        if draw(st.integers(0, 5)) == 0 or (output and draw(st.booleans())):
            kind = _pick(draw, ["fresh"], ["missing", "directory", "garbage", "empty", "json"]) if output \
                else draw(FILE_KINDS)
            files[flag] = (kind, _pick(draw, [flag[2:] + (".json" if flag == "--out" else ".npz")],
                                       ["a.json", "b.npz"]))
    return argv, files


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=train_argv())
def test_train_never_shows_a_traceback(case, capsys):
    argv, files = case
    capsys.readouterr()
    with tempfile.TemporaryDirectory() as d:
        made = {}
        for flag, (kind, name) in files.items():
            path = made.get(name) or _file(d, kind, name)
            made[name] = path
            argv += [flag, path]
        code = main(argv + ["--data-dir", d, "--no-download"])  # digits needs no files
        err = capsys.readouterr().err.strip().splitlines()
        hypothesis.event(f"exit {code}")
        if code in (0, 3):  # completed, converged or diverged: the run record is valid
            out = files.get("--out")
            if out is not None:
                run = json.loads(open(made[out[1]]).read())
                assert run["status"] in ("completed", "converged", "diverged")
                assert all(len(v) == len(run["history"]["iteration"]) for v in run["history"].values())
            assert not err, err
        else:
            assert len(err) == 1 and err[0].startswith("amref: error:"), (argv, err)


VALUES = st.one_of(st.sampled_from([0, 1, -1, 0.0, 1e-320, -1e-6, 1e308, float("inf"), float("nan"), True, None,
                                    "paper", "code", "fista", "x", 2.5, 10, [1], {}]), st.floats(), st.integers())


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(amref.solver_names()), data=st.data())
def test_options_constructors_raise_one_line_errors(name, data):
    cls = amref.get_solver(name).options_class
    fields = [f.name for f in dataclasses.fields(cls)]
    kwargs = {key: data.draw(VALUES) for key in data.draw(st.lists(st.sampled_from(fields), max_size=3, unique=True))}
    try:
        cls(**kwargs)
    except (ValueError, TypeError) as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip(), repr(exc)


@settings(max_examples=100, deadline=None)
@given(widths=st.lists(st.one_of(st.integers(-2, 5), st.sampled_from([2.5, "3", None, True])), max_size=5),
       loss=st.sampled_from(["cross_entropy", "squared", "hinge", "l1", None, 3]))
def test_mlp_constructor_raises_one_line_errors(widths, loss):
    try:
        amref.MLP(tuple(widths), loss=loss)
    except (ValueError, TypeError) as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip(), repr(exc)
