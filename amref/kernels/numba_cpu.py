"""Numba kernels for NumPy arrays: one pass over memory where the array-API versions make several.

Each function has the same meaning as its reference in :mod:`amref.solvers.subproblems` /
:mod:`amref.losses` and computes in the arrays' own precision.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["relu_prox", "tanh_prox"]

@numba.njit(cache=True)  # compiled once per environment, then loaded (numba cache)
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


# ----------------------------------------------------------------------------- mDLAM, pdADMM, pdADMM-G-Q
# One pass and one output where the array-API expressions (written beside each kernel) make several passes
# and allocate a temporary per operation. Every elementwise operation is the reference's, in the same order
# and in the arrays' dtype (scalars are cast to it first, as NumPy does with a Python float), so the arrays
# are bit for bit the reference's. The sums are accumulated in float64 per row and then added over rows:
# another order than ``einsum``'s, so a sum can differ from the reference in its last bits.
# They run on one thread (see the package docstring: memory-bound passes, and sums in one fixed order
# whatever the thread count); ``prange`` then loops like ``range``.
__all__ += ["band_clip", "band_trial", "grid_trial", "pdadmm_dual", "pdadmm_p_grad", "project_uniform", "sq_dist",
            "sub_div"]


@numba.njit(cache=True)
def _sq_dist(x, y):
    total = 0.0
    rows, cols = x.shape
    for i in numba.prange(rows):
        s = 0.0
        for j in range(cols):
            d = np.float64(x[i, j] - y[i, j])
            s += d * d
        total += s
    return total


def sq_dist(x, y):
    """‖x − y‖² as a Python float; replaces ``sum_of_squares(x - y)`` (no temporary x − y)."""
    return float(_sq_dist(x, y))


@numba.njit(cache=True)
def _sub_div(x, g, t, out):
    rows, cols = x.shape
    for i in numba.prange(rows):
        for j in range(cols):
            out[i, j] = x[i, j] - g[i, j] / t


def sub_div(x, g, t, out=None):
    """``x - g / t`` (a prox-linear step X − G/θ, or m − G a/θ) in one pass; ``out`` may be ``g`` itself."""
    out = np.empty_like(x) if out is None else out
    _sub_div(x, g, x.dtype.type(t), out)
    return out


@numba.njit(cache=True)
def _band_clip(m, a, c, e, t, out):
    rows, cols = m.shape
    for i in numba.prange(rows):
        for j in range(cols):
            aij = a[i, j]
            upper = aij + c
            lower = aij - c if aij - e > t else -np.inf
            out[i, j] = max(min(m[i, j], upper), lower)


def band_clip(m, a, eps, tol):
    """mDLAM's ReLU z-step (:func:`amref.solvers.mdlam.band_z`)::

        upper = a + (eps - tol);  lower = where(a - eps > tol, a - (eps - tol), -inf)
        maximum(minimum(m, upper), lower)

    in one pass and one array.
    """
    dt = m.dtype.type
    out = np.empty_like(m)
    _band_clip(m, a, dt(eps - tol), dt(eps), dt(tol), out)
    return out


@numba.njit(inline="always")
def _store_trial(cand, d, i, j, v, x0):
    """cand[i, j] = v, d[i, j] = v − x0; returns d[i, j]² in float64 (for ‖d‖²)."""
    cand[i, j] = v
    dij = v - x0
    d[i, j] = dij
    return np.float64(dij) * np.float64(dij)


@numba.njit(cache=True)
def _band_trial(a0, T, nrho, t, z, c, cand, d):
    total = 0.0
    rows, cols = a0.shape
    zero = a0.dtype.type(0)
    for i in numba.prange(rows):
        s = 0.0
        for j in range(cols):
            x = a0[i, j] - (nrho * T[i, j]) / t
            fz = max(z[i, j], zero)
            lo = fz - c
            hi = fz + c
            if x < lo:
                x = lo
            if x > hi:
                x = hi
            s += _store_trial(cand, d, i, j, x, a0[i, j])
        total += s
    return total


def band_trial(a0, T, rho, t, z, eps, tol, out=None):
    """One trial of mDLAM's projected ReLU a-step (:func:`amref.solvers.mdlam.update_a`)::

        g = -rho * T                     # T = W_{l+1}ᵀ(z_{l+1} − m_{l+1})
        fz = maximum(z, 0);  lo, hi = fz - (eps - tol), fz + (eps - tol)
        cand = clip(a0 - g / t, lo, hi);  d = cand - a0;  dd = sum_of_squares(d)

    Returns ``(cand, d, dd)``, written into ``out = (cand, d)`` when given (a rejected trial's buffers).
    """
    dt = a0.dtype.type
    cand, d = (np.empty_like(a0), np.empty_like(a0)) if out is None else out
    dd = _band_trial(a0, T, dt(-rho), dt(t), z, dt(eps - tol), cand, d)
    return cand, d, float(dd)


@numba.njit(cache=True)
def _pdadmm_p_grad(T, u, p, q, nnu, rho, out):
    rows, cols = T.shape
    for i in numba.prange(rows):
        for j in range(cols):
            out[i, j] = (nnu * T[i, j] + u[i, j]) + rho * (p[i, j] - q[i, j])


def pdadmm_p_grad(T, u, p, q, nu, rho):
    """pdADMM's p-gradient (:func:`amref.solvers.pdadmm.update_p`)::

        -nu * T + u + rho * (p - q)      # T = W_lᵀ(z_l − m_l), u = u_{l−1}, q = q_{l−1}

    in one pass and one array.
    """
    dt = T.dtype.type
    out = np.empty_like(T)
    _pdadmm_p_grad(T, u, p, q, dt(-nu), dt(rho), out)
    return out


@numba.njit(cache=True)
def _pdadmm_dual(p, u, z, rho, nu, rho_nu, relu, q, u_new):
    rows, cols = p.shape
    zero = p.dtype.type(0)
    for i in numba.prange(rows):
        for j in range(cols):
            pij, uij = p[i, j], u[i, j]
            fz = max(z[i, j], zero) if relu else z[i, j]
            qij = (rho * pij + uij + nu * fz) / rho_nu
            q[i, j] = qij
            u_new[i, j] = uij + rho * (pij - qij)


def pdadmm_dual(p, u, fz, rho, nu, relu):
    """pdADMM's dual half (:func:`amref.solvers.pdadmm.update_q`, :func:`~amref.solvers.pdadmm.update_u`)::

        q = (rho * p + u + nu * f(z)) / (rho + nu);   u_new = u + rho * (p - q)

    ``fz`` is z when ``relu`` (f = maximum(z, 0) is applied here), else f(z). Returns ``(q, u_new)``.
    """
    dt = p.dtype.type
    q, u_new = np.empty_like(p), np.empty_like(p)
    _pdadmm_dual(p, u, fz, dt(rho), dt(nu), dt(rho + nu), relu, q, u_new)
    return q, u_new


@numba.njit(inline="always")
def _nearest_level(x, lv, start, step, top):
    f = np.floor((x - start) / step)
    k = 0
    if f > top:
        k = top
    elif f >= 0:
        k = int(f)
    lo, hi = lv[k], lv[k + 1]
    return hi if (hi - x) < (x - lo) else lo


@numba.njit(cache=True)
def _project_uniform(x, lv, start, step, top, out):
    rows, cols = x.shape
    for i in numba.prange(rows):
        for j in range(cols):
            out[i, j] = _nearest_level(x[i, j], lv, start, step, top)


def project_uniform(x, lv, start, step):
    """Nearest level on a uniform grid (:func:`amref.quantize.project`), O(1) arithmetic per element::

        k = clip(floor((x - start) / step), 0, |Δ| − 2);  lo, hi = lv[k], lv[k + 1]
        where(hi - x < x - lo, hi, lo)

    ``lv`` holds the levels in x's dtype. (A non-finite x − start goes to an end of the grid; the
    reference's integer cast of it is platform dependent.)
    """
    dt = x.dtype.type
    out = np.empty_like(x)
    _project_uniform(x, lv, dt(start), dt(step), lv.shape[0] - 2, out)
    return out


@numba.njit(cache=True)
def _grid_trial(p, g, t, lv, start, step, top, cand, d):
    total = 0.0
    rows, cols = p.shape
    for i in numba.prange(rows):
        s = 0.0
        for j in range(cols):
            v = _nearest_level(p[i, j] - g[i, j] / t, lv, start, step, top)
            s += _store_trial(cand, d, i, j, v, p[i, j])
        total += s
    return total


def grid_trial(p, g, t, lv, start, step, out=None):
    """One trial of pdADMM-G-Q's quantized p-step on a uniform grid (:func:`amref.solvers.pdadmm.update_p`)::

        cand = project(p - g / t, grid);  d = cand - p;  dd = sum_of_squares(d)

    Returns ``(cand, d, dd)``, written into ``out = (cand, d)`` when given (a rejected trial's buffers).
    """
    dt = p.dtype.type
    cand, d = (np.empty_like(p), np.empty_like(p)) if out is None else out
    dd = _grid_trial(p, g, dt(t), lv, dt(start), dt(step), lv.shape[0] - 2, cand, d)
    return cand, d, float(dd)


# ----------------------------------------------------------------------------- linear-layer blocks (dlADMM)
# One pass each over the n × N arrays of a linearized W-, a- or b-step. The elementwise kernels round
# exactly as the NumPy expression they replace (the same operations in the same order, no FMA: Numba
# does not contract without fastmath), so their results are bit for bit NumPy's. The row-mean kernel is
# a reduction: it sums in float64 with eight interleaved partial sums, where NumPy sums pairwise in the
# array's dtype, so its mean can differ from NumPy's in the last bits (it is the more accurate of the two).
# They run on one thread: each is one memory-bound pass, and on the project's 2-core machine, shared with
# other jobs, a two-thread loop x − y/t (the loop of ``sub_div``) took 16 ms against 7–8 ms on one thread
# (1000 × 10000 float32, median of 9, load 5): a parallel region waits for its slowest thread.
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


__all__ += ["add_scaled_difference", "row_mean_difference"]
