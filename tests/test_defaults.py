"""What a newcomer meets: the quickstart protocol file, ``amref train``'s use of it on digits, ``--preset
paper`` giving the papers' defaults, and the thread count chosen from the problem size."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import math
import os
import tomllib

import pytest

import amref
from amref import defaults, threads
from amref.cli import main

pytest.importorskip("sklearn")  # digits ships with scikit-learn


def _plain(x):
    """An options dataclass as the run record writes it (nested dicts, lists, non-finite → None)."""
    def walk(v):
        if isinstance(v, dict):
            return {k: walk(w) for k, w in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(w) for w in v]
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v
    return walk(dataclasses.asdict(x))


def _train(tmp_path, *argv):
    out = tmp_path / "run.json"
    code = main(["train", "--dataset", "digits", "--quiet", "--out", str(out), *argv])
    assert code == 0
    return json.loads(out.read_text())


# ----------------------------------------------------------------------------- the file
def test_quickstart_file_has_the_agreed_shape_and_one_run_per_solver():
    raw = tomllib.loads(importlib.resources.files("amref").joinpath("protocols", "quickstart.toml").read_text())
    assert raw["name"] == "quickstart" and raw["title"] and raw["description"]
    assert set(raw) <= {"name", "title", "description", "data", "model", "runs"}
    assert raw["data"] == {"dataset": "digits"} and raw["model"]["hidden"] == [100, 100]
    for run in raw["runs"]:
        assert set(run) <= {"solver", "variant", "iterations", "loss", "hidden", "options"}, run
        assert run["variant"] == "quickstart" and run["iterations"] >= 1
    assert [r["solver"] for r in raw["runs"]] == amref.solver_names()


@pytest.mark.parametrize("run", defaults.quickstart_runs(), ids=lambda r: r.solver)
def test_every_quickstart_run_names_only_options_that_exist(run):
    options = run.build_options()  # validated at construction; an unknown name raises
    paper = amref.get_solver(run.solver).options_class()
    assert type(options) is type(paper)
    for key, value in run.options.items():
        got = options
        for part in key.split("."):
            got = getattr(got, part)
        assert got == value
    changed = {f.name for f in dataclasses.fields(paper) if getattr(paper, f.name) != getattr(options, f.name)}
    assert changed == {k.split(".")[0] for k in run.options}  # a key equal to the paper's would be noise
    assert run.loss in (None, "cross_entropy", "squared", "hinge")


def test_unknown_option_in_a_run_is_refused():
    run = dataclasses.replace(defaults.quickstart_run("dladmm", "digits"), options={"rhoo": 1.0})
    with pytest.raises(ValueError, match="no option 'rhoo'"):
        run.build_options()


def test_quickstart_run_only_for_the_data_set_it_covers():
    assert defaults.quickstart_run("dladmm", "digits").options["rho"] == 0.2
    assert defaults.quickstart_run("dladmm", "mnist") is None
    assert defaults.quickstart_run("no-such-solver", "digits") is None


def test_the_grid_of_pdadmm_g_q_is_a_grid():
    options = defaults.quickstart_run("pdadmm-g-q", "digits").build_options()
    assert options.levels == amref.quantize.Grid.uniform(-1.0, 20.0, 211) and options.quantize == "p"


def test_not_monotone_reason_only_where_the_method_allows_a_rise():
    reason = {r.solver: defaults.not_monotone_reason(r) for r in defaults.quickstart_runs()}
    assert reason["dladmm"] is None and reason["bcd"] is None and reason["pdadmm"] is None
    assert "multiplier" in reason["taylor-admm"] and "mu" in reason["mac"]
    assert "mini-batch" in reason["adam"]


# ----------------------------------------------------------------------------- amref train
@pytest.mark.parametrize("solver", ["dladmm", "taylor-admm", "pdadmm-g-q", "sgd", "adadagrad"])
def test_train_on_digits_uses_the_quickstart_settings(solver, tmp_path, capsys):
    run = defaults.quickstart_run(solver, "digits")
    record = _train(tmp_path, "--solver", solver, "--iters", "2")
    assert record["options"] == _plain(run.build_options())
    assert record["settings"] == "quickstart" and record["nit"] == 2
    assert record["widths"] == [64, *run.hidden, 10]
    out = capsys.readouterr().out
    assert "quickstart settings for digits" in out and "--preset paper" in out


def test_the_banner_names_the_settings_and_the_iterations(tmp_path, capsys):
    main(["train", "--dataset", "digits", "--iters", "1", "--hidden", "8", "--print-every", "1"])
    banner = capsys.readouterr().out.splitlines()[0]
    assert banner == ("amref: quickstart settings for digits (rho=0.2, nu=0.2, rho_schedule='constant', "
                      "1 iterations); --preset paper gives the paper's")


def test_the_banner_says_why_the_objective_may_rise(tmp_path, capsys):
    _train(tmp_path, "--solver", "mac", "--iters", "1")
    assert "the objective may rise: MAC raises its penalty" in capsys.readouterr().out


def test_the_quickstart_iterations_are_the_default(tmp_path):
    record = _train(tmp_path, "--solver", "mac", "--hidden", "8", "--eval-every", "100")
    assert record["nit"] == defaults.quickstart_run("mac", "digits").iterations != 50


@pytest.mark.parametrize("solver", ["dladmm", "pdadmm-g-q", "sgd"])
def test_preset_paper_gives_the_paper_defaults(solver, tmp_path, capsys):
    record = _train(tmp_path, "--solver", solver, "--preset", "paper", "--iters", "2", "--hidden", "16")
    assert record["options"] == _plain(amref.get_solver(solver).options_class())
    assert record["settings"] == "paper"
    assert "quickstart" not in capsys.readouterr().out


def test_preset_paper_keeps_the_old_iteration_count_and_widths(tmp_path):
    record = _train(tmp_path, "--solver", "mdlam", "--preset", "paper", "--eval-every", "100")
    assert record["nit"] == 50 and record["widths"] == [64, 100, 100, 10]


def test_a_hyperparameter_flag_means_the_paper_defaults_plus_that_flag(tmp_path):
    record = _train(tmp_path, "--rho", "1", "--iters", "2", "--hidden", "16")
    expected = dataclasses.replace(amref.get_solver("dladmm").options_class(), rho=1.0)
    assert record["options"] == _plain(expected) and record["settings"] == "paper"
    record = _train(tmp_path, "--option", "theta0=2", "--iters", "1", "--hidden", "16")
    assert record["options"]["rho"] == 1e-6


def test_no_quickstart_for_other_data_sets(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "quickstart_runs", lambda: ())
    record = _train(tmp_path, "--iters", "1", "--hidden", "16")
    assert record["settings"] == "paper" and record["options"]["rho"] == 1e-6


# ----------------------------------------------------------------------------- threads
@pytest.fixture
def no_pool_limit(monkeypatch):
    monkeypatch.setattr(threads, "_pool_limit", lambda: None)


def test_tiny_problems_get_one_thread(no_pool_limit):
    assert threads.choose_threads((64, 100, 100, 10), 1437, cores=16, load=0.0).threads == 1


def test_large_problems_get_every_core_and_no_more(no_pool_limit):
    widths = (784, 1000, 1000, 10)
    assert threads.largest_product_flops(widths, 10000) == 2.0 * 1000 * 1000 * 10000
    assert threads.choose_threads(widths, 10000, cores=2, load=0.0).threads == 2
    assert threads.choose_threads(widths, 10000, cores=64, load=0.0).threads == 64
    assert threads.choose_threads(widths, 1000, cores=64, load=0.0).threads == 20  # 2e9 flops / 1e8 per thread


def test_tasks_beyond_the_cores_take_threads_away(no_pool_limit):
    widths = (784, 1000, 1000, 10)
    assert threads.choose_threads(widths, 10000, cores=2, load=2.9).threads == 2  # our own last run, say
    assert threads.choose_threads(widths, 10000, cores=2, load=3.0).threads == 1
    assert threads.choose_threads(widths, 10000, cores=2, load=9.4).threads == 1
    busy = threads.choose_threads(widths, 10000, cores=64, load=80.0)
    assert busy.threads == 48 and "load 80.0" in busy.reason


def test_the_thread_pools_current_limit_is_respected(monkeypatch):
    monkeypatch.setattr(threads, "_pool_limit", lambda: 3)
    assert threads.choose_threads((784, 1000, 1000, 10), 10000, cores=64, load=0.0).threads == 3


def test_requested_threads_are_honoured_up_to_the_cores():
    assert threads.choose_threads((64, 10), 100, 3, cores=4, load=50.0) == threads.ThreadChoice(
        3, 4, "3 threads as requested")
    capped = threads.choose_threads((64, 10), 100, 64, cores=2)
    assert capped.threads == 2 and capped.capped and "capped at the 2 cores" in capped.reason
    with pytest.raises(ValueError, match="threads must be positive"):
        threads.choose_threads((64, 10), 100, 0, cores=2)


def test_available_cores_never_exceeds_the_affinity():
    assert 1 <= threads.available_cores() <= len(os.sched_getaffinity(0))


def test_train_caps_threads_at_the_cores_with_a_note(tmp_path, capsys):
    record = _train(tmp_path, "--threads", "4096", "--iters", "1", "--hidden", "8")
    assert record["threads"] == threads.available_cores()
    assert "--threads 4096 capped at the" in capsys.readouterr().err


def test_train_picks_one_thread_for_digits(tmp_path):
    assert _train(tmp_path, "--iters", "1")["threads"] == 1


# ----------------------------------------------------------------------------- the default job
@pytest.mark.slow
def test_the_default_job_reaches_093_with_a_monotone_objective(tmp_path):
    record = _train(tmp_path)
    assert record["history"]["test_accuracy"][-1] >= 0.93
    objective = record["history"]["objective"]
    assert all(b <= a for a, b in zip(objective, objective[1:]))
