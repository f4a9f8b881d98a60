"""What the ratio scripts share: problem arguments, data, the matrix-product floor and round-robin timing.

A method's O(n²N) matrix products per iteration are listed as :class:`MatrixProduct` records
(:func:`dladmm_products`, :func:`backprop_products`, :func:`pdadmm_products`, :func:`mdlam_products`,
:func:`taylor_admm_products`, :func:`bcd_products`, :func:`mac_products`; :func:`solver_products` by name); ``product_timer`` times
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
from amref.backend import solve_spd, synchronize

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
        Layouts are those of an iteration after the first (a weight that a solve returned transposed stays
        an F-array in the state).
    op : {"matmul", "solve", "eigh"}
        ``"matmul"`` (the default); ``"solve"``: a dense ``m × m`` system (``k = m``) with ``n`` right-hand
        sides (``linalg.solve``); ``"eigh"``: the eigendecomposition of a symmetric ``m × m`` matrix (shape
        ``(m, m, m)``). Solvers that minimise a block exactly (Taylor ADMM, BCD, MAC) need these, and they
        belong to the floor as much as the products do.
    """

    label: str
    shape: tuple[int, int, int]
    count: int
    layout: str = "NN"
    op: str = "matmul"


def flops(products: Iterable[MatrixProduct]) -> int:
    """Floating-point operations of the products, 2mkn each; nominal counts for the dense linear
    algebra (LU solve 2m³/3 + 2m²n, symmetric eigendecomposition 9m³)."""

    def one(p):
        m, k, n = p.shape
        if p.op == "solve":
            return 2 * m**3 // 3 + 2 * m * m * n
        if p.op == "eigh":
            return 9 * m**3
        return 2 * m * k * n

    return sum(one(p) * p.count for p in products)


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


def mdlam_products(widths: Sequence[int], n_samples: int, extrapolation: bool = True) -> list[MatrixProduct]:
    """The products of one :func:`amref.solvers.mdlam.step` after the second iteration (ω ≠ 0), when no
    safeguard restart happens and every a-step backtracking accepts its first τ.

    Per layer the W-step does ``Ŵ a`` (the extrapolated point's m; not at ω = 0), ``(z − m) aᵀ`` and
    ``G a``; per hidden layer the a-step does ``W_{l+1} â`` (ω ≠ 0), ``W_{l+1}ᵀ(z − m)`` and ``W_{l+1} d``
    per backtracking trial. A restart repeats a block's step (≈ its products once more), each rejected
    trial adds a ``W d``: both are data dependent and reported in the state (``restarts``), not here.
    """
    widths, N, e = list(widths), int(n_samples), int(bool(extrapolation))
    out = []
    for l in range(1, len(widths)):
        n_in, n_out = widths[l - 1], widths[l]
        out.append(MatrixProduct(f"W{l}: (z-m) a.T", (n_out, N, n_in), 1, "NT"))
        out.append(MatrixProduct(f"W{l}: G a" + (", W^ a" if e else ""), (n_out, n_in, N), 1 + e, "NN"))
    for l in range(1, len(widths) - 1):
        n, n_next = widths[l], widths[l + 1]
        out.append(MatrixProduct(f"a{l}: W{l + 1}.T (z-m)", (n, n_next, N), 1, "TN"))
        out.append(MatrixProduct(f"a{l}: W{l + 1} d" + (", W a^" if e else ""), (n_next, n, N), 1 + e, "NN"))
    return out


