"""Quantization cost against the pdADMM p-step it belongs to, and bytes per iteration.

Prints medians (seconds) of: the machine's matrix-product rate (one n × n × N product), the plain p-step,
the quantized p-step, the projection alone, encode and decode, for each grid; then the ratios
projection / p-step and quantized / plain p-step; then the bytes the boundary arrays take per
iteration in float64, float32 and as codes for the papers' 10-layer nets.

    python benchmarks/quantize_cost.py [--width 500] [--samples 2000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from amref.quantize import ARXIV_LEVELS, CODE_LEVELS, FLICKR_LEVELS, PAPER_LEVELS, bytes_table, decode, encode, project
from amref.solvers import pdadmm as pd

GRIDS = {"paper (22, uniform)": PAPER_LEVELS, "code (1000, uniform)": CODE_LEVELS,
         "flickr (201, sorted)": FLICKR_LEVELS, "arxiv (121, sorted)": ARXIV_LEVELS}


def median_time(fn, repeat):
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--width", type=int, default=500)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    n, N, rep = args.width, args.samples, args.repeat
    rng = np.random.default_rng(0)
    W = rng.normal(size=(n, n)) / np.sqrt(n)
    p, z, q = rng.normal(0.5, 1.0, (n, N)), rng.normal(size=(n, N)), rng.normal(size=(n, N))
    u = np.zeros((n, N))
    m = W @ p
    t_mm = median_time(lambda: W @ p, rep)
    print(f"n = {n}, N = {N}: one n×n×N product {t_mm * 1e3:.2f} ms ({2 * n * n * N / t_mm / 1e9:.1f} GFLOP/s)")
    plain = pd.PdADMMOptions(rho=1.0, nu=0.1)
    t_plain = median_time(lambda: pd.update_p(p, W, m, z, q, u, 1.0, 0.1, plain), rep)
    print(f"plain p-step {t_plain * 1e3:.2f} ms ({t_plain / t_mm:.1f} products)")
    print(f"{'grid':22} {'project':>9} {'encode':>9} {'decode':>9} {'quant. p-step':>14} "
          f"{'project/p-step':>15} {'quant/plain':>12}")
    for name, grid in GRIDS.items():
        pq = project(p, grid)
        codes = encode(p, grid)
        quant = pd.PdADMMOptions(rho=1.0, nu=0.1, quantize="p", levels=grid)
        t_proj = median_time(lambda: project(p, grid), rep)
        t_enc = median_time(lambda: encode(p, grid), rep)
        t_dec = median_time(lambda: decode(codes, grid), rep)
        t_q = median_time(lambda: pd.update_p(pq, W, W @ pq, z, q, u, 1.0, 0.1, quant), rep)
        print(f"{name:22} {t_proj * 1e3:8.2f}ms {t_enc * 1e3:8.2f}ms {t_dec * 1e3:8.2f}ms {t_q * 1e3:12.2f}ms "
              f"{t_proj / t_plain:15.2f} {t_q / t_plain:12.2f}")
    for label, widths, N_ in (("Cora, 10 × 100", (7165,) + (100,) * 9 + (7,), 140),
                              ("Cora, 10 × 500", (7165,) + (500,) * 9 + (7,), 140),
                              ("MNIST-196, 10 × 500", (196,) + (500,) * 9 + (10,), 55000)):
        print(f"bytes per iteration, {label}, N = {N_}:")
        for row in bytes_table(widths, N_, PAPER_LEVELS, "p") + bytes_table(widths, N_, PAPER_LEVELS, "pq")[2:]:
            print(f"  quantize={str(row['quantize']):5} {row['encoding']:28} {row['bytes']:>14,.0f}")


if __name__ == "__main__":
    main()
