#!/usr/bin/env python
"""Every AM solver's time per iteration beside its matrix-product floor, and its peak memory beside its state.

For each solver (784-w-w-10, the solver's paper loss and default options, ``--samples`` MNIST columns):

* ``seconds``: median time of one ``step`` after two warm-up steps (mDLAM extrapolates from its third);
* ``floor_seconds``: median time of exactly the matrix products (and, for Taylor ADMM, BCD and MAC, the
  dense solves / eigendecompositions) that one step performs (:func:`floor.solver_products`; same shapes,
  layouts, dtype and backend; ``benchmarks/test_floor_products.py`` checks each list against the products
  the step really does). Steps and floor passes are timed **round robin** so both see the same load;
* ``ratio`` = seconds / floor_seconds (``ratio_paired``: the median of the per-round ratios);
* ``peak_bytes``: the most memory held at once by arrays allocated during one step (tracemalloc on NumPy,
  which includes the new state the step returns; on CuPy the default memory pool's growth after
  ``free_all_blocks``, an upper bound: the pool rounds blocks up);
* ``state_bytes``: the nbytes of every array in the solver's state (the dataclass walked).

Targets (issue 15, NumPy): dlADMM ≤ 1.25× its floor, every other solver ≤ 1.5×; a peak above 1.5× the
state is flagged.

    python benchmarks/solver_floor.py [--solvers a,b] [--samples N] [--dtype D] [--backend B] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time

from floor import add_problem_arguments, flops, load_data, paired, product_timer, round_robin, solver_products

import amref
from amref.backend import BackendUnavailable, get_namespace, is_cupy, synchronize
from amref.problem import MLP

TARGET = {"dladmm": 1.25}
DEFAULT_TARGET = 1.5
PEAK_LIMIT = 1.5


def state_bytes(state) -> int:
    """nbytes of every array reachable from ``state`` (dataclasses, NamedTuples, tuples, lists, dicts), each once."""
    seen: set[int] = set()

    def walk(obj) -> int:
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        if hasattr(obj, "nbytes") and hasattr(obj, "shape"):
            return int(obj.nbytes)
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return sum(walk(getattr(obj, f.name)) for f in dataclasses.fields(obj))
        if isinstance(obj, dict):
            return sum(walk(v) for v in obj.values())
        if isinstance(obj, (tuple, list)):
            return sum(walk(v) for v in obj)
        return 0

    return walk(state)


def peak_bytes(spec, state, data, options, xp) -> int:
    """Peak memory of one ``step`` from ``state`` (tracemalloc on NumPy, the memory pool on CuPy)."""
    if is_cupy(xp):
        import cupy

        synchronize(xp)
        pool = cupy.get_default_memory_pool()
        pool.free_all_blocks()
        before = pool.total_bytes()
        new = spec.step(state, data, options)
        synchronize(xp)
        peak = pool.total_bytes() - before
        del new
        return int(peak)
    import tracemalloc

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        new = spec.step(state, data, options)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del new
    return int(peak)


def measure(name, data, widths, args, xp) -> dict:
    """One solver's figures (see the module docstring)."""
    spec = amref.get_solver(name)
    options = spec.options_class()
    problem = MLP(widths, loss=spec.paper_loss)
    box = [spec.init_state(problem, data, problem.init_params(0, xp=xp, dtype=args.dtype), options)]
    for _ in range(2):
        box[0] = spec.step(box[0], data, options)
    synchronize(xp)

    def iteration() -> float:
        t0 = time.perf_counter()
        box[0] = spec.step(box[0], data, options)
        synchronize(xp)
        return time.perf_counter() - t0

    products = solver_products(name, widths, data.n_train, options)
    runs = round_robin({"step": iteration, "floor": product_timer(products, args.dtype, xp)}, args.iters)
    it, floor = statistics.median(runs["step"]), statistics.median(runs["floor"])
    peak, size = peak_bytes(spec, box[0], data, options, xp), state_bytes(box[0])
    target = TARGET.get(name, DEFAULT_TARGET)
    return {
        "seconds": it,
        "floor_seconds": floor,
        "ratio": it / floor,
        "peak_bytes": peak,
        "state_bytes": size,
        "ratio_paired": paired(runs, "step", "floor"),
        "peak_over_state": peak / size,
        "target_ratio": target,
        "gflop": flops(products) / 1e9,
        "runs": runs,
        "problem": f"{'-'.join(map(str, widths))}, N={data.n_train}, {args.dtype}, {args.backend}, "
                   f"data={args.data}, loss={spec.paper_loss}",
        "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "cpu_count": os.cpu_count(),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_problem_arguments(p, iters=5)
    p.add_argument("--solvers", default=",".join(amref.am_solver_names()),
                   help="comma-separated AM solvers (default: every registered one)")
    args = p.parse_args(argv)
    names = [s for s in args.solvers.split(",") if s]
    unknown = sorted(set(names) - set(amref.am_solver_names()))
    if unknown:
        p.error(f"unknown AM solver(s) {', '.join(unknown)}; known: {', '.join(amref.am_solver_names())}")

    try:
        xp = get_namespace(args.backend)
    except BackendUnavailable as exc:
        print(f"solver floors: skipped, {exc}")
        return {}
    widths = (784, args.width, args.width, 10)
    data = load_data(args, xp)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"solver floors: {'-'.join(map(str, widths))}, N={data.n_train}, {args.dtype}, {args.backend}, "
          f"data={args.data}, {args.iters} rounds, load {load:.1f} on {os.cpu_count()} cores")
    print(f"  {'solver':12s} {'s/iter':>8s} {'floor s':>8s} {'ratio':>6s} {'paired':>6s} {'target':>6s} "
          f"{'peak MB':>8s} {'state MB':>8s} {'peak/state':>10s}")
    figures = {}
    for name in names:
        f = figures[name] = measure(name, data, widths, args, xp)
        flags = ("" if f["ratio"] <= f["target_ratio"] else "  above target") + \
                ("" if f["peak_over_state"] <= PEAK_LIMIT else "  peak > 1.5x state")
        print(f"  {name:12s} {f['seconds']:8.3f} {f['floor_seconds']:8.3f} {f['ratio']:6.2f} {f['ratio_paired']:6.2f} "
              f"{f['target_ratio']:6.2f} {f['peak_bytes'] / 1e6:8.1f} {f['state_bytes'] / 1e6:8.1f} "
              f"{f['peak_over_state']:10.2f}{flags}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=1)
    return figures


if __name__ == "__main__":
    main()
