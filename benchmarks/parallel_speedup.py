"""Layer-parallel pdADMM: time per iteration, serial vs a dask LocalCluster of 1, 2, … workers.

A deep ReLU net (``--layers`` weight layers of ``--width`` units, synthetic data) runs ``--iters``
iterations serially in this process and on LocalClusters (:func:`amref.parallel.dask.local_cluster`) of
single-threaded worker processes (BLAS limited to one thread everywhere, so "n workers" means n cores). The
first iteration of every run is dropped (Numba compilation, first transfers); the runs are interleaved
``--repeats`` times so that load from other processes hits all of them alike. An iteration is what the
driver runs per iteration, ``step`` then ``diagnostics`` (the dask runner computes each layer's share of the
diagnostics on its worker), without the driver's accuracy evaluation on the client.

Reported per runner: the median wall time per iteration, the speedup serial / parallel and the parallel
efficiency speedup / workers; the CPU seconds per iteration of the busiest process (the client for the
serial runner, the busiest worker for dask) and the speedup they imply, which is what the wall-clock
speedup approaches on an otherwise idle machine (on a shared machine other processes take cores away from
the workers; the load average is printed); and the bytes that crossed between workers per iteration. The
matrix-product floor (the four n_l × n_{l−1} × N products of every layer's update, one thread, timed by
``benchmarks/floor.py`` in the same run) puts the serial time in proportion.

Usage::

    python benchmarks/parallel_speedup.py                       # 8 layers × 1000, N = 2000, 1 and 2 workers
    python benchmarks/parallel_speedup.py --layers 16 --repeats 3

Measured (2-core x86-64 VM shared with other jobs, NumPy 2.4 / OpenBLAS, dask 2026.8, float64, N = 2000,
784-1000-…-1000-10, medians of 3 × 3 iterations while the other jobs were idle):

======  =========  ============  =========  ==========  ===================  ========================
layers  runner     s/iteration   speedup    efficiency  speedup by CPU time  bytes between workers/it
======  =========  ============  =========  ==========  ===================  ========================
8       serial     2.95          1          100 %       1                    0
8       dask, 1    3.03          0.98       98 %        1.02                 0
8       dask, 2    1.87          1.58       79 %        1.82                 3.2e7
16      serial     6.78          1          100 %       1                    0
16      dask, 1    6.79          1.00       100 %       1.01                 0
16      dask, 2    4.26          1.59       79 %        1.95                 3.2e7
======  =========  ============  =========  ==========  ===================  ========================

The serial iteration is 1.3× its matrix-product floor. With other jobs busy on the same two cores the
2-worker wall-clock efficiency fell to 42–57 % (8 layers) while the CPU-time speedup stayed at 1.7.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

import amref
from amref.backend import get_namespace
from amref.data import Dataset, one_hot
from amref.solvers.pdadmm import PdADMMOptions
from floor import pdadmm_products, product_timer


def synthetic(d_in: int, n: int, classes: int, dtype: str, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.random((d_in, n + 500)).astype(dtype)
    y = one_hot(rng.integers(0, classes, n + 500), classes).astype(dtype)
    return Dataset("synthetic", x[:, :n], y[:, :n], x[:, n:], y[:, n:])


def floor_seconds(widths, n: int, dtype: str, repeats: int = 3) -> float:
    """One thread: the matrix products of one iteration (:func:`pdadmm_products`), best of ``repeats``."""
    timer = product_timer(pdadmm_products(widths, n), dtype, get_namespace("numpy"))
    return min(timer() for _ in range(repeats))


def run(spec, problem, data, options, iters: int, client=None) -> dict:
    """``iters`` iterations as the driver runs them, without its accuracy evaluation: ``step`` then
    ``diagnostics``. Wall and CPU seconds of each (CPU of the busiest process: this one, or a worker)."""
    state = spec.init_state(problem, data, problem.init_params(0), options)

    def cpu():
        return client.run(time.process_time) if client is not None else {"client": time.process_time()}

    out = {"wall": [], "cpu": [], "between": 0.0}
    for _ in range(iters):
        c0, t0 = cpu(), time.perf_counter()
        state = spec.step(state, data, options)
        row = spec.diagnostics(state, data, options)
        wall, c1 = time.perf_counter() - t0, cpu()
        out["wall"].append(wall)
        out["cpu"].append(max(c1[k] - c0[k] for k in c1))
        out["between"] = row.get("bytes_between_workers", 0.0)
    out["wall"], out["cpu"] = out["wall"][1:], out["cpu"][1:]  # drop the warm-up iteration
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--inputs", type=int, default=784)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--iters", type=int, default=4, help="iterations per run (the first is dropped)")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved repetitions of every runner")
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    ap.add_argument("--threads", action="store_true", help="LocalCluster of threads instead of processes")
    ap.add_argument("--out", default=None, help="also write the figures as JSON")
    args = ap.parse_args(argv)
    if args.layers < 2 or args.iters < 2 or args.repeats < 1:
        ap.error("need --layers >= 2, --iters >= 2, --repeats >= 1")
    counts = [int(w) for w in args.workers.split(",")]

    from distributed import Client

    from amref.parallel.dask import DaskRunner, local_cluster

    widths = (args.inputs,) + (args.width,) * (args.layers - 1) + (10,)
    problem = amref.MLP(widths)
    data = synthetic(args.inputs, args.samples, 10, args.dtype)
    options = PdADMMOptions()  # the paper's speedup runs: ρ = ν = 1e-4
    solver = amref.get_solver("pdadmm")
    print(f"pdADMM, widths {args.inputs}-{args.width}×{args.layers - 1}-10, N = {args.samples}, {args.dtype}, "
          f"{args.iters} iterations × {args.repeats} repeats; cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}",
          flush=True)
    with threadpool_limits(1):
        floor = floor_seconds(widths, args.samples, args.dtype)
    results: dict = {"serial": []}
    clusters = {}
    try:
        for n in counts:
            cluster = local_cluster(n, processes=not args.threads)
            clusters[n] = (cluster, Client(cluster, set_as_default=False))
            results[n] = []
        loads = [os.getloadavg()[0]]
        for rep in range(args.repeats):
            with threadpool_limits(1):
                results["serial"].append(run(solver, problem, data, options, args.iters))
                for n in counts:
                    runner = DaskRunner(clusters[n][1])
                    results[n].append(run(runner.solver(solver), problem, data, options, args.iters, clusters[n][1]))
            loads.append(os.getloadavg()[0])
            print(f"repeat {rep + 1}/{args.repeats} done (load {loads[-1]:.1f})", flush=True)
    finally:
        for cluster, client in clusters.values():
            client.close()
            cluster.close()

    def med(key, runs):
        return statistics.median(v for r in runs for v in r[key])

    serial, serial_cpu = med("wall", results["serial"]), med("cpu", results["serial"])
    rows = [{"runner": "serial", "workers": 1, "wall": serial, "cpu": serial_cpu, "speedup": 1.0, "efficiency": 1.0,
             "cpu_speedup": 1.0, "between": 0.0}]
    for n in counts:
        wall, cpu = med("wall", results[n]), med("cpu", results[n])
        rows.append({"runner": "dask", "workers": n, "wall": wall, "cpu": cpu, "speedup": serial / wall,
                     "efficiency": serial / wall / n, "cpu_speedup": serial_cpu / cpu,
                     "between": results[n][-1]["between"]})
    print(f"\nmatrix-product floor of one iteration (1 thread): {floor:.3f} s; serial / floor = {serial / floor:.2f}")
    print(f"load average during the runs: {min(loads):.1f} … {max(loads):.1f} on {os.cpu_count()} CPUs\n")
    print("| runner | workers | s/iteration (median) | speedup | parallel efficiency | CPU s of the busiest process "
          "| speedup by CPU time | bytes between workers / it |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['runner']} | {r['workers']} | {r['wall']:.3f} | {r['speedup']:.2f} | {r['efficiency']:.0%} | "
              f"{r['cpu']:.3f} | {r['cpu_speedup']:.2f} | {r['between']:.3g} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "floor": floor, "rows": rows,
                       "raw": {str(k): v for k, v in results.items()}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
