"""The command line: a real run end to end, the JSON record, weights files, plots, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from amref.cli import main


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # one line, never a traceback
    assert err[0].startswith("amref: error:")
    return err[0]


def test_train_writes_the_run_record(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert main(["train", "--iters", "3", "--hidden", "16", "--quiet", "--out", str(out), "--rho", "1",
                 "--nu", "1", "--zl-solver", "newton"]) == 0
    run = json.loads(out.read_text())
    for key in ("solver", "options", "status", "history"):
        assert key in run
    assert run["solver"] == "dladmm" and run["status"] == "completed" and run["options"]["rho"] == 1.0
    assert run["options"]["zl"]["method"] == "newton"
    for key in ("objective", "residual", "train_accuracy", "test_accuracy", "seconds"):
        assert len(run["history"][key]) == 3
    assert run["widths"] == [64, 16, 10]


def test_table_and_progress(capsys):
    assert main(["train", "--iters", "2", "--hidden", "8", "--print-every", "1"]) == 0
    out = capsys.readouterr().out
    assert "objective" in out and "train acc" in out and "completed" in out


def test_init_and_save_weights_give_identical_runs(tmp_path):
    w0, w1, w2 = tmp_path / "w0.npz", tmp_path / "w1.npz", tmp_path / "w2.npz"
    assert main(["train", "--iters", "1", "--hidden", "12", "--quiet", "--seed", "5", "--save-weights", str(w0),
                 "--option", "rho=1.0"]) == 0
    for w in (w1, w2):
        assert main(["train", "--iters", "2", "--hidden", "12", "--quiet", "--seed", "99", "--init", str(w0),
                     "--save-weights", str(w), "--rho", "1"]) == 0
    with np.load(w1) as a, np.load(w2) as b:
        assert sorted(a.files) == ["W1", "W2", "activation", "b1", "b2"] and a["W1"].shape == (12, 64)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])


def test_checkpoint_and_resume(tmp_path):
    ck = tmp_path / "c.npz"
    assert main(["train", "--iters", "2", "--hidden", "8", "--quiet", "--checkpoint", str(ck), "--rho", "1"]) == 0
    out = tmp_path / "r.json"
    assert main(["train", "--iters", "4", "--hidden", "8", "--quiet", "--resume", str(ck), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["history"]["iteration"] == [1, 2, 3, 4]


@pytest.mark.parametrize("argv, needle", [
    (["train", "--bogus"], "unrecognized"),
    (["train", "--lr", "0.1", "--quiet"], "--lr does not apply"),
    (["train", "--rho", "-1", "--quiet"], "rho"),
    (["train", "--option", "nope=1", "--quiet"], "no option 'nope'"),
    (["train", "--option", "rho", "--quiet"], "KEY=VALUE"),
    (["train", "--train-size", "999999", "--quiet"], "999999"),
    (["train", "--hidden", "10,x", "--quiet"], "--hidden"),
    (["train", "--iters", "0", "--quiet"], "--iters"),
    (["train", "--solver", "sgdx", "--quiet"], "unknown solver"),
    (["train", "--dataset", "imagenet", "--quiet"], "imagenet"),
    (["train", "--init", "does-not-exist.npz", "--quiet"], "does-not-exist"),
])
def test_errors_are_one_line(argv, needle, capsys):
    code = main(argv)
    assert code != 0
    assert needle in _err_line(capsys)


def test_missing_data_files_offline(tmp_path, capsys):
    assert main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--no-download", "--quiet"]) != 0
    assert "mnist" in _err_line(capsys).lower()


def test_digits_without_scikit_learn_names_the_extra(monkeypatch, capsys):
    for module in ("sklearn", "sklearn.datasets", "sklearn.model_selection"):
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    assert main(["train", "--iters", "1", "--quiet"]) != 0  # the default dataset is digits
    assert 'pip install "amref[sklearn]"' in _err_line(capsys)


def test_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    runs = []
    for rho in ("1", "1e-6"):
        path = tmp_path / f"r{rho}.json"
        assert main(["train", "--iters", "2", "--hidden", "8", "--quiet", "--rho", rho, "--nu", rho, "--out",
                     str(path)]) == 0
        runs.append(str(path))
    png = tmp_path / "c.png"
    assert main(["plot", *runs, "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    capsys.readouterr()
    assert main(["plot", str(bad), "-o", str(png)]) != 0
    assert "run record" in _err_line(capsys)


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "dladmm" in out and "digits" in out and "mnist" in out


def test_python_dash_m_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "amref", "train", "--iters", "1", "--hidden", "4", "--quiet",
                           "--nu", "-2"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "nu" in proc.stderr and "Traceback" not in proc.stderr


def test_greedy_runs_every_stage(tmp_path):
    out = tmp_path / "g.json"
    assert main(["train", "--solver", "pdadmm", "--hidden", "8,8,8,8,8", "--greedy", "--iters", "2", "--quiet",
                 "--out", str(out)]) == 0
    h = json.loads(out.read_text())["history"]
    assert h["depth"] == [5, 5, 6, 6] and h["stage"] == [1, 1, 2, 2]
    assert main(["train", "--greedy", "--checkpoint", str(tmp_path / "c.npz"), "--quiet"]) != 0


def test_loss_defaults_to_the_papers_and_can_be_chosen(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["train", "--solver", "bcd", "--hidden", "8", "--iters", "2", "--quiet", "--out", str(out)]) == 0
    assert main(["train", "--solver", "bcd", "--loss", "cross_entropy", "--hidden", "8", "--iters", "2",
                 "--quiet"]) == 0
    assert main(["train", "--solver", "dladmm", "--loss", "hinge", "--quiet"]) != 0  # needs a Lipschitz ∇R
    assert "dlADMM" in _err_line(capsys)


def test_baseline_presets(tmp_path, capsys):
    out = tmp_path / "a.json"
    assert main(["train", "--solver", "adam", "--preset", "dladmm", "--iters", "2", "--hidden", "8", "--quiet",
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())["options"]["lr"] == 1e-3  # dlADMM paper, Sec 5.1: Adam lr 1e-3
    assert main(["train", "--solver", "adam", "--preset", "nope", "--quiet"]) != 0
    assert "unknown preset" in _err_line(capsys)
    assert main(["train", "--solver", "dladmm", "--preset", "mdlam-cora", "--quiet"]) != 0
    assert "presets 'paper' and 'code'" in _err_line(capsys)


def test_a_closed_pipe_ends_the_listing_quietly():
    """`amref list --options dladmm | head -2`: no error line, status 0, when the reader stops reading."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "amref", "list", "--options", "dladmm"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away before amref writes anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and "rror" not in err, err
