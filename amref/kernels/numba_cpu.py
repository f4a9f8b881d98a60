"""Numba kernels for NumPy arrays: one pass over memory where the array-API versions make several.

Each function has the same meaning as its reference in :mod:`amref.solvers.subproblems` /
:mod:`amref.losses` and computes in the arrays' own precision.
"""

from __future__ import annotations

import numba
import numpy as np

_BLOCK = 512  # columns per parallel chunk in the column-wise softmax kernel


@numba.njit(parallel=True, cache=False)
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


def relu_prox(m, a, alpha, beta, z_prev, delta, compare_full):
    """Numba version of :func:`amref.solvers.subproblems.relu_prox_xp`."""
    dt = m.dtype.type
    out = np.empty_like(m)
    has_prev = z_prev is not None and delta != 0
    zp = z_prev if has_prev else m
    _relu_prox(m, a, zp, dt(alpha), dt(beta), dt(delta), has_prev, compare_full, out)
    return out


@numba.njit(parallel=True, cache=False)
def _ce_grad_value(z, y, grad, partial):
    C, N = z.shape
    nblocks = (N + _BLOCK - 1) // _BLOCK
    for blk in numba.prange(nblocks):
        j0 = blk * _BLOCK
        j1 = min(N, j0 + _BLOCK)
        width = j1 - j0
        mx = np.empty(width, dtype=z.dtype)
        tot = np.zeros(width, dtype=z.dtype)
        for jj in range(width):
            mx[jj] = z[0, j0 + jj]
        for i in range(1, C):
            for jj in range(width):
                v = z[i, j0 + jj]
                if v > mx[jj]:
                    mx[jj] = v
        for i in range(C):
            for jj in range(width):
                e = np.exp(z[i, j0 + jj] - mx[jj])
                grad[i, j0 + jj] = e
                tot[jj] += e
        acc = 0.0
        for i in range(C):
            for jj in range(width):
                j = j0 + jj
                grad[i, j] = grad[i, j] / tot[jj] - y[i, j]
                yij = y[i, j]
                if yij != 0:
                    acc += yij * (np.log(tot[jj]) - (z[i, j] - mx[jj]))
        partial[blk] = acc


def cross_entropy_and_grad(z, y):
    """Numba version of :func:`amref.losses.cross_entropy_and_grad`: ``(softmax(z) − y, R(z; y))``."""
    grad = np.empty_like(z)
    nblocks = (z.shape[1] + _BLOCK - 1) // _BLOCK
    partial = np.zeros(nblocks, dtype=np.float64)
    _ce_grad_value(z, y, grad, partial)
    return grad, z.dtype.type(partial.sum())
