#!/usr/bin/env python
"""Time per dlADMM iteration beside this machine's matrix-product floor, measured in the same run.

The floor is the time of exactly the matrix products one iteration performs
(:func:`amref.solvers.dladmm.matrix_products`: same shapes, transposes, dtype and backend), timed
three times (before, between and after the iterations; the median is used, since shared machines are
noisy). The ratio iteration/floor is what the target speaks about.

Targets (issue 2): 784-1000-1000-10, 10,000 MNIST samples, float32, 2 CPU cores: ≤ 5 s per iteration
and ≤ 2× the floor; one H100, 55,000 samples: ≤ 0.2 s per iteration (paper: 5.8 s on its GPU;
the authors' released code ≈ 46 s per iteration on 2 CPU cores for the 10,000-sample problem).

    python benchmarks/dladmm_floor.py                       # the CPU target problem
    python benchmarks/dladmm_floor.py --samples 55000 --backend cupy   # the GPU target
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

import amref
from amref.backend import get_namespace, synchronize
from amref.problem import MLP
from amref.solvers import dladmm
from amref.solvers.dladmm import DlADMMOptions
from amref.solvers.subproblems import ZLOptions


def load(args, xp):
    if args.data == "mnist":
        data = amref.load_dataset("mnist", train_size=args.samples, test_size=100, dtype=args.dtype, download=False)
        return data.to(xp) if args.backend != "numpy" else data
    sys.path.insert(0, os.path.join(os.path.dirname(__file__)))
    from benchmarks.common import mnist_like

    return mnist_like(784, args.samples, 10, args.dtype, xp)


def time_products(widths, n, dtype, xp, reps):
    """Median seconds of the iteration's matrix products (each shape timed `reps` times)."""
    rng = np.random.default_rng(0)

    def arr(shape):
        return xp.asarray(rng.standard_normal(shape).astype(dtype))

    total = 0.0
    for expr, (m, k, nn), count in dladmm.matrix_products(widths, n):
        if "(t-m) a.T" in expr:   # (m×N)(N×k): right operand is a transposed C-array, as in update_W
            A, B = arr((m, k)), arr((nn, k))
            f = lambda A=A, B=B: A @ B.T  # noqa: E731
        elif ".T r" in expr:      # (m×k) = transposed weight times (k×N), as in update_a
            A, B = arr((k, m)), arr((k, nn))
            f = lambda A=A, B=B: A.T @ B  # noqa: E731
        else:
            A, B = arr((m, k)), arr((k, nn))
            f = lambda A=A, B=B: A @ B  # noqa: E731
        f()
        synchronize(xp)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            f()
            synchronize(xp)
            ts.append(time.perf_counter() - t0)
        total += count * statistics.median(ts)
    return total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=1000)
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    p.add_argument("--data", default="mnist" if os.environ.get("AMREF_DATA_DIR") else "synthetic",
                   choices=("mnist", "synthetic"))
    p.add_argument("--zl-solver", default="fista", choices=("fista", "newton"))
    p.add_argument("--iters", type=int, default=5, help="timed iterations (after one warm-up)")
    p.add_argument("--reps", type=int, default=3, help="repetitions per product shape")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)

    xp = get_namespace(args.backend)
    widths = (784, args.width, args.width, 10)
    data = load(args, xp)
    problem = MLP(widths)
    options = DlADMMOptions(zl=ZLOptions(method=args.zl_solver))
    state = dladmm.init_state(problem, data, problem.init_params(0, xp=xp, dtype=args.dtype), options)
    floors = [time_products(widths, data.n_train, args.dtype, xp, args.reps)]
    state = dladmm.step(state, data, options)  # warm-up (JIT compilation)
    synchronize(xp)
    times = []
    for k in range(args.iters):
        t0 = time.perf_counter()
        state = dladmm.step(state, data, options)
        synchronize(xp)
        times.append(time.perf_counter() - t0)
        if k == args.iters // 2:
            floors.append(time_products(widths, data.n_train, args.dtype, xp, args.reps))
    floors.append(time_products(widths, data.n_train, args.dtype, xp, args.reps))

    flops = dladmm.matrix_product_flops(widths, data.n_train)
    floor = statistics.median(floors)
    it = statistics.median(times)
    figures = {
        "problem": f"{'-'.join(map(str, widths))}, N={data.n_train}, {args.dtype}, {args.backend}, data={args.data}, "
                   f"z_L={args.zl_solver}",
        "matrix_product_gflop": flops / 1e9,
        "matrix_product_rate_gflops": flops / floor / 1e9,
        "floor_seconds": floor,
        "floor_seconds_all": floors,
        "iteration_seconds_median": it,
        "iteration_seconds_all": times,
        "ratio_to_floor": it / floor,
        "zl_inner_iterations_last": state.zl_iterations,
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "cpu_count": os.cpu_count(),
    }
    print(f"dlADMM iteration: {figures['problem']}")
    print(f"  matrix products per iteration : {flops / 1e9:9.1f} GFLOP")
    print(f"  matrix-product rate (measured): {figures['matrix_product_rate_gflops']:9.1f} GFLOP/s")
    print(f"  floor (products only)         : {floor:9.3f} s   (runs: {', '.join(f'{f:.3f}' for f in floors)})")
    print(f"  time per iteration (median)   : {it:9.3f} s   (runs: {', '.join(f'{t:.3f}' for t in times)})")
    print(f"  ratio iteration / floor       : {it / floor:9.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    return figures


if __name__ == "__main__":
    main()
