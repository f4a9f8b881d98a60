"""Protocols: every shipped file parses and names only what exists, the quickstart shape is accepted, a run
writes the results schema, ``amref train --protocol`` takes overrides, and records carry provenance."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import textwrap

import pytest

import amref
from amref import protocols, provenance
from amref.cli import main
from amref.protocols import ProtocolError, build, metrics, runner
from amref.protocols.spec import PaperValue, RunSpec
from amref.solvers.dladmm import DlADMMOptions
from amref.solvers.greedy import Stage

SHIPPED = protocols.names()
REQUIRED = ("dladmm-convergence", "dladmm-accuracy", "dladmm-baselines", "taylor-admm-fig4", "bcd-reference",
            "mdlam-table4", "pdadmm-convergence", "pdadmm-g-tables", "parallel-bytes")

# the shape the newcomer-defaults protocol file uses (one [[runs]] entry per solver)
QUICKSTART_SHAPE = """
name = "quickstart-shape"
title = "One line"
description = "What it shows; where the numbers come from."
[data]
dataset = "digits"
[model]
hidden = [100, 100]
[[runs]]
solver = "dladmm"
variant = "quickstart"
iterations = 50
loss = "cross_entropy"
hidden = [100, 100]
options = { rho = 1.0, nu = 1.0 }
[[runs]]
solver = "adam"
variant = "quickstart"
iterations = 5
options = { lr = 1e-3, "weight_decay" = 0.0 }
[[runs]]
solver = "mdlam"
variant = "quickstart"
iterations = 5
options = { rho = 1e-3, "zl.method" = "newton" }
"""

TINY = """
name = "tiny"
title = "Two dlADMM runs on digits"
description = "A test protocol."
verdict = "within 0.5"
seeds = [0, 1]
metrics = ["train_accuracy", "test_accuracy", "monotone:objective"]
report_epochs = [2, 3]
[data]
dataset = "digits"
train_size = 300
test_size = 100
[model]
hidden = [16]
[quick]
seeds = [0]
report_epochs = [2]
comparable = false
[[runs]]
solver = "dladmm"
variant = "paper"
iterations = 3
options = { rho = 1.0, nu = 1.0, zl = { method = "newton" } }
setting = { rho = 1.0 }
[[runs]]
solver = "dladmm"
variant = "code"
preset = "code"
iterations = 3
options = { rho = 1.0, "zl.method" = "newton" }
setting = { rho = 1.0 }
[[paper]]
dataset = "digits"
variant = "paper"
setting = { epoch = 3 }
metric = "test_accuracy"
value = 0.0
tolerance = 0.5
rule = "at_least"
source = "made up for the test"
[[paper]]
dataset = "digits"
metric = "monotone:objective"
value = 1.0
tolerance = 0.0
rule = "at_least"
source = "made up for the test"
quick_comparable = true
"""


def _write(tmp_path, text: str, name: str = "p.toml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


# ----------------------------------------------------------------------------- loading
def test_the_required_protocols_ship():
    assert set(REQUIRED) <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("quick", [False, True])
def test_every_shipped_protocol_parses_and_names_only_options_that_exist(name, quick):
    p = protocols.load(name, quick=quick)  # build.check: every run's and stage's options built
    assert p.name == name and p.title and p.runs
    for run in p.runs:
        spec = amref.get_solver(run.solver)
        opts = build.build_options(run.solver, run.preset, run.options)
        assert isinstance(opts, spec.options_class)
        for k in range(len(run.stages)):
            assert isinstance(build.stage_options(run, k), spec.options_class)
    if not quick and name in REQUIRED:
        assert p.paper, "a paper protocol reports the paper's numbers"
        for value in p.paper:
            assert value.source


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "quickstart"])
def test_quick_is_smaller_than_full(name):
    full, quick = protocols.load(name), protocols.load(name, quick=True)
    cost = lambda p: sum(len(r.seeds) * (sum(s.iterations for s in r.stages) or r.iterations)  # noqa: E731
                         * (r.data.get("train_size") or 10**5) * max(r.hidden) for r in p.runs)
    assert cost(quick) < cost(full)


def test_the_quickstart_shape_is_accepted(tmp_path):  # the newcomer-defaults file has this shape
    p = protocols.load(_write(tmp_path, QUICKSTART_SHAPE))
    assert [r.solver for r in p.runs] == ["dladmm", "adam", "mdlam"]
    assert {r.variant for r in p.runs} == {"quickstart"} and p.runs[0].dataset == "digits"
    assert p.runs[0].hidden == (100, 100) and p.runs[0].loss == "cross_entropy" and p.runs[0].iterations == 50
    assert build.build_options("dladmm", "paper", p.runs[0].options) == DlADMMOptions(rho=1.0, nu=1.0)
    mdlam = build.build_options("mdlam", "paper", p.runs[2].options)
    assert mdlam.zl.method == "newton" and mdlam.rho == 1e-3


@pytest.mark.parametrize("body, needle", [
    ('[[runs]]\nsolver = "dladmm"\noptions = { rhoo = 1.0 }', "DlADMMOptions has no option 'rhoo'"),
    ('[[runs]]\nsolver = "dladmm"\noptions = { "zl.metod" = "newton" }', "has no option 'metod'"),
    ('[[runs]]\nsolver = "dladmm"\npreset = "nope"', "has no preset 'nope'"),
    ('[[runs]]\nsolver = "nosolver"', "unknown solver 'nosolver'"),
    ('[[runs]]\nsolver = "dladmm"\nmetrics = ["accuracy"]', "unknown metric 'accuracy'"),
    ('[[runs]]\nsolver = "dladmm"\ndata = { hopz = 3 }', "no option 'hopz'"),
    ('[[runs]]\nsolver = "dladmm"\nitertions = 3', "unknown key(s) itertions"),
    ('[[runs]]\nsolver = "dladmm"\noptions = { rho = -1.0 }', "rho"),
    ('[[runs]]\nsolver = "dladmm"\n[[paper]]\ndataset = "mnist"\nmetric = "test_accuracy"\nvalue = 0.9\n'
     'source = "x"', "matches no run"),
])
def test_a_protocol_naming_what_does_not_exist_is_refused_in_one_line(tmp_path, body, needle):
    path = _write(tmp_path, f'name = "bad"\ntitle = "t"\n[data]\ndataset = "digits"\n{body}\n')
    with pytest.raises(ProtocolError) as info:
        protocols.load(path)
    assert needle in str(info.value) and "\n" not in str(info.value)


ACTIVATION = """
name = "act"
title = "Activations"
[data]
dataset = "digits"
train_size = 200
test_size = 50
[model]
hidden = [8, 8]
activation = "hardtanh"
[[runs]]
solver = "dladmm"
variant = "default"
iterations = 1
[[runs]]
solver = "adam"
variant = "step"
activation = "step"
options = { straight_through = true }
[[runs]]
solver = "bcd"
variant = "per-layer"
activation = "relu,leaky_relu:0.1"
"""


def test_the_activation_reaches_the_built_network(tmp_path):
    p = protocols.load(_write(tmp_path, ACTIVATION))
    assert [r.activation for r in p.runs] == ["hardtanh", "step", "relu,leaky_relu:0.1"]  # [model], then the run's
    nets = [build.problem_for(r, 64, 10) for r in p.runs]
    assert [n.activation for n in nets] == ["hardtanh", "step", "relu,leaky_relu:0.1"]
    assert [a.name for a in nets[2].activations][0] == "relu"
    assert build.build_options("adam", "paper", p.runs[1].options).straight_through is True
    data = build.load_data(p.runs[0])
    result, _ = runner.execute(p.runs[0], 0, data)
    assert result.nit == 1
    out = tmp_path / "run.json"
    assert main(["train", "--protocol", str(tmp_path / "p.toml"), "--variant", "step", "--iters", "1", "--quiet",
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())["activation"] == "step"
    assert main(["train", "--protocol", str(tmp_path / "p.toml"), "--variant", "step", "--iters", "1", "--quiet",
                 "--activation", "relu", "--out", str(out)]) == 0  # an explicit flag wins
    assert json.loads(out.read_text())["activation"] == "relu"


@pytest.mark.parametrize("where, value, needle", [
    ("run", '"sine"', "unknown activation 'sine'"),
    ("model", '"sine"', "unknown activation 'sine'"),
    ("run", '"relu,relu,relu"', "3 activations given for 1 hidden layers"),
])
def test_an_unknown_activation_is_refused_naming_the_run(tmp_path, where, value, needle):
    model = f"activation = {value}" if where == "model" else ""
    run = f"activation = {value}" if where == "run" else ""
    path = _write(tmp_path, f'name = "bad"\ntitle = "t"\n[data]\ndataset = "digits"\n[model]\nhidden = [4]\n{model}\n'
                            f'[[runs]]\nsolver = "dladmm"\nvariant = "v"\n{run}\n')
    with pytest.raises(ProtocolError) as info:
        protocols.load(path)
    msg = str(info.value)
    assert needle in msg and "runs[0] (v)" in msg and "\n" not in msg


def test_the_activations_protocol_covers_every_solver_and_activation():
    assert "activations" in SHIPPED  # so the every-shipped-protocol test checks its options at both sizes
    for quick in (False, True):
        p = protocols.load("activations", quick=quick)
        digits = [r for r in p.runs if r.dataset == "digits"]
        cells = {(r.variant, r.activation) for r in digits}
        for solver in amref.am_solver_names():
            assert {(solver, a) for a in ("relu", "hardtanh", "step")} <= cells
        assert ("adam-ste", "step") in cells and ("adam-no-ste", "step") in cells
        ste = {r.variant: build.build_options(r.solver, r.preset, r.options).straight_through
               for r in digits if r.solver == "adam" and r.activation == "step"}
        assert ste == {"adam-ste": True, "adam-no-ste": False}
        assert not p.paper
        assert {r.dataset for r in p.runs} == ({"digits"} if quick else {"digits", "mnist"})


def test_stages_carry_the_codes_per_stage_and_per_dataset_options():
    p = protocols.load("pdadmm-g-tables")
    cora = protocols.select(p, dataset="cora", variant="pdadmm-g")
    citeseer = protocols.select(p, dataset="citeseer", variant="pdadmm-g")
    stages = build.stages_for(cora)
    assert [(s.depth, s.iterations, s.output_init, s.handover) for s in stages] == [
        (2, 200, "random", "weights"), (5, 10, "random", "state"), (10, 200, "identity", "state")]
    assert [s.options.weight_decay for s in stages] == [10.0, 1.0, 0.01]
    assert [s.options.rho for s in stages] == [1e-5, 1e-5, 1e-4]
    assert [s.options.zl_init for s in stages] == ["zeros", "zeros", "labels"]
    assert all(s.options.cost_start == 4 for s in stages)
    assert [s.options.weight_decay for s in build.stages_for(citeseer)] == [10.0, 0.1, 0.01]  # Citeseer's own μ
    assert build.stages_for(citeseer)[-1].options.rho == 1e-3
    assert all(s.options.rho_schedule == "cost" and s.options.nu_equals_rho for s in stages)  # the code's
    delta = protocols.select(p, dataset="cora", variant="pdadmm-g-q-paper-delta")
    assert build.stages_for(delta)[0].options.levels == amref.quantize.PAPER_LEVELS


@pytest.mark.parametrize("variant", ["pdadmm-g-q", "pdadmm-g-q-tol", "pdadmm-g-q-paper-delta"])
@pytest.mark.parametrize("dataset", ["cora", "citeseer"])
def test_the_g_q_stages_follow_the_scripts_stage_rules(dataset, variant):
    from amref.solvers.pdadmm_g import PdADMMGQOptions

    run = protocols.select(protocols.load("pdadmm-g-tables"), dataset=dataset, variant=variant)
    extra = {"quantize": "p", "levels": amref.quantize.PAPER_LEVELS} if variant.endswith("paper-delta") else {}
    deep = {"cost_tol_first": None} if variant.endswith("-tol") else {}  # 0.001 on both comparisons
    rho10 = 1e-4 if dataset == "cora" else 1e-3
    mu5 = 0.01 if dataset == "cora" else 0.1  # the -G-Q 5-layer script's own μ
    want = [PdADMMGQOptions.released_code(rho=1e-5, weight_decay=10.0, stage="shallow", zl_init="zeros", **extra),
            PdADMMGQOptions.released_code(rho=1e-5, weight_decay=mu5, stage="middle", zl_init="zeros", **extra),
            PdADMMGQOptions.released_code(rho=rho10, weight_decay=0.01, stage="deep", **extra, **deep)]
    for got, ref in zip(build.stages_for(run), want):
        # TOML has no None: cost_tol_first = cost_tol stands for None (the same test)
        first = ref.cost_tol if ref.cost_tol_first is None else ref.cost_tol_first
        assert got.options == dataclasses.replace(ref, cost_tol_first=first)


HANDOVER = """
name = "handover"
title = "A state hand-over"
[data]
dataset = "digits"
[[runs]]
solver = "SOLVER"
hidden = [8, 8]
[[runs.stages]]
depth = 2
iterations = 2
[[runs.stages]]
depth = 3
iterations = 2
handover = "HANDOVER"
"""


def test_a_stage_hands_over_what_the_protocol_says(tmp_path):
    p = protocols.load(_write(tmp_path, HANDOVER.replace("SOLVER", "pdadmm-g").replace("HANDOVER", "state")))
    stages = build.stages_for(p.runs[0])
    assert [s.handover for s in stages] == ["weights", "state"]
    assert all(isinstance(s, Stage) for s in stages)


@pytest.mark.parametrize("solver, handover, needle", [
    ("pdadmm-g", "forward", "handover must be 'weights' or 'state', got 'forward'"),
    ("dladmm", "state", "dladmm cannot hand over its state"),
])
def test_a_bad_handover_is_refused_in_one_line(tmp_path, solver, handover, needle):
    path = _write(tmp_path, HANDOVER.replace("SOLVER", solver).replace("HANDOVER", handover))
    with pytest.raises(ProtocolError) as info:
        protocols.load(path)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_grids_and_presets_are_built_from_plain_values():
    opts = build.build_options("pdadmm-g-q", "code", {"quantize": "pq", "levels": {"uniform": [0.0, 1.25, 256]}})
    assert opts.levels == amref.quantize.Grid.uniform(0.0, 1.25, 256) and opts.quantize == "pq"
    assert build.build_options("dladmm", "code", {"rho": 1e-3}).nu == 1e-3  # the preset's ν = ρ follows ρ
    assert build.build_options("sgd", "dladmm", {}).lr == amref.optim.preset("dladmm", "sgd").lr
    assert build.build_options("taylor-admm", "dladmm_paper", {}).gamma == 1.0


# ----------------------------------------------------------------------------- verdicts
def _paper(value, rule="within", tol=0.01, quick_comparable=None):
    return PaperValue("d", "test_accuracy", value, "s", rule=rule, tolerance=tol, quick_comparable=quick_comparable)


@pytest.mark.parametrize("paper, ours, kwargs, want", [
    (_paper(0.9), 0.905, {}, "reproduced"),
    (_paper(0.9), 0.92, {}, "not reproduced"),
    (_paper(0.9, "at_least"), 0.95, {}, "reproduced"),
    (_paper(0.9, "at_least"), 0.88, {}, "not reproduced"),
    (_paper(-6.0, "at_most", 0.5), -7.5, {}, "reproduced"),
    (_paper(-6.0, "at_most", 0.5), -5.0, {}, "not reproduced"),
    (_paper(None), 0.9, {}, "no paper value"),
    (None, 0.9, {}, "no paper value"),
    (_paper(0.9), math.nan, {}, "not reproduced"),
    (_paper(0.9), 0.9, {"quick": True, "comparable": False}, "not comparable"),
    (_paper(0.9, quick_comparable=True), 0.9, {"quick": True, "comparable": False}, "reproduced"),
])
def test_verdict_rules(paper, ours, kwargs, want):
    assert metrics.verdict(paper, ours, **kwargs) == want


def test_metrics_from_a_history():
    h = {"iteration": [1, 2, 3, 4], "objective": [math.e ** 3, math.e ** 2, math.e ** 2.5, math.e],
         "test_accuracy": [0.1, 0.2, 0.3, 0.4]}
    assert metrics.compute("monotone:objective", h) == pytest.approx(2 / 3)
    assert metrics.compute("ln_first:objective", h) == pytest.approx(3.0)
    assert metrics.compute("ln_last:objective", h) == pytest.approx(1.0)
    assert metrics.compute("test_accuracy", h, epoch=2) == 0.2 and metrics.compute("test_accuracy", h) == 0.4
    assert math.isnan(metrics.compute("test_accuracy", h, epoch=7))


# ----------------------------------------------------------------------------- running: the results schema
def test_reproduce_writes_results_report_and_records(tmp_path):
    path = _write(tmp_path, TINY)
    out = tmp_path / "out"
    res = amref.reproduce(path, out=out, verbose=False)
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(res))
    assert set(runner.RESULT_KEYS) <= set(on_disk) and on_disk["protocol"] == "tiny" and on_disk["quick"] is False
    assert on_disk["provenance"]["seeds"] == [0, 1]
    rows = on_disk["rows"]
    # 2 runs × (2 accuracies × 2 epochs + monotone) = 10 numbers
    assert len(rows) == 10 and all(set(runner.ROW_KEYS) <= set(r) for r in rows)
    by = {(r["variant"], r["metric"], r["setting"].get("epoch")): r for r in rows}
    judged = by[("paper", "test_accuracy", 3)]
    assert judged["paper"] == 0.0 and judged["verdict"] == "reproduced" and judged["seeds"] == [0, 1]
    assert judged["ours"] == pytest.approx(sum(judged["values"]) / 2)
    assert judged["ours_std"] == pytest.approx(abs(judged["values"][0] - judged["values"][1]) / 2)
    assert by[("code", "test_accuracy", 3)]["verdict"] == "no paper value"  # the value names variant "paper"
    assert by[("paper", "monotone:objective", None)]["verdict"] == "reproduced"  # ρ = 1: monotone
    # each seed's run record: the ordinary record plus protocol, variant and provenance
    record = json.loads((out / "runs" / "digits-code-rho=1-seed1.json").read_text())
    assert record["protocol"] == "tiny" and record["variant"] == "code" and record["seed"] == 1
    assert record["options"]["rho_schedule"] == "cost" and record["options"]["zl"]["method"] == "newton"
    assert record["provenance"]["seeds"] == [1]
    assert len(record["history"]["test_accuracy"]) == 3
    # the accuracy at epoch 2 of the run record is the row's value
    assert by[("code", "test_accuracy", 2)]["values"][1] == record["history"]["test_accuracy"][1]
    report = (out / "report.md").read_text()
    assert "Two dlADMM runs on digits" in report and "| digits | paper | rho = 1, epoch = 3 |" in report


def test_quick_overrides_and_seeds(tmp_path):
    path = _write(tmp_path, TINY)
    res = amref.reproduce(path, quick=True, out=tmp_path / "q", verbose=False, seeds=2,
                          overrides=["iterations=2", "options.rho=0.5"])
    assert res["quick"] is True and {r["setting"].get("epoch") for r in res["rows"]} == {2, None}
    assert all(r["seeds"] == [0, 1] for r in res["rows"])
    record = json.loads((tmp_path / "q" / "runs" / "digits-paper-rho=1-seed0.json").read_text())
    assert record["options"]["rho"] == 0.5 and record["nit"] == 2
    mono = [r for r in res["rows"] if r["metric"] == "monotone:objective" and r["paper"] is not None]
    assert mono and all(r["verdict"] != "not comparable" for r in mono)  # quick_comparable
    with pytest.raises(ProtocolError, match="unknown key 'bogus'"):
        runner.apply_overrides(protocols.load(path), ["bogus=1"])


def test_override_of_an_option_wins_over_the_stages_own():
    p = runner.apply_overrides(protocols.load("pdadmm-g-tables", quick=True), ["options.rho=0.01", "iterations=3"])
    run = protocols.select(p, dataset="citeseer")
    assert [s.options.rho for s in build.stages_for(run)] == [0.01, 0.01, 0.01]
    assert [s.iterations for s in run.stages] == [3, 3, 3]


# ----------------------------------------------------------------------------- the command line
def test_reproduce_list_prints_one_protocol_a_line(capsys):
    assert main(["reproduce", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == SHIPPED


def test_reproduce_and_report_commands(tmp_path, capsys):
    path = _write(tmp_path, TINY)
    out = tmp_path / "cli"
    assert main(["reproduce", path, "--quick", "--out", str(out), "--set", "iterations=2", "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["provenance"]["command"][:3] == ["amref", "reproduce", path]
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    commit = provenance.git_commit()
    assert "| digits | paper | rho = 1, epoch = 2 | test_accuracy |" in text
    if commit is not None:
        assert commit["commit"][:7] in text
    assert main(["reproduce", "no-such-protocol"]) != 0
    assert "unknown protocol 'no-such-protocol'" in capsys.readouterr().err


def test_train_with_a_protocol_and_overrides(tmp_path, capsys):
    path = _write(tmp_path, TINY)
    out = tmp_path / "run.json"
    assert main(["train", "--protocol", path, "--variant", "code", "--iters", "2", "--nu", "0.25", "--quiet",
                 "--out", str(out)]) == 0
    run = json.loads(out.read_text())
    assert run["protocol"] == "tiny" and run["variant"] == "code"
    assert run["dataset"] == "digits" and run["n_train"] == 300 and run["widths"] == [64, 16, 10]
    assert run["options"]["rho_schedule"] == "cost"  # the code variant's preset
    assert run["options"]["rho"] == 1.0 and run["options"]["nu"] == 0.25  # protocol, then the flag
    assert run["nit"] == 2 and run["provenance"]["seeds"] == [0]
    assert main(["train", "--protocol", path, "--variant", "nope", "--quiet"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no run with variant 'nope'" in err[0]


GREEDY = """
name = "greedy"
title = "Greedy stages on digits"
[data]
dataset = "digits"
train_size = 200
test_size = 50
[[runs]]
solver = "pdadmm-g"
variant = "code"
preset = "code"
hidden = [8, 8, 8]
[[runs.stages]]
depth = 2
iterations = 2
options = { rho = 1e-3, weight_decay = 10.0 }
[[runs.stages]]
depth = 4
iterations = 3
output_init = "identity"
options = { rho = 1e-2 }
"""


def test_train_with_a_greedy_protocol_runs_its_stages_with_the_flags_on_each(tmp_path):
    path = _write(tmp_path, GREEDY)
    out = tmp_path / "run.json"
    assert main(["train", "--protocol", path, "--quiet", "--out", str(out), "--option", "cost_patience=5"]) == 0
    run = json.loads(out.read_text())
    assert run["history"]["stage"] == [1, 1, 2, 2, 2] and run["history"]["depth"] == [2, 2, 4, 4, 4]
    stages = run["options"]["greedy_stages"]
    assert [s["options"]["rho"] for s in stages] == [1e-3, 1e-2]
    assert [s["options"]["weight_decay"] for s in stages] == [10.0, 0.01]  # stage 2: the preset's μ
    assert [s["options"]["cost_patience"] for s in stages] == [5, 5]
    assert [s["output_init"] for s in stages] == ["random", "identity"]


# ----------------------------------------------------------------------------- provenance
def test_provenance_tells_conditions_apart(tmp_path):
    p = provenance.collect(seeds=[3, 4], argv=["amref", "train"])
    assert p["seeds"] == [3, 4] and p["command"] == ["amref", "train"]
    assert p["amref"]["version"] == amref.__version__
    assert p["packages"]["numpy"] == __import__("numpy").__version__
    assert p["packages"]["scipy"] == __import__("scipy").__version__
    assert p["python"]["version"].count(".") == 2 and p["cpu"]["count"] >= 1 and p["date"].endswith("+00:00")
    assert "device" not in p  # NumPy runs name no GPU
    git = provenance.git_commit()
    if git is not None:
        head = subprocess.run(["git", "-C", str(amref.provenance._ROOT), "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        assert p["amref"]["git"]["commit"] == head
    json.dumps(p)  # plain JSON


def test_train_record_carries_provenance(tmp_path):
    out = tmp_path / "run.json"
    assert main(["train", "--iters", "1", "--hidden", "8", "--quiet", "--seed", "5", "--out", str(out)]) == 0
    prov = json.loads(out.read_text())["provenance"]
    assert prov["seeds"] == [5] and prov["backend"] == "numpy" and "blas" in prov


def test_runspec_names_distinguish_settings():
    a = RunSpec("dladmm", "paper", "mnist", 1, (1,), setting={"rho": 1.0})
    b = RunSpec("dladmm", "paper", "mnist", 1, (1,), setting={"rho": 1e-6})
    assert a.name != b.name and a.name == "mnist/paper/rho=1"


def test_report_refuses_what_is_not_a_results_file_in_one_line(tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps({"rows": []}))
    assert main(["report", str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a results.json of 'amref reproduce'" in err[0]
    assert main(["report", str(tmp_path / "missing")]) != 0
    assert "no results.json" in capsys.readouterr().err
