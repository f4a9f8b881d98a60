"""What the ratio scripts share: problem arguments, data, the matrix-product floor and round-robin timing.

``product_timer`` times exactly the products a :func:`~amref.flops.MatrixProduct` list describes (same
shapes, layouts, dtype and backend); ``round_robin`` warms every contender up once and then times them in
turn, round after round, so that all of them see the same load on a shared machine. Report medians and
the per-round ("paired") ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable

import numpy as np

import amref
from amref.backend import synchronize
from amref.flops import MatrixProduct

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def add_problem_arguments(p: argparse.ArgumentParser, iters: int = 5) -> None:
    """--width, --samples, --dtype, --backend, --data, --iters, --json."""
    p.add_argument("--width", type=int, default=1000, help="hidden width of 784-w-w-10")
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    p.add_argument("--data", default="mnist" if os.environ.get("AMREF_DATA_DIR") else "synthetic",
                   choices=("mnist", "synthetic"), help="MNIST (needs AMREF_DATA_DIR) or MNIST-shaped noise")
    p.add_argument("--iters", type=int, default=iters, help="timed rounds after one warm-up")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")


def load_data(args: argparse.Namespace, xp):
    """The first ``--samples`` MNIST images, or synthetic data of the same shape, in ``xp``."""
    if args.data == "mnist":
        data = amref.load_dataset("mnist", train_size=args.samples, test_size=100, dtype=args.dtype, download=False)
        return data.to(xp) if args.backend != "numpy" else data
    from benchmarks.common import mnist_like

    return mnist_like(784, args.samples, 10, args.dtype, xp)


def product_timer(products: list[MatrixProduct], dtype: str, xp) -> Callable[[], float]:
    """A callable that runs every product once (weighted by its count) and returns the seconds."""
    rng = np.random.default_rng(0)

    def arr(shape):
        return xp.asarray(rng.standard_normal(shape).astype(dtype))

    calls = []
    for p in products:
        m, k, n = p.shape
        if p.layout == "NT":
            A, B = arr((m, k)), arr((n, k))
            calls.append((lambda A=A, B=B: A @ B.T, p.count))
        elif p.layout == "TN":
            A, B = arr((k, m)), arr((k, n))
            calls.append((lambda A=A, B=B: A.T @ B, p.count))
        else:
            A, B = arr((m, k)), arr((k, n))
            calls.append((lambda A=A, B=B: A @ B, p.count))

    def run() -> float:
        total = 0.0
        for f, count in calls:
            t0 = time.perf_counter()
            f()
            synchronize(xp)
            total += count * (time.perf_counter() - t0)
        return total

    return run


def round_robin(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Warm each contender up once, then time them in turn for ``rounds`` rounds; seconds per contender."""
    runs: dict[str, list[float]] = {name: [] for name in contenders}
    for f in contenders.values():
        f()
    for _ in range(rounds):
        for name, f in contenders.items():
            runs[name].append(f())
    return runs


def paired(runs: dict[str, list[float]], a: str, b: str) -> float:
    """Median over rounds of ``a``'s time divided by ``b``'s time in the same round."""
    return statistics.median(x / y for x, y in zip(runs[a], runs[b]))