def _least_squares_products(widths: Sequence[int], n_samples: int, *, x: str, target: str, input_target: str,
                            bias: bool) -> list[MatrixProduct]:
    """The products and solves of a method whose blocks are regularised least-squares fits (Taylor ADMM's
    T1/T2/T4, BCD's B3/B4/B6): per layer the weight fit ``x xᵀ``, ``x targetᵀ``, the n_{l−1} × n_{l−1} solve
    with n_l right-hand sides, (``bias``) the matrix–vector ``W (x 1)`` and ``m = W x``; per hidden layer
    the input fit ``W_{l+1}ᵀW_{l+1}``, ``W_{l+1}ᵀ(input_target)`` and the n_l × n_l solve with N
    right-hand sides. ``x``, ``target``, ``input_target`` are the method's symbols, for the labels."""
    widths, N = list(widths), int(n_samples)
    out = []
    for l in range(1, len(widths)):
        n_in, n_out = widths[l - 1], widths[l]
        out.append(MatrixProduct(f"W{l}: {x} {x}.T", (n_in, N, n_in), 1, "NT"))
        out.append(MatrixProduct(f"W{l}: {x} {target}.T", (n_in, N, n_out), 1, "NT"))
        out.append(MatrixProduct(f"W{l}: solve", (n_in, n_in, n_out), 1, "NN", "solve"))
        if bias:
            out.append(MatrixProduct(f"b{l}: W ({x} 1)", (n_out, n_in, 1), 1, "TN"))
        out.append(MatrixProduct(f"m{l}: W {x}", (n_out, n_in, N), 1, "TN"))
    for l in range(1, len(widths) - 1):
        n, n_next = widths[l], widths[l + 1]
        out.append(MatrixProduct(f"{x}{l}: W.T W", (n, n_next, n), 1, "NT"))
        out.append(MatrixProduct(f"{x}{l}: W.T {input_target}", (n, n_next, N), 1, "NN"))
        out.append(MatrixProduct(f"{x}{l}: solve", (n, n, N), 1, "NN", "solve"))
    return out


def taylor_admm_products(widths: Sequence[int], n_samples: int) -> list[MatrixProduct]:
    """The products and solves of one :func:`amref.solvers.taylor_admm.step` (``weight_solver="solve"``,
    no bias: the defaults).

    T1/T4 per layer: the Gram ``a aᵀ``, ``a zᵀ``, the n_{l−1} × n_{l−1} solve with n_l right-hand sides and
    ``m = W a`` (W comes out of the solve transposed). T2 per hidden layer: ``W_{l+1}ᵀW_{l+1}``,
    ``W_{l+1}ᵀ(z_{l+1} − b)`` and the n_l × n_l solve with N right-hand sides.
    """
    return _least_squares_products(widths, n_samples, x="a", target="z", input_target="(z-b)", bias=False)


def bcd_products(widths: Sequence[int], n_samples: int, bias: bool = True) -> list[MatrixProduct]:
    """The products and solves of one :func:`amref.solvers.bcd.step` (defaults: biases, Gauss–Seidel).

    B3/B6 per layer: ``V Vᵀ``, ``V (U − b)ᵀ``, the n_{i−1} × n_{i−1} solve with n_i right-hand sides,
    (bias) the matrix–vector ``W (V 1)`` and ``m_i = W_i V_{i−1}``; B4 per hidden layer: ``W_{i+1}ᵀW_{i+1}``,
    ``W_{i+1}ᵀ(U_{i+1} − b)`` and the n_i × n_i solve with N right-hand sides.
    """
    return _least_squares_products(widths, n_samples, x="V", target="(U-b)", input_target="(U-b)", bias=bias)


