"""Layer-parallel pdADMM-G / pdADMM-G-Q on Cora: bytes per iteration and test accuracy, float64 / float32 /
integer codes (pdADMM-G-Q paper, Fig 5 and Table III).

Every run trains the 10-layer GA-MLP on Cora with the dask runner (a LocalCluster of ``--workers``
workers), by the released -G-Q code's greedy protocol for every run (2 → 5 → 10 layers, 100 or 200
iterations per stage, the code's ρ schedule and weight decay; ``validation/pdadmm_g_wang2022.py``), and
records what the runner
measured: ``bytes_sent`` per iteration of the 10-layer stage (every layer boundary's messages, the paper's
count) and ``bytes_between_workers`` (what crossed between the workers), checked against
:func:`amref.quantize.boundary_bytes`. Runs:

* ``float64`` / ``float32``: pdADMM-G, boundary arrays as floats of the working precision.
* ``codes uint8 (pq)``: pdADMM-G-Q with p and q on 256 uniform levels in ``--grid-range`` (default
  [0, 1.25]: the activations of these nets are ≥ 0, their 99th percentile is ≈ 1.0–1.1; among the ranges
  [0, 1.25], [0, 1.5], [0, 2], [−1, 2] and 256 levels 3t^1.5 or log-spaced, [0, 1.25] had the best
  *validation* accuracy), sent as ``uint8`` codes.
* ``codes uint16 (pq)``: p and q on the released code's 1,000-level grid, ``uint16`` codes.
* ``codes uint8 (pq), paper Δ``: p and q on the paper's integers −1…20.

u_l is not sent (the receiver recomputes it); the table also gives the bytes with ``send_duals=True``
(the paper's and the authors' scheme: u_l in the working precision). Targets (issue 5): quantized p and q
cut bytes per iteration by ≥ 70 % against float32, with test accuracy within 1 point of the unquantized
float32 run (means over ``--seeds``).

Usage::

    AMREF_DATA_DIR=../shared/data python validation/parallel_cora.py --quick

Measured (``--quick``: seeds 0, 100, 200; 100 iterations per stage; 10 × 100, N = 140; 2 workers):

=============================  =================  ==========  ===============  ==========  =================
run                            bytes / iteration  vs float32  with u sent      val. acc.   test acc.
=============================  =================  ==========  ===============  ==========  =================
float64                        2,016,000          +100 %      3,024,000        0.699       0.732 ± 0.023
float32                        1,008,000          —           1,512,000        0.699       0.732 ± 0.023
uint8 codes, [0, 1.25]         252,000            −75 %       756,000 (−50 %)  0.726       0.750 ± 0.009
uint16 codes, code grid        504,000            −50 %       1,008,000        0.709       0.737 ± 0.017
uint8 codes, paper Δ           252,000            −75 %       756,000          0.593       0.612 ± 0.036
=============================  =================  ==========  ===============  ==========  =================

Every measured ``bytes_sent`` equals ``boundary_bytes`` (p + q). The paper's Δ = {−1, …, 20} is too
coarse for these activations (median ≈ 0.2): p freezes at its first projection.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time

import numpy as np

import amref
import amref.data
from amref.quantize import CODE_LEVELS, PAPER_LEVELS, Grid, boundary_bytes
from amref.solvers.greedy import Stage, train_greedy
from amref.solvers.pdadmm_g import PdADMMGOptions, PdADMMGQOptions

SEEDS = (0, 100, 200, 300, 400)
CODE_RHO_10 = 1e-4  # Cora's 10-layer stage in the released code


def stages(iterations: int, grid: Grid | None) -> list[Stage]:
    """The released -G-Q code's three stages (``validation/pdadmm_g_wang2022.py``) for every run, so that
    only the encoding of p and q differs; p and q on ``grid`` when one is given."""
    Opt = PdADMMGOptions if grid is None else PdADMMGQOptions
    extra = {} if grid is None else dict(quantize="pq", levels=grid)
    return [
        Stage(2, iterations, Opt.released_code(rho=1e-5, weight_decay=10.0, zl_init="zeros", **extra)),
        Stage(5, iterations, Opt.released_code(rho=1e-5, weight_decay=0.01, zl_init="zeros", **extra)),
        Stage(10, iterations, Opt.released_code(rho=CODE_RHO_10, weight_decay=0.01, **extra), output_init="identity"),
    ]


def run(client, data, width: int, grid: Grid | None, iterations: int, seed: int) -> dict:
    from amref.parallel import DaskRunner

    train_only = dataclasses.replace(data, x_test=None, y_test=None, x_val=None, y_val=None)
    problem = amref.MLP((data.n_features,) + (width,) * 9 + (data.n_classes,))
    solver = DaskRunner(client).solver(amref.get_solver("pdadmm-g" if grid is None else "pdadmm-g-q"))
    t0 = time.perf_counter()
    r = train_greedy(solver, problem, train_only, stages=stages(iterations, grid), seed=seed)
    if r.status is not amref.Status.COMPLETED:
        raise RuntimeError(r.message)
    h = r.history
    last = [i for i, depth in enumerate(h["depth"]) if depth == 10]
    return {"test": problem.evaluate(r.params, data.x_test, data.y_test)[1], "train": h["train_accuracy"][-1],
            "val": problem.evaluate(r.params, data.x_val, data.y_val)[1],
            "bytes_sent": h["bytes_sent"][last[-1]], "bytes_between_workers": h["bytes_between_workers"][last[-1]],
            "seconds": time.perf_counter() - t0}


def bytes_with_duals(client, data, width: int, grid: Grid | None) -> float:
    """Measured bytes of one 10-layer iteration with ``send_duals=True`` (u_l travels too)."""
    from amref.parallel import DaskRunner

    problem = amref.MLP((data.n_features,) + (width,) * 9 + (data.n_classes,))
    opts = PdADMMGOptions() if grid is None else PdADMMGQOptions(quantize="pq", levels=grid)
    solver = DaskRunner(client, send_duals=True).solver(amref.get_solver("pdadmm-g" if grid is None else "pdadmm-g-q"))
    return amref.minimize(solver, problem, data, opts, max_iter=1).history["bytes_sent"][0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 seeds, 100 iterations per stage (default: 5 seeds, 200)")
    ap.add_argument("--width", type=int, default=100, help="hidden units (Table III: 100; Fig 5: 1000)")
    ap.add_argument("--grid-range", type=float, nargs=2, default=(0.0, 1.25), metavar=("LOW", "HIGH"),
                    help="range of the 256 uniform levels of the uint8 run (default 0 1.25)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="validation/out/parallel_cora.md")
    args = ap.parse_args(argv)
    seeds = SEEDS[:3] if args.quick else SEEDS
    iterations = 100 if args.quick else 200

    from distributed import Client

    from amref.parallel.dask import local_cluster

    # code features [Â⁴X, …, X]; float32 by casting (graph_dataset's dtype= keeps float64 features on main)
    base = amref.data.load_dataset("cora", hops=5, order="descending", download=False)
    datasets = {"float64": base, "float32": base.to("numpy", dtype="float32")}
    low, high = args.grid_range
    runs = [("float64", "float64", None), ("float32", "float32", None),
            (f"codes uint8 (pq), [{low:g}, {high:g}]", "float32", Grid.uniform(low, high, 256)),
            ("codes uint16 (pq), code grid", "float32", CODE_LEVELS),
            ("codes uint8 (pq), paper Δ", "float32", PAPER_LEVELS)]
    widths = (base.n_features,) + (args.width,) * 9 + (base.n_classes,)
    results = []
    with local_cluster(args.workers, processes=False) as cluster, Client(cluster, set_as_default=False) as client:
        for label, dtype, grid in runs:
            data = datasets[dtype]
            out = [run(client, data, args.width, grid, iterations, s) for s in seeds]
            acc = np.array([o["test"] for o in out])
            want = boundary_bytes(widths, data.n_train, dtype=dtype, quantize=None if grid is None else "pq", grid=grid)
            encoding = None if grid is None else f"{grid.count} levels, {grid.code_dtype}"
            row = {"run": label, "dtype": dtype, "grid": encoding,
                   "test_mean": float(acc.mean()), "test_std": float(acc.std()), "test": acc.tolist(),
                   "train": [o["train"] for o in out], "val": [o["val"] for o in out],
                   "bytes_sent": out[0]["bytes_sent"],
                   "bytes_between_workers": out[0]["bytes_between_workers"],
                   "boundary_bytes_pq": want["p"] + want["q"],
                   "bytes_with_duals": bytes_with_duals(client, data, args.width, grid),
                   "seconds_per_run": float(np.mean([o["seconds"] for o in out]))}
            assert row["bytes_sent"] == row["boundary_bytes_pq"], (row["bytes_sent"], row["boundary_bytes_pq"])
            results.append(row)
            print(f"{label:34} test {row['test_mean']:.4f} ± {row['test_std']:.4f}  bytes/it {row['bytes_sent']:>10.0f}"
                  f" (with u {row['bytes_with_duals']:>10.0f}, between workers {row['bytes_between_workers']:>9.0f})"
                  f"  {row['seconds_per_run']:.0f} s/run", flush=True)

    f32 = next(r for r in results if r["run"] == "float32")
    lines = ["# Layer-parallel pdADMM-G / -G-Q on Cora: bytes per iteration and test accuracy", "",
             f"10 layers × {args.width} (Cora GA-MLP features K = 5, N = {base.n_train} training nodes); dask runner, "
             f"{args.workers} workers; greedy 2 → 5 → 10, {iterations} iterations per stage (the -G-Q code's); "
             f"seeds {list(seeds)}. Bytes are measured per iteration of the 10-layer stage.", "",
             "| run | boundary arrays | bytes / iteration (u recomputed) | vs float32 | bytes with u sent | "
             "vs float32 with u | between workers | validation acc. | test accuracy | Δ test vs float32 (per seed) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        change = r["bytes_sent"] / f32["bytes_sent"] - 1
        change_u = r["bytes_with_duals"] / f32["bytes_with_duals"] - 1
        paired = 100 * np.subtract(r["test"], f32["test"])  # the same seeds: per-seed differences
        lines.append(f"| {r['run']} | {r['grid'] or r['dtype']} | {r['bytes_sent']:.0f} | {change:+.0%} | "
                     f"{r['bytes_with_duals']:.0f} | {change_u:+.0%} | {r['bytes_between_workers']:.0f} | "
                     f"{np.mean(r['val']):.3f} | {r['test_mean']:.3f} ± {r['test_std']:.3f} | "
                     f"{paired.mean():+.1f} ± {paired.std():.1f} pt |")
    lines += ["", "Paper (Table III, 100 neurons, 5 seeds): pdADMM-G 0.784 ± 0.003, pdADMM-G-Q 0.788 ± 0.003; Fig 5 "
              "(Citeseer, 10 × 1000): p and q at 8 bits ≈ −30 % bytes against no quantization (u sent as floats)."]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
    print(f"report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
