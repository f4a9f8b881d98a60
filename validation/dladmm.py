#!/usr/bin/env python
"""dlADMM (Wang et al., KDD 2019): Fig 2 vs Fig 3 convergence behaviour and Figs 4–5 accuracies.

What is checked (``algorithms.md`` §2.6–2.7):

* **Fig 2 vs Fig 3** — with ρ = 1 (> 2H = 1 … the boundary; the paper's choice) the augmented Lagrangian
  decreases monotonically and the residual ‖z_L − W_L a_{L−1} − b_L‖² falls by many orders of
  magnitude; with ρ = 1e-6 (< 2H) neither holds. ν is not stated for Fig 2; we use ν = ρ as the
  released code would. ρ is held constant (the theorem is for a fixed ρ).
* **Figs 4–5** — test/train accuracy after 200 iterations on MNIST and Fashion-MNIST, 784-1000-1000-10,
  paper defaults (ρ = ν = 1e-6, ×10 every 100 iterations), and the released code's choices
  (ν = ρ, cost-triggered schedule) beside them.

``--quick`` runs reduced sizes (fewer samples, narrower layers, fewer iterations) that finish in a few
minutes on 2 cores; its accuracies are not comparable to the paper's full-size figures and are labelled
so. Needs the datasets (``AMREF_DATA_DIR`` or ``--data-dir``).
"""

from __future__ import annotations

import argparse
import math
import os

from common import Report, add_data_options, load, monotone_fraction, out_dir, save_run

import amref
from amref.plotting import plot_runs
from amref.problem import MLP
from amref.solvers.dladmm import DlADMMOptions
from amref.solvers.subproblems import ZLOptions

# (dataset, paper train acc, paper test acc) read off Figs 4–5 (±0.01)
PAPER_ACC = {"mnist": (0.965, 0.955), "fashion-mnist": (0.865, 0.845)}
# Fig 2 (ρ = 1) and Fig 3 (ρ = 1e-6) readings, natural logs (±0.3): (ln obj first, last, ln residual first, last)
PAPER_FIG2 = {"mnist": (11.8, 8.5, 10.5, -6.0), "fashion-mnist": (11.8, 9.5, 10.5, -4.5)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="reduced sizes (minutes on 2 cores)")
    p.add_argument("--datasets", default="mnist,fashion-mnist")
    add_data_options(p)
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--zl-solver", default="newton", choices=("fista", "newton"),
                   help="z_L solver (Newton is exact and fast; FISTA is the paper's method)")
    p.add_argument("--parts", default="convergence,accuracy", help="which parts to run")
    p.add_argument("--accuracy-runs", default="paper,code", help="'paper' defaults and/or the released 'code'")
    p.add_argument("--iters", type=int, default=None, help="override the iteration count of every run")
    args = p.parse_args(argv)

    if args.quick:
        n_train, width, conv_iters, acc_iters, n_test = 3000, 200, 60, 60, 2000
    else:
        n_train, width, conv_iters, acc_iters, n_test = None, 1000, 200, 200, None
    if args.iters is not None:
        conv_iters = acc_iters = args.iters
    parts = set(args.parts.split(","))
    acc_kinds = set(args.accuracy_runs.split(","))
    out = out_dir(("dladmm-quick" if args.quick else "dladmm") + ("" if parts == {"convergence", "accuracy"}
                                                                   else "-" + "-".join(sorted(parts))))
    rep = Report("dlADMM (KDD 2019): paper vs amref", out, argv or [])
    rep.text(f"Network 784-{width}-{width}-10, {n_train or 'all'} training samples, {args.dtype}, "
             f"z_L by {args.zl_solver}, backend {args.backend}." + (" **Reduced size (--quick): not comparable to the paper's figures.**"
                                            if args.quick else ""))
    solver = amref.get_solver("dladmm")
    zl = ZLOptions(method=args.zl_solver)
    conv_rows, acc_rows = [], []
    for name in args.datasets.split(","):
        data = load(name, args, train_size=n_train, test_size=n_test, dtype=args.dtype)
        problem = MLP((data.n_features, width, width, data.n_classes))
        runs = []
        for rho in ((1.0, 1e-6) if "convergence" in parts else ()):
            opts = DlADMMOptions(rho=rho, nu=rho, rho_schedule="constant", zl=zl)
            res = amref.minimize(solver, problem, data, opts, max_iter=conv_iters, seed=0)
            obj, r = res.history["objective"], res.history["residual"]
            runs.append(save_run(res, os.path.join(out, f"{name}-rho{rho:g}.json"), label=f"{name} rho=nu={rho:g}",
                                 dataset=name))
            paper = PAPER_FIG2[name] if rho == 1.0 else None
            conv_rows.append([name, f"{rho:g}", res.status.value, f"{monotone_fraction(obj):.2f}",
                              _ln(obj[0]), _ln(obj[-1]), _ln(r[0]), _ln(r[-1]),
                              "Fig 2: " + ", ".join(f"{v:g}" for v in paper) if paper else
                              "Fig 3: fluctuates, ln obj in [−4, 5], ln res 7–12"])
        if runs:
            png = os.path.join(out, f"{name}-convergence.png")
            plot_runs(runs, png, title=f"dlADMM on {name}: rho = 1 vs rho = 1e-6")
            rep.image(png, f"{name} convergence")

        acc_runs = []
        kinds = (("paper", "paper defaults", DlADMMOptions(zl=zl)),
                 ("code", "released code", DlADMMOptions.released_code(zl=zl)))
        for _, label, opts in [k for k in kinds if "accuracy" in parts and k[0] in acc_kinds]:
            res = amref.minimize(solver, problem, data, opts, max_iter=acc_iters, seed=0)
            h = res.history
            acc_runs.append(save_run(res, os.path.join(out, f"{name}-{label.replace(' ', '-')}.json"),
                                     label=f"{name} {label}", dataset=name))
            paper_train, paper_test = PAPER_ACC[name]
            acc_rows.append([name, label, acc_iters, res.status.value, h["train_accuracy"][-1], paper_train,
                             h["test_accuracy"][-1], paper_test, f"{sorted(h['seconds'])[len(h['seconds']) // 2]:.3f}"])
        if acc_runs:
            png = os.path.join(out, f"{name}-accuracy.png")
            plot_runs(acc_runs, png, title=f"dlADMM on {name}: paper defaults vs released code")
            rep.image(png, f"{name} accuracy")

    if conv_rows:
        rep.text("## Fig 2 vs Fig 3: convergence (ρ = ν, constant)",
                 "`monotone` is the fraction of iterations in which L_ρ did not increase; ln values are natural "
                 "logs of the first and last recorded objective and residual ‖r‖².")
        rep.table(["dataset", "ρ", "status", "monotone", "ln obj first", "ln obj last", "ln res first",
                   "ln res last", "paper"], conv_rows)
    if acc_rows:
        rep.text("## Figs 4–5: accuracy")
        rep.table(["dataset", "options", "iters", "status", "train acc", "paper train", "test acc", "paper test",
                   "median s/iter"], acc_rows)
    rep.write()


def _ln(v: float) -> str:
    return f"{math.log(v):.2f}" if v and v > 0 and math.isfinite(v) else "–"


if __name__ == "__main__":
    main()
