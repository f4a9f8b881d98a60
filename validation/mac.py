#!/usr/bin/env python
"""MAC (Carreira-Perpiñán & Wang, AISTATS 2014): the paper's three claims on digits and MNIST subsets.

What is checked (the paper's claims as restated in :mod:`amref.solvers.mac`; it has no table for these nets):

* **E_Q non-increasing for a fixed μ** — every W-step and Z-step is an exact or a monotone descent step,
  so within a μ stage the penalised objective never increases. Reported: the fraction of consecutive
  iterations at the same μ in which it did not increase (must be 1.00).
* **the constraint violation → 0 along the path** μ → ∞ — Σ_k ‖z_k − h(W_k z_{k−1} + b_k)‖² at its
  largest and at the end of the run (per training point).
* **the nested error reaches that of a gradient method on the same net** — the forward-pass training loss
  and error of the MAC weights beside Adam (hand-written back-propagation) on the same network, the same
  initial weights and the same loss (softmax cross-entropy, the only loss the baselines differentiate; MAC
  also runs with the paper's squared loss): Adam full batch for as many iterations as MAC, and Adam with
  mini-batches of 64 for ``--adam-epochs`` epochs.

On MNIST and Cora each MAC loss runs twice: as in the paper (no regulariser) and with the ridge
(λ_W/2)‖W‖², ``weight_decay`` = :data:`WEIGHT_DECAY`, the value with the best accuracy of MAC
(cross-entropy, 100-100, 40 iterations) on a validation split among 0.1, 1, 10, 100 (MNIST: images
2,001–3,000 of the training set, a 2,000-image training subset) and 0.01, 0.1, 1, 10, 30, 100, 300 (Cora: its
validation nodes); never the test set. Digits has no validation split here and runs without the ridge.

``--quick`` runs digits and a 2,000-image MNIST subset (minutes on 2 cores); without it, digits and a
10,000-image MNIST subset. ``--datasets`` adds ``cora`` (the GA-MLP features of mDLAM's Table 4: 5,732
features, 140 training nodes). MNIST and Cora need their files (``AMREF_DATA_DIR`` or ``--data-dir``).
"""

from __future__ import annotations

import argparse
import os

from common import Report, add_data_options, load, out_dir, save_run

import amref
from amref.plotting import plot_runs
from amref.problem import MLP
from amref.solvers.mac import MACOptions

#: (dataset, quick) → (train size, test size, hidden widths, MAC iterations)
SIZES = {
    ("digits", True): (None, None, (100, 100), 50),
    ("digits", False): (None, None, (100, 100), 100),
    ("mnist", True): (2_000, 1_000, (100, 100), 40),
    ("mnist", False): (10_000, 2_000, (300, 300), 60),
    ("cora", True): (None, None, (100, 100), 40),
    ("cora", False): (None, None, (100, 100), 40),
}

#: The ridge of the ``mac-*-ridge`` runs, chosen on a validation split (module docstring).
WEIGHT_DECAY = {"mnist": 10.0, "cora": 10.0}


def same_mu_monotone(h: dict) -> float:
    """Fraction of consecutive iterations at the same μ in which the objective did not increase."""
    pairs = [(a, b) for (a, b, m0, m1) in zip(h["objective"], h["objective"][1:], h["mu"], h["mu"][1:]) if m0 == m1]
    return sum(b <= a + 1e-12 * abs(a) for a, b in pairs) / max(len(pairs), 1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="reduced sizes (minutes on 2 cores)")
    p.add_argument("--datasets", default="digits,mnist", help="comma-separated: digits, mnist, cora")
    p.add_argument("--adam-epochs", type=int, default=100, help="epochs of mini-batch Adam")
    p.add_argument("--seed", type=int, default=0)
    add_data_options(p)
    args = p.parse_args(argv)
    out = out_dir("mac-quick" if args.quick else "mac")
    rep = Report("MAC (method of auxiliary coordinates): the paper's claims", out, argv or [])
    adam = amref.get_solver("adam")
    for name in args.datasets.split(","):
        n_train, n_test, hidden, iters = SIZES[(name, args.quick)]
        kwargs = {} if n_train is None else dict(train_size=n_train, test_size=n_test)
        data = load(name, args, **kwargs)
        widths = (data.n_features, *hidden, data.n_classes)
        runs, rows = [], []
        plan = [("mac-squared", "mac", "squared", MACOptions(), iters),
                ("mac-ce", "mac", "cross_entropy", MACOptions(), iters)]
        if name in WEIGHT_DECAY:
            ridge = MACOptions(weight_decay=WEIGHT_DECAY[name])
            plan += [("mac-squared-ridge", "mac", "squared", ridge, iters),
                     ("mac-ce-ridge", "mac", "cross_entropy", ridge, iters)]
        plan += [
            ("adam-full-batch", "adam", "cross_entropy", adam.options_class(lr=1e-3), iters),
            ("adam-batch64", "adam", "cross_entropy", adam.options_class(lr=1e-3, batch_size=64), args.adam_epochs),
        ]
        for label, solver, loss, opts, n_iter in plan:
            problem = MLP(widths, loss=loss)
            res = amref.minimize(amref.get_solver(solver), problem, data, opts, max_iter=n_iter, seed=args.seed)
            h = res.history
            runs.append(save_run(res, os.path.join(out, f"{name}-{label}.json"), label=label, dataset=name,
                                 widths=list(widths), loss=loss))
            is_mac = solver == "mac"
            n = data.n_train
            rows.append([label, loss, n_iter, res.status.value,
                         f"{same_mu_monotone(h):.2f}" if is_mac else "",
                         f"{max(h['residual']) / n:.3e}" if is_mac else "",
                         f"{h['residual'][-1] / n:.3e}" if is_mac else "",
                         f"{h['mu'][-1]:.3g}" if is_mac else "",
                         h["train_loss"][-1], 1.0 - h["train_accuracy"][-1], h["test_accuracy"][-1],
                         f"{sum(h['seconds']):.1f}"])
        rep.text(f"## {name}", f"{data.n_train:,} train / {data.x_test.shape[1]:,} test, widths {widths}, seed "
                 f"{args.seed}; `-ridge` runs: weight_decay {WEIGHT_DECAY.get(name, 0):g}. `E_Q mono` = fraction "
                 "of same-μ iterations without increase; `viol` = constraint violation per training point; "
                 "`nested loss` = forward-pass training loss per point.")
        rep.table(["run", "loss", "iters", "status", "E_Q mono", "max viol", "final viol", "final μ",
                   "nested loss", "train error", "test acc", "seconds"], rows)
        png = os.path.join(out, f"{name}.png")
        plot_runs(runs, png, title=f"MAC vs Adam: {name}, widths {widths}")
        rep.image(png, name)
    rep.write()


if __name__ == "__main__":
    main()
