#!/usr/bin/env python
"""What a newcomer meets: every solver run as ``amref train --solver S --dataset digits`` with no other flag.

Each run goes through the command line exactly as typed, so it uses the ``quickstart`` settings
(``amref/protocols/quickstart.toml``) and the thread count :func:`amref.threads.choose_threads` picks.
The table gives the settings the banner names, the test accuracy, whether the objective never rose,
and the wall time; the target is at least 0.85 test accuracy for every solver and 0.93 with a monotone
objective for the default job (dlADMM). ``--paper`` adds the same run with ``--preset paper`` (the
papers' defaults) beside it. Times depend on the machine's load, which the report prints.

Usage::

    python validation/quickstart.py                 # every solver, a few minutes on 2 cores
    python validation/quickstart.py --paper adam dladmm
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile

import amref
from amref.cli import main as amref_main
from amref.defaults import quickstart_run

TARGET = 0.85
DEFAULT_JOB_TARGET = 0.93


def train(solver: str, *flags: str) -> dict:
    """``amref train --solver SOLVER --dataset digits FLAGS`` in this process; the run record and its banner."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            code = amref_main(["train", "--solver", solver, "--dataset", "digits", "--quiet", "--out", out, *flags])
        if code != 0:
            return {"failed": code}
        with open(out) as f:
            record = json.load(f)
    objective = [v for v in record["history"]["objective"] if v is not None]
    return {"accuracy": record["history"]["test_accuracy"][-1], "seconds": record["wall_seconds"],
            "monotone": all(b <= a for a, b in zip(objective, objective[1:])), "threads": record.get("threads"),
            "banner": [line for line in text.getvalue().splitlines() if "quickstart" in line or "may rise" in line]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("solvers", nargs="*", help="solver names (default: every one in amref list)")
    parser.add_argument("--paper", action="store_true", help="also run each solver with --preset paper")
    args = parser.parse_args(argv)
    solvers = args.solvers or amref.solver_names()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, cores: {len(os.sched_getaffinity(0))}")
    head = "| solver | quickstart settings | test acc | monotone | s | threads |" + (" paper test acc | paper s |"
                                                                                      if args.paper else "")
    print(head)
    print("|" + "---|" * head.count(" |"))
    failures = []
    for solver in solvers:
        run = quickstart_run(solver, "digits")
        r = train(solver)
        if "failed" in r:
            failures.append(f"{solver}: exit {r['failed']}")
            print(f"| {solver} | failed (exit {r['failed']}) |")
            continue
        target = DEFAULT_JOB_TARGET if solver == "dladmm" else TARGET
        if r["accuracy"] < target or (solver == "dladmm" and not r["monotone"]):
            failures.append(f"{solver}: {r['accuracy']:.3f} < {target}" if r["accuracy"] < target
                            else f"{solver}: objective rose")
        row = (f"| {solver} | {run.describe() if run else 'paper'} | {r['accuracy']:.3f} | "
               f"{'yes' if r['monotone'] else 'no'} | {r['seconds']:.1f} | {r['threads']} |")
        if args.paper:
            p = train(solver, "--preset", "paper")
            row += f" {p.get('accuracy', float('nan')):.3f} | {p.get('seconds', float('nan')):.1f} |"
        print(row, flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if failures:
        print("below target: " + "; ".join(failures))
        return 1
    print(f"every solver reaches {TARGET} (the default job {DEFAULT_JOB_TARGET} with a monotone objective)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