def mac_products(widths: Sequence[int], n_samples: int, w_iters: int = 3, z_iters: int = 3,
                 z_sweeps: int = 1) -> list[MatrixProduct]:
    """The products and eigendecompositions of one :func:`amref.solvers.mac.step` (a stage in progress).

    W-step (M2/M3) per layer: the Gram ``[a; 1][a; 1]ᵀ`` and its eigendecomposition (layer 1's is cached
    in the state), then ``w_iters + 1`` evaluations (``W a``, gradient ``a dᵀ``) and ``w_iters`` trials
    (``Qᵀg``, ``Q(·)`` in the (n_{l−1}+1)-dimensional eigenbasis). Z-step (M4) per hidden layer and sweep:
    ``h(W_k z_{k−1})``, ``W_{k+1}ᵀW_{k+1}`` and its eigendecomposition, ``z_iters + 1`` evaluations
    (``W_{k+1} v``, ``W_{k+1}ᵀ du``) and ``z_iters`` trials (``Qᵀg``, ``Q(·)``, n_k × n_k by N). Finally
    the constraint gaps ``W_k z_{k−1}``. A wide input (n_0 + 1 > N) has the thin (n_0 + 1) × N basis
    (:func:`amref.solvers.mac.gram_basis`), so layer 1's ``Qᵀg`` and ``Q s`` are (n_0 + 1) × N by N; a
    wide hidden layer (its thin SVD) is not listed.
    """
    widths, N = list(widths), int(n_samples)
    L = len(widths) - 1
    out = []
    for l in range(1, L + 1):
        n_in, n_out = widths[l - 1], widths[l]
        r = min(n_in + 1, N)  # the rank of the layer's Gram basis
        if l > 1:
            if r < n_in + 1:
                raise ValueError(f"mac_products: hidden layer {l - 1} is wider than N = {N} (a thin SVD; not listed)")
            out.append(MatrixProduct(f"W{l}: gram", (n_in, N, n_in), 1, "NT"))
            out.append(MatrixProduct(f"W{l}: eigh", (n_in + 1, n_in + 1, n_in + 1), 1, "NN", "eigh"))
        out.append(MatrixProduct(f"W{l}: W a", (n_out, n_in, N), w_iters + 1, "TN"))
        out.append(MatrixProduct(f"W{l}: a d.T", (n_in, N, n_out), w_iters + 1, "NT"))
        out.append(MatrixProduct(f"W{l}: Q.T g", (r, n_in + 1, n_out), w_iters, "TN"))
        out.append(MatrixProduct(f"W{l}: Q s", (n_in + 1, r, n_out), w_iters, "NN"))
    for l in range(1, L):
        n_in, n, n_next = widths[l - 1], widths[l], widths[l + 1]
        out.append(MatrixProduct(f"z{l}: W a", (n, n_in, N), z_sweeps + 1, "TN"))  # + the gap
        out.append(MatrixProduct(f"z{l}: W.T W", (n, n_next, n), z_sweeps, "NT"))
        out.append(MatrixProduct(f"z{l}: eigh", (n, n, n), z_sweeps, "NN", "eigh"))
        out.append(MatrixProduct(f"z{l}: W v", (n_next, n, N), z_sweeps * (z_iters + 1), "TN"))
        out.append(MatrixProduct(f"z{l}: W.T du", (n, n_next, N), z_sweeps * (z_iters + 1), "NN"))
        out.append(MatrixProduct(f"z{l}: Q.T g", (n, n, N), z_sweeps * z_iters, "TN"))
        out.append(MatrixProduct(f"z{l}: Q s", (n, n, N), z_sweeps * z_iters, "NN"))
    return out


def solver_products(name: str, widths: Sequence[int], n_samples: int, options=None) -> list[MatrixProduct]:
    """The floor of one iteration of the registered AM solver ``name`` (options: the solver's, for the
    counts that depend on them)."""
    if name == "dladmm":
        return dladmm_products(widths, n_samples)
    if name in ("pdadmm", "pdadmm-g", "pdadmm-g-q"):
        return pdadmm_products(widths, n_samples)
    if name == "mdlam":
        return mdlam_products(widths, n_samples, getattr(options, "extrapolation", True))
    if name == "taylor-admm":
        if options is not None and (options.bias or options.weight_solver != "solve"):
            raise ValueError("taylor_admm_products lists the defaults (no bias, weight_solver='solve')")
        return taylor_admm_products(widths, n_samples)
    if name == "bcd":
        return bcd_products(widths, n_samples, getattr(options, "bias", True))
    if name == "mac":
        kw = {} if options is None else dict(w_iters=options.w_iters, z_iters=options.z_iters,
                                             z_sweeps=options.z_sweeps)
        return mac_products(widths, n_samples, **kw)
    raise ValueError(f"no product list for solver {name!r}: add one to benchmarks/floor.py")


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
        if p.op in ("solve", "eigh"):
            R = rng.standard_normal((m, m))
            A = xp.asarray((R @ R.T / m + np.eye(m)).astype(dtype))  # symmetric positive definite
            if p.op == "solve":
                B = arr((m, n))
                calls.append((lambda A=A, B=B: solve_spd(A, B), p.count))
            else:
                calls.append((lambda A=A: xp.linalg.eigh(A), p.count))
        elif p.layout == "NT":
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
