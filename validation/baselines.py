#!/usr/bin/env python
"""Gradient baselines of dlADMM (Wang et al., KDD 2019), Figs 4–5: GD, Adagrad, Adadelta and Adam.

What is checked (``algorithms.md`` §2.7): on MNIST (and Fashion-MNIST) with the paper's network
784-1000-1000-10 (ReLU, summed cross-entropy, N(0, 0.1²) weights), full batch, 200 iterations, at the
paper's learning rates (preset ``"dladmm"``: GD 1e-6, Adagrad 1e-3, Adadelta 0.1, Adam 1e-3; summed
loss and Keras' defaults otherwise, see :mod:`amref.optim.presets`), the **ordering** the paper's
figures show:

* MNIST: Adam > Adagrad > GD ≈ Adadelta (train ≈ 0.995 > 0.955 > 0.94 ≈ 0.94; test ≈ 0.975 > 0.945 >
  0.935 ≈ 0.93);
* Fashion-MNIST: Adam > Adagrad ≈ GD > Adadelta (train ≈ 0.93 > 0.855 ≈ 0.855 > 0.825).

The paper's numbers are figure readings (±0.01), so two methods within 0.01 of each other count as
tied, and the check is that every pair the paper orders by more than 0.01 comes out in the same order.

``--quick`` runs a reduced size that finishes in minutes on 2 cores: 5,000 training and 2,000 test
samples, 256-unit layers, the paper's 200 iterations (``--train-size``, ``--width``, ``--epochs`` override
any size). Because GD's rate applies to the *summed* loss, a run on N < 55,000 samples scales it by
55,000 / N so that the step on the mean loss is the paper's (Adam, Adagrad and Adadelta are nearly
invariant to the loss scale). Reduced runs are not comparable to the paper's figures and are labelled so.
Needs the datasets (``AMREF_DATA_DIR`` or ``--data-dir``).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

from common import Report, add_data_options, load, out_dir, save_run

import amref
from amref import optim
from amref.plotting import plot_runs
from amref.problem import MLP

METHODS = (("Adam", "adam"), ("Adagrad", "adagrad"), ("GD", "sgd"), ("Adadelta", "adadelta"))
# paper (train acc, test acc) at iteration ~200, read off Figs 4–5 (±0.01), algorithms.md §2.7
PAPER = {
    "mnist": {"Adam": (0.995, 0.975), "Adagrad": (0.955, 0.945), "GD": (0.94, 0.935), "Adadelta": (0.94, 0.93)},
    "fashion-mnist": {"Adam": (0.93, 0.875), "Adagrad": (0.855, 0.83), "GD": (0.855, 0.83),
                      "Adadelta": (0.825, 0.81)},
}
PAPER_TRAIN_SIZE = 55000
TIE = 0.01


def ordering_agrees(paper: dict, ours: dict) -> tuple[bool, list[str]]:
    """Every pair the paper separates by more than ``TIE`` must come out in the same order in ours."""
    disagreements = []
    for a, b in itertools.combinations(paper, 2):
        if abs(paper[a] - paper[b]) <= TIE:
            continue
        hi, lo = (a, b) if paper[a] > paper[b] else (b, a)
        if not ours[hi] > ours[lo]:
            disagreements.append(f"{hi} > {lo}")
    return not disagreements, disagreements


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="reduced sizes (minutes on 2 cores)")
    p.add_argument("--datasets", default="mnist,fashion-mnist")
    add_data_options(p)
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--threads", type=int, default=None, help="limit BLAS threads (helps on busy machines)")
    p.add_argument("--methods", default=",".join(label for label, _ in METHODS), help="subset, e.g. Adagrad,Adadelta")
    p.add_argument("--train-size", type=int, default=None, help="override the number of training samples")
    p.add_argument("--width", type=int, default=None, help="override the hidden width")
    p.add_argument("--epochs", type=int, default=None, help="override the number of iterations")
    p.add_argument("--out", default=None, help="output folder name under validation/out/")
    args = p.parse_args(argv)

    if args.quick:
        n_train, n_test, width, epochs = 5000, 2000, 256, 200
    else:
        n_train, n_test, width, epochs = PAPER_TRAIN_SIZE, None, 1000, 200
    n_train, width, epochs = args.train_size or n_train, args.width or width, args.epochs or epochs
    methods = [(label, solver) for label, solver in METHODS if label in args.methods.split(",")]
    out = out_dir(args.out or ("baselines-quick" if args.quick else "baselines"))
    rep = Report("Gradient baselines of dlADMM (KDD 2019): paper vs amref", out, argv or [])
    rep.text(f"Network 784-{width}-{width}-10, {n_train} training samples, {epochs} full-batch iterations, "
             f"{args.dtype}, seed 0, preset `dladmm` (summed loss)."
             + (f" **Reduced size: not comparable to the paper's figures**; GD's rate is scaled by "
                f"{PAPER_TRAIN_SIZE}/{n_train} to keep its step on the mean loss."
                if (n_train, width, epochs) != (PAPER_TRAIN_SIZE, 1000, 200) else ""))

    from threadpoolctl import threadpool_limits

    rows, verdicts = [], []
    for name in args.datasets.split(","):
        data = load(name, args, train_size=n_train, test_size=n_test, dtype=args.dtype)
        problem = MLP((data.n_features, width, width, data.n_classes))
        runs, train_acc, test_acc = [], {}, {}
        for label, solver in methods:
            options = optim.preset("dladmm", solver)
            if solver == "sgd":
                options = optim.preset("dladmm", solver, lr=options.lr * PAPER_TRAIN_SIZE / data.n_train)
            t0 = time.perf_counter()
            with threadpool_limits(limits=args.threads):
                res = amref.minimize(amref.get_solver(solver), problem, data, options, max_iter=epochs, seed=0)
            wall = time.perf_counter() - t0
            h = res.history
            runs.append(save_run(res, os.path.join(out, f"{name}-{solver}.json"), label=f"{label} (lr {options.lr:g})",
                                 dataset=name))
            train_acc[label], test_acc[label] = h["train_accuracy"][-1], h["test_accuracy"][-1]
            paper_train, paper_test = PAPER[name][label]
            rows.append([name, label, f"{options.lr:g}", res.status.value, paper_train, train_acc[label],
                         paper_test, test_acc[label], f"{h['objective'][-1]:.4g}",
                         f"{sorted(h['seconds'])[len(h['seconds']) // 2]:.3f}", f"{wall:.0f}"])
        png = os.path.join(out, f"{name}-baselines.png")
        plot_runs(runs, png, title=f"dlADMM's gradient baselines on {name}")
        rep.image(png, f"{name} baselines")
        for split, ours, col in (("train", train_acc, 0), ("test", test_acc, 1)):
            paper = {k: v[col] for k, v in PAPER[name].items() if k in ours}
            ok, bad = ordering_agrees(paper, ours)
            paper_order = " > ".join(sorted(paper, key=paper.get, reverse=True))
            our_order = " > ".join(sorted(ours, key=ours.get, reverse=True))
            verdicts.append([name, split, paper_order, our_order, "yes" if ok else "no: " + ", ".join(bad)])

    rep.text("## Accuracy after the last iteration")
    rep.table(["dataset", "method", "lr", "status", "paper train", "ours train", "paper test", "ours test",
               "objective (summed)", "s/epoch (median)", "wall s"], rows)
    rep.text("## Ordering", f"Pairs the paper separates by more than {TIE} must keep their order "
             "(paper orders list ties in reading order).")
    rep.table(["dataset", "split", "paper order", "our order", "ordering reproduced"], verdicts)
    rep.write()
    return verdicts


if __name__ == "__main__":
    main()
