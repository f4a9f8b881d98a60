#!/usr/bin/env python
"""Host–device synchronisations per iteration of every AM solver, counted, and where they happen.

On a GPU every conversion of a device array to a Python scalar (``float(x)``, ``int(x)``, ``bool(x)``, an
``if`` on an array) and every copy to host memory waits for the device to finish the queued kernels. The
solvers run on the array API, so the same code runs on NumPy, CuPy and ``array_api_strict``; this script runs
one ``step`` of each solver on ``array_api_strict`` arrays (the array-API path CuPy takes: no NumPy-only kernel
is used) with those conversions counted, and prints, per solver, how many there are per iteration and in
which functions. Each one is a scalar decision of the algorithm (a backtracking test, a step size, a ρ
update, an inner solver's stopping test) or a diagnostic; the table in ``docs/guides/benchmarks.md`` says
which.

No GPU is needed: the count is a property of the code, not of the device.

    python benchmarks/host_syncs.py [--solvers a,b] [--width W] [--json FILE]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import sys
import traceback
from typing import Iterator

import amref
from amref.backend import get_namespace
from amref.problem import MLP

CONVERSIONS = ("__float__", "__int__", "__bool__", "__index__", "__array__", "__dlpack__", "to_device")
"""The methods of an ``array_api_strict`` array that move data to the host (a sync on a GPU)."""


def _where() -> str:
    """The innermost amref function (module:function) on the current stack that is not a helper of
    :mod:`amref.backend` (which only forwards the scalar to its caller)."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        path = frame.filename.replace("\\", "/")
        if "/amref/" in path and not path.endswith("/amref/backend.py"):
            module = path.split("/amref/")[-1].removesuffix(".py").replace("/", ".")
            return f"{module}:{frame.name}"
    return "?"


@contextlib.contextmanager
def counting(array_type: type) -> Iterator[collections.Counter]:
    """Count calls of :data:`CONVERSIONS` on ``array_type`` inside the block, keyed by (method, where)."""
    counts: collections.Counter = collections.Counter()
    saved = {name: array_type.__dict__[name] for name in CONVERSIONS if name in array_type.__dict__}

    def wrap(name, method):
        def counted(self, *args, **kwargs):
            counts[(name, _where())] += 1
            return method(self, *args, **kwargs)
        return counted

    for name, method in saved.items():
        setattr(array_type, name, wrap(name, method))
    try:
        yield counts
    finally:
        for name, method in saved.items():
            setattr(array_type, name, method)


def count_solver(name: str, width: int, seed: int = 0) -> collections.Counter:
    """The host conversions of one ``step`` of solver ``name`` on scikit-learn's 8×8 digits (64-w-w-10,
    the solver's paper loss and default options; after two warm-up steps), by (method, where)."""
    widths = [64, width, width, 10]
    xp = get_namespace("array_api_strict")
    data = amref.load_dataset("digits").to(xp)
    spec = amref.get_solver(name)
    options = spec.options_class()
    problem = MLP(widths, loss=spec.paper_loss)
    state = spec.init_state(problem, data, problem.init_params(seed, xp=xp), options)
    for _ in range(2):
        state = spec.step(state, data, options)
    array_type = type(data.x_train)
    with counting(array_type) as counts:
        spec.step(state, data, options)
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--solvers", default=None, help="comma-separated AM solvers (default: every registered one)")
    p.add_argument("--width", type=int, default=32, help="hidden width of d-w-w-C (the count does not depend on it)")
    p.add_argument("--json", default=None, help="also write the counts to this JSON file")
    args = p.parse_args(argv)
    names = args.solvers.split(",") if args.solvers else amref.registry.am_solver_names()
    report = {}
    for name in names:
        counts = count_solver(name, args.width)
        by_where = collections.Counter()
        for (_, where), n in counts.items():
            by_where[where] += n
        report[name] = {"total": sum(counts.values()), "by_function": dict(by_where.most_common())}
        print(f"{name:12s} {report[name]['total']:4d} host syncs per iteration")
        for where, n in by_where.most_common():
            print(f"    {n:4d}  {where}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
