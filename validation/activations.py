#!/usr/bin/env python
"""Non-differentiable activations: what alternating minimization trains that back-propagation cannot.

The AM papers motivate their methods by activations without useful derivatives. This script puts that to
the test on digits and MNIST: a ReLU, a hard-tanh and a binary-step (sign) network, each trained by every
AM solver and by Adam — with the straight-through estimator (STE) for the step, and once without it, where
back-propagation sees h′ = 0 and only the output layer learns. One table: test accuracy and seconds.

``--every-solver`` instead runs ``amref train --solver S --activation A --dataset digits`` (in process, the
same code path as the command line) for every registered solver S and every activation A and prints that
table (AM solvers: iterations; baselines: epochs of mini-batches of 64, the step with the STE).

Settings (the same for every activation, chosen on ReLU digits, not per activation): dlADMM ρ = ν = 0.01
constant; pdADMM and pdADMM-G ρ = ν = 0.01; pdADMM-G-Q ρ = ν = 1; the other AM solvers at their paper
defaults; Adam lr 1e-3, batches of 64. ``--quick`` runs 30 iterations on 64 hidden units (digits) and
5,000 / 2,000 MNIST images with 128 units; minutes on 2 cores. Accuracies of the quick runs are not
tuned results; they are comparable across activations, which is the point.

The default mode is also the protocol ``activations`` (``amref/protocols/activations.toml``, ``amref reproduce
activations [--quick]``), which uses the ``activation`` key of the protocol format; this script keeps the
seconds column and the ``--every-solver`` table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from common import Report, add_data_options, load, out_dir

import amref
from amref.problem import MLP

ACTIVATIONS = ("relu", "leaky_relu", "hardtanh", "linear", "sigmoid", "tanh", "step")
PROTOCOL_ACTIVATIONS = ("relu", "hardtanh", "step")

#: per-solver options shared by both modes (``amref train`` flags in :func:`cli_args`)
AM_OPTIONS = {
    "dladmm": dict(rho=1e-2, nu=1e-2, rho_schedule="constant"),
    "pdadmm": dict(rho=1e-2, nu=1e-2),
    "pdadmm-g": dict(rho=1e-2, nu=1e-2),
    "pdadmm-g-q": dict(rho=1.0, nu=1.0),
}
BATCH = 64


def cli_args(solver: str, activation: str, iters: int, hidden: int) -> list[str]:
    """``amref train`` arguments of one cell of the every-solver table."""
    argv = ["train", "--solver", solver, "--activation", activation, "--dataset", "digits", "--iters", str(iters),
            "--hidden", str(hidden), "--quiet"]
    for key, value in AM_OPTIONS.get(solver, {}).items():
        argv += ["--option", f"{key}={value}"]
    if solver in amref.baseline_names():
        argv += ["--batch-size", str(BATCH)]
        if activation == "step":
            argv += ["--option", "straight_through=true"]
    return argv


def every_solver(args: argparse.Namespace) -> None:
    import json
    import tempfile

    from amref.cli import main

    solvers = amref.solver_names() if args.solvers is None else args.solvers.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for solver in solvers:
            row = [solver]
            for act in ACTIVATIONS:
                out = os.path.join(tmp, "run.json")
                t0 = time.perf_counter()
                code = main(cli_args(solver, act, args.iters, args.hidden) + ["--out", out])
                run = json.loads(open(out).read()) if os.path.exists(out) else None
                acc = run["history"]["test_accuracy"][-1] if run else float("nan")
                row.append(f"{acc:.3f}" + ("" if code == 0 else "†"))
                print(f"{solver:12s} {act:10s} {acc:.3f} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr,
                      flush=True)
                if os.path.exists(out):
                    os.remove(out)
            rows.append(row)
    print(f"\nTest accuracy on digits, {args.hidden} hidden units, {args.iters} iterations (baselines: epochs, "
          f"batches of {BATCH}; step with the STE); † = diverged (last finite weights).\n")
    print("| solver | " + " | ".join(ACTIVATIONS) + " |")
    print("|" + "---|" * (len(ACTIVATIONS) + 1))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def run_one(solver: str, activation: str, data, hidden: tuple[int, ...], iters: int, ste: bool = True):
    spec = amref.get_solver(solver)
    problem = MLP((data.n_features, *hidden, data.n_classes), activation=activation, loss=spec.paper_loss)
    kw = dict(AM_OPTIONS.get(solver, {}))
    if solver in amref.baseline_names():
        kw.update(batch_size=BATCH, straight_through=ste and activation == "step")
    t0 = time.perf_counter()
    result = amref.minimize(spec, problem, data, spec.options_class(**kw), max_iter=iters, eval_every=iters)
    return result.history["test_accuracy"][-1], time.perf_counter() - t0, result.status.value


def protocol(args: argparse.Namespace) -> None:
    quick = args.quick
    report = Report("Activations: ReLU vs hard tanh vs binary step, AM solvers vs Adam", out_dir("activations"),
                    sys.argv[1:])
    report.text("Test accuracy and training seconds; Adam trains the step with the straight-through "
                "estimator (`adam (STE)`) and once with the true derivative 0 (`adam (no STE)`). "
                + ("Quick sizes: not tuned results, comparable across activations." if quick else ""))
    sizes = {"digits": (dict(), (64,) if quick else (256,), 30 if quick else 100),
             "mnist": (dict(train_size=5_000, test_size=2_000) if quick else dict(), (128,) if quick else (1000,),
                       20 if quick else 100)}
    solvers = amref.am_solver_names() if args.solvers is None else args.solvers.split(",")
    for name in args.datasets.split(","):
        kwargs, hidden, iters = sizes[name]
        try:
            data = load(name, args, **kwargs)
        except Exception as exc:  # a missing dataset skips its half of the table
            report.text(f"{name}: skipped ({exc})")
            continue
        rows = []
        for solver in [*solvers, "adam", "adam (no STE)"]:
            cells = [solver if solver != "adam" else "adam (STE)"]
            for act in PROTOCOL_ACTIVATIONS:
                if solver == "adam (no STE)" and act != "step":
                    cells += ["–", "–"]
                    continue
                acc, sec, status = run_one(solver.split()[0], act, data, hidden, iters, ste=solver == "adam")
                cells += [f"{acc:.3f}" + ("" if status == "completed" else "†"), f"{sec:.1f}"]
                print(f"{name} {solver} {act}: {acc:.3f} {sec:.1f} s", file=sys.stderr, flush=True)
            rows.append(cells)
        header = ["solver"] + [f"{a} {k}" for a in PROTOCOL_ACTIVATIONS for k in ("acc", "s")]
        report.text(f"**{name}**: widths {data.n_features}-{'-'.join(map(str, hidden))}-{data.n_classes}, "
                    f"{data.n_train} training samples, {iters} iterations (Adam: epochs); † = diverged.")
        report.table(header, rows)
    report.write()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes (minutes on 2 cores)")
    parser.add_argument("--datasets", default="digits,mnist")
    parser.add_argument("--solvers", default=None, help="comma-separated solver names (default: every AM solver)")
    parser.add_argument("--every-solver", action="store_true",
                        help="the amref-train table: every solver × every activation on digits")
    parser.add_argument("--iters", type=int, default=30, help="--every-solver: iterations / epochs")
    parser.add_argument("--hidden", type=int, default=64, help="--every-solver: hidden width")
    add_data_options(parser)
    args = parser.parse_args()
    if args.every_solver:
        every_solver(args)
    else:
        protocol(args)


if __name__ == "__main__":
    main()
