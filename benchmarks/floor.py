"""What the ratio scripts share: problem arguments, data, the matrix-product floor and round-robin timing.

A method's O(n²N) matrix products per iteration are listed as :class:`MatrixProduct` records
(:func:`dladmm_products`, :func:`backprop_products`, :func:`pdadmm_products`); ``product_timer`` times
exactly those products (same shapes, layouts, dtype and backend) and :func:`flops` counts them; ``round_robin`` warms every contender up once and then times them in
turn, round after round, so that all of them see the same load on a shared machine. Report medians and
the per-round ("paired") ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np

import amref
from amref.backend import synchronize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class MatrixProduct(NamedTuple):
    """One kind of matrix product performed ``count`` times per iteration.

    Attributes
    ----------
    label : str
        What it computes (for reports).
    shape : (m, k, n)
        An ``m × k`` by ``k × n`` product.
    count : int
        How many times per iteration.
    layout : {"NN", "NT", "TN"}
        How the operands are stored: ``"NN"`` is ``A @ B``; ``"NT"`` is ``A @ B.T`` with B stored
        ``n × k`` (a transposed C-array, as ``(t − m) aᵀ``); ``"TN"`` is ``A.T @ B`` with A stored ``k × m``.
    """

    label: str
    shape: tuple[int, int, int]
    count: int
    layout: str = "NN"


def flops(products: Iterable[MatrixProduct]) -> int:
    """Floating-point operations of the products, 2mkn each."""
    return sum(2 * m * k * n * p.count for p in products for m, k, n in [p.shape])


def dladmm_products(widths: Sequence[int], n_samples: int) -> list[MatrixProduct]:
    """The matrix products one :func:`amref.solvers.dladmm.step` performs.

    Each W-update does ``(t − m) a_{l−1}ᵀ`` (n_l×N by N×n_{l−1}) and ``G a_{l−1}`` (n_l×n_{l−1} by
    n_{l−1}×N); each a-update does ``W_{l+1}ᵀ (t − m)`` and ``W_{l+1} g``. Every layer's W is updated
    twice (backward and forward sweep) and every hidden a twice. Nothing else is O(n²N).
    """
    widths, N = list(widths), int(n_samples)
    out = []
    for l in range(1, len(widths)):
        n_out, n_in = widths[l], widths[l - 1]
        out.append(MatrixProduct(f"W{l}: (t-m) a.T", (n_out, N, n_in), 2, "NT"))
        out.append(MatrixProduct(f"W{l}: G a", (n_out, n_in, N), 2, "NN"))
    for l in range(1, len(widths) - 1):
        n, n_next = widths[l], widths[l + 1]
        out.append(MatrixProduct(f"a{l}: W{l + 1}.T r", (n, n_next, N), 2, "TN"))
        out.append(MatrixProduct(f"a{l}: W{l + 1} g", (n_next, n, N), 2, "NN"))
    return out


def backprop_products(widths: Sequence[int], n_samples: int) -> list[MatrixProduct]:
    """The matrix products of one :func:`amref.backprop.forward_backward` on N columns.

    Forward ``W_l a_{l−1}`` (n_l×n_{l−1} by n_{l−1}×N) for every layer; backward ``δ_l a_{l−1}ᵀ``
    (n_l×N by N×n_{l−1}; as ``(a_{l−1} δ_lᵀ)ᵀ`` when n_l < n_{l−1}, see :func:`amref.backprop.outer_sum`)
    for every layer and ``W_lᵀ δ_l`` (n_{l−1}×n_l by n_l×N) for l ≥ 2 (nothing is propagated into the
    data). Nothing else is O(n²N).
    """
    widths, N = list(widths), int(n_samples)
    out = []
    for l in range(1, len(widths)):
        n_out, n_in = widths[l], widths[l - 1]
        out.append(MatrixProduct(f"z{l}: W a", (n_out, n_in, N), 1, "NN"))
        if n_out >= n_in:
            out.append(MatrixProduct(f"dW{l}: d a.T", (n_out, N, n_in), 1, "NT"))
        else:
            out.append(MatrixProduct(f"dW{l}: (a d.T).T", (n_in, N, n_out), 1, "NT"))
        if l > 1:
            out.append(MatrixProduct(f"e{l - 1}: W.T d", (n_in, n_out, N), 1, "TN"))
    return out


def pdadmm_products(widths: Sequence[int], n_samples: int) -> list[MatrixProduct]:
    """The O(n²N) products of one pdADMM iteration: p-step W_lᵀ(z − m), W_l g (layers ≥ 2) and W-step
    (z − m) p_lᵀ, G p_l (every layer)."""
    widths, N = list(widths), int(n_samples)
    out = []
    for l in range(1, len(widths)):
        n_in, n_out = widths[l - 1], widths[l]
        if l > 1:
            out.append(MatrixProduct(f"p{l}: W.T (z-m)", (n_in, n_out, N), 1, "TN"))
            out.append(MatrixProduct(f"p{l}: W g", (n_out, n_in, N), 1, "NN"))
        out.append(MatrixProduct(f"W{l}: (z-m) p.T", (n_out, N, n_in), 1, "NT"))
        out.append(MatrixProduct(f"W{l}: G p", (n_out, n_in, N), 1, "NN"))
    return out


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
