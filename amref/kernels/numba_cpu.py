"""Numba kernels for NumPy arrays: one pass over memory where the array-API versions make several.

Each function has the same meaning as its reference in :mod:`amref.solvers.subproblems` /
:mod:`amref.losses` and computes in the arrays' own precision.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["relu_prox"]

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


def relu_prox(m, a, alpha, beta, z_prev, delta, compare_full):
    """Numba version of :func:`amref.solvers.subproblems.relu_prox_xp`."""
    dt = m.dtype.type
    out = np.empty_like(m)
    has_prev = z_prev is not None and delta != 0
    zp = z_prev if has_prev else m
    _relu_prox(m, a, zp, dt(alpha), dt(beta), dt(delta), has_prev, compare_full, out)
    return out
