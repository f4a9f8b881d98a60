"""Numba kernels for NumPy arrays: one pass over memory where the array-API versions make several.

Each function has the same meaning as its reference in :mod:`amref.solvers.subproblems` /
:mod:`amref.losses` and computes in the arrays' own precision.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["relu_prox", "tanh_prox"]

@numba.njit(parallel=True, cache=True)  # compiled once per environment, then loaded (numba cache)
def _relu_prox(m, a, zp, alpha, beta, delta, has_prev, compare_full, out):
    rows, cols = m.shape
    zero = m.dtype.type(0)
    for i in numba.prange(rows):
        for j in range(cols):
            mij = m[i, j]
            aij = a[i, j]
            if has_prev:
                pij = zp[i, j]
                c1 = min((alpha * mij + delta * pij) / (alpha + delta), zero)
                c2 = max((alpha * mij + beta * aij + delta * pij) / (alpha + beta + delta), zero)
            else:
                pij = zero
                c1 = min(mij, zero)
                c2 = max((alpha * mij + beta * aij) / (alpha + beta), zero)
            f1 = alpha * (c1 - mij) ** 2 + beta * aij * aij
            f2 = alpha * (c2 - mij) ** 2 + beta * (aij - c2) ** 2
            if has_prev and compare_full:
                f1 += delta * (c1 - pij) ** 2
                f2 += delta * (c2 - pij) ** 2
            out[i, j] = c2 if f2 < f1 else c1


@numba.njit(cache=False, inline="always")
def _bisect(kind, a, k, c, A, B, lo, hi, steps):
    """The array version's bisection on one piece: kind 0 = q′(t), 1 = q(t), 2 = the objective's z-derivative.

    A piece without a sign change holds no root; it returns ``lo`` at once (the array version returns another
    point of the piece: as a knot or a candidate either is as good, the function being monotone there).
    """
    f_lo = _tanh_fun(kind, a, k, c, A, B, lo)
    s_lo = (f_lo > 0) - (f_lo < 0)
    f_hi = _tanh_fun(kind, a, k, c, A, B, hi)
    if s_lo != 0 and ((f_hi > 0) - (f_hi < 0)) == s_lo:
        return lo
    w = hi - lo
    for _ in range(steps):
        w = 0.5 * w
        mid = lo + w
        f = _tanh_fun(kind, a, k, c, A, B, mid)
        if ((f > 0) - (f < 0)) == s_lo:
            lo = mid
    return lo + 0.5 * w


@numba.njit(cache=False, inline="always")
def _tanh_fun(kind, a, k, c, A, B, x):
    if kind == 0:
        return ((12.0 * x - 6.0 * a) * x - 8.0) * x + 2.0 * a
    if kind == 1:
        return (((3.0 * x - 2.0 * a) * x - 4.0) * x + 2.0 * a) * x + (1.0 + k)
    t = np.tanh(x)
    return A * (x - c) + B * (t - a) * (1.0 - t * t)


@numba.njit(parallel=True, cache=True)
def _tanh_prox(c, a, A, B, steps, e, out):
    k = A / B
    for i in numba.prange(c.size):
        ci, ai = c[i], a[i]
        disc = np.sqrt(144.0 * ai * ai + 1152.0)
        r1 = min(max((12.0 * ai - disc) / 72.0, -1.0), 1.0)
        r2 = min(max((12.0 * ai + disc) / 72.0, -1.0), 1.0)
        # roots of q′ (one per monotone piece), then of q: the objective's inflection points
        p1 = _bisect(0, ai, k, ci, A, B, -1.0, r1, steps)
        p2 = _bisect(0, ai, k, ci, A, B, r1, r2, steps)
        p3 = _bisect(0, ai, k, ci, A, B, r2, 1.0, steps)
        s1 = _bisect(1, ai, k, ci, A, B, -1.0, p1, steps)
        s2 = _bisect(1, ai, k, ci, A, B, p1, p2, steps)
        s3 = _bisect(1, ai, k, ci, A, B, p2, p3, steps)
        s4 = _bisect(1, ai, k, ci, A, B, p3, 1.0, steps)
        r = (1.0 / k) * (abs(ai) + 1.0)
        lo, hi = ci - r, ci + r
        z1 = min(max(np.arctanh(min(max(s1, -e), e)), lo), hi)
        z2 = min(max(np.arctanh(min(max(s2, -e), e)), lo), hi)
        z3 = min(max(np.arctanh(min(max(s3, -e), e)), lo), hi)
        z4 = min(max(np.arctanh(min(max(s4, -e), e)), lo), hi)
        best, best_f = lo, np.inf
        for left, right in ((lo, z1), (z1, z2), (z2, z3), (z3, z4), (z4, hi)):
            z = _bisect(2, ai, k, ci, A, B, left, right, steps)
            f = A * (z - ci) ** 2 + B * (ai - np.tanh(z)) ** 2
            if f < best_f:
                best, best_f = z, f
        out[i] = best


def tanh_prox(c, a, A, B, steps):
    """Numba version of :func:`amref.activations.smooth_prox` for tanh (float64 inside, the input's dtype out)."""
    cb, ab = np.broadcast_arrays(c, a)
    cf = np.ascontiguousarray(cb, dtype=np.float64).ravel()
    af = np.ascontiguousarray(ab, dtype=np.float64).ravel()
    out = np.empty_like(cf)
    _tanh_prox(cf, af, float(A), float(B), int(steps), float(1.0 - np.finfo(cb.dtype).eps), out)
    return out.reshape(cb.shape).astype(cb.dtype, copy=False)


def relu_prox(m, a, alpha, beta, z_prev, delta, compare_full):
    """Numba version of :func:`amref.solvers.subproblems.relu_prox_xp`."""
    dt = m.dtype.type
    out = np.empty_like(m)
    has_prev = z_prev is not None and delta != 0
    zp = z_prev if has_prev else m
    _relu_prox(m, a, zp, dt(alpha), dt(beta), dt(delta), has_prev, compare_full, out)
    return out


# ----------------------------------------------------------------------------- linear-layer blocks (dlADMM)
# One pass each over the n × N arrays of a linearized W-, a- or b-step. The elementwise kernels round
# exactly as the NumPy expression they replace (the same operations in the same order, no FMA: Numba
# does not contract without fastmath), so their results are bit for bit NumPy's. The row-mean kernel is
# a reduction: it sums in float64 with eight interleaved partial sums, where NumPy sums pairwise in the
# array's dtype, so its mean can differ from NumPy's in the last bits (it is the more accurate of the two).
# They run on one thread: each is one memory-bound pass, and on the project's 2-core machine, shared with other
# jobs, a two-thread version of x − y/t took 16 ms against 7–8 ms on one thread (1000 × 10000 float32, median
# of 9, load 5): a parallel region waits for its slowest thread, and a busy core makes that one slow.
@numba.njit(cache=True)
def _subtract_scaled(x, y, t, out):
    rows, cols = x.shape
    for i in range(rows):
        for j in range(cols):
            out[i, j] = x[i, j] - y[i, j] / t


@numba.njit(cache=True)
def _add_scaled_difference(p, c, a, b, relu_b, out):
    rows, cols = p.shape
    zero = p.dtype.type(0)
    for i in range(rows):
        for j in range(cols):
            bij = b[i, j]
            if relu_b and not (bij >= zero or bij != bij):  # np.maximum(b, 0): keeps b when b ≥ 0 or NaN
                bij = zero
            out[i, j] = p[i, j] + c * (a[i, j] - bij)


@numba.njit(cache=True)
def _row_sum_difference(t, m, out):
    rows, cols = t.shape
    lanes = 8
    for i in range(rows):
        acc = np.zeros(lanes)
        full = cols - cols % lanes
        for j in range(0, full, lanes):
            for k in range(lanes):
                acc[k] += t[i, j + k] - m[i, j + k]
        s = 0.0
        for j in range(full, cols):
            s += t[i, j] - m[i, j]
        for k in range(lanes):
            s += acc[k]
        out[i] = s


def subtract_scaled(x, y, t, out=None):
    """``x − y/t`` in one pass, into ``out`` (which may be ``x``) or a new array.

    Reference: :func:`amref.solvers.subproblems.subtract_scaled` without a kernel, ``x - y / t``.
    """
    out = np.empty_like(x) if out is None else out
    _subtract_scaled(x, y, x.dtype.type(t), out)
    return out


def add_scaled_difference(p, c, a, b, out=None, relu_b=False):
    """``p + c·(a − b)`` (``relu_b``: ``p + c·(a − max(b, 0))``) in one pass, into ``out`` (which may be ``p``)
    or a new array.

    Reference: :func:`amref.solvers.subproblems.add_scaled_difference` without a kernel, ``p + c * (a - b)``
    (``b`` replaced by ``xp.maximum(b, 0.0)`` first with ``relu_b``).
    """
    out = np.empty_like(p) if out is None else out
    _add_scaled_difference(p, p.dtype.type(c), a, b, bool(relu_b), out)
    return out


def row_mean_difference(t, m, mean=True):
    """Row means (``mean=True``) or row sums of ``t − m`` as an ``n × 1`` column, without the ``n × N``
    temporary. Reference: ``xp.mean(t - m, axis=1, keepdims=True)`` (``xp.sum`` for sums); summed in
    float64 (see the section comment), returned in the arrays' dtype."""
    out = np.empty(t.shape[0])
    _row_sum_difference(t, m, out)
    if mean:
        out /= t.shape[1]
    return out.astype(t.dtype).reshape(-1, 1)


__all__ += ["add_scaled_difference", "row_mean_difference", "subtract_scaled"]
