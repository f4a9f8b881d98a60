"""Numba kernels of the gradient optimizers: each rule's whole per-coordinate update in one pass.

The array-API rules in :mod:`amref.optim` make one pass over memory per operation (Adam: twelve, each
writing a new array). A kernel here reads each input once and writes each output once. The rules call them
per block through :func:`amref.kernels.optim_kernel` (NumPy, Numba installed, :func:`amref.kernels.use_jit`
and :data:`amref.kernels.JIT_MIN_SIZE`), with the reference expression written beside the call.

By default the outputs are new arrays: optimizer states are immutable (the driver keeps the previous state
to return when a run diverges; checkpoints and callbacks may hold any state). With ``donate=True`` the
caller gives up the state arrays (``donate`` in :func:`amref.optim.base.apply_step`) and the new state is
written over them (the direction is always new). Each rule's per-element arithmetic is one inlined function
(``_adam_at``, …) run by two loops: ``_new`` into new arrays, ``_own`` over the donated ones (a loop whose
output arrays may be its inputs is not vectorized, hence two). Measured on a 1000 × 1000 float32 Adam block,
one thread: 0.34 ms in place, 0.50 ms into new arrays, which double the bytes the update keeps in cache.

The kernels are serial (unlike :mod:`.numba_cpu`'s): an update is bound by memory, not arithmetic, and a
parallel loop on a busy machine waits for its slowest thread (on a shared 2-core machine at load 7, two
Numba threads made the fused update of the 784-1000-1000-10 parameters 20–40× slower than one).

Every kernel performs the same floating-point operations, in the same order and in the arrays' own precision
(scalars are cast to the arrays' dtype first, as NumPy does with Python scalars), as the expression written
beside it, so its results are bit-identical to the reference; ``tests/test_kernels_optim.py`` checks that
for float32 and float64. Inputs are blocks of one floating dtype; the wrappers take arrays of any shape
(C-contiguous ones without a copy) and return C-contiguous arrays of that shape.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["adabelief", "adagrad", "adam", "adan", "apply_direction", "lion", "momentum", "rmsprop"]

_jit = numba.njit(cache=True, error_model="numpy")  # serial (see above); numpy: x/0 is inf/nan, no check
_at = numba.njit(inline="always", error_model="numpy")  # one element's arithmetic, inlined into both loops


def _flat(x):
    return np.ascontiguousarray(x).reshape(-1)


def _new(x):
    return np.empty(x.shape, dtype=x.dtype)


def _own(x, *arrays) -> bool:
    """Whether ``arrays`` can be written over in place: C-contiguous, writeable, ``x``'s shape and dtype."""
    return all(a.flags.c_contiguous and a.flags.writeable and a.shape == x.shape and a.dtype == x.dtype
               for a in arrays)


def _consts(x, *values) -> tuple:
    """Python scalars in ``x``'s dtype, as NumPy casts them in ``scalar * array``."""
    return tuple(x.dtype.type(v) for v in values)


# ----------------------------------------------------------------------------- Adam
@_at
def _adam_at(gi, mi, vi, k):
    b1, a1, b2, a2, c1, c2, eps = k
    mi = b1 * mi + a1 * gi
    vi = b2 * vi + a2 * gi * gi
    return mi, vi, (mi / c1) / (np.sqrt(vi / c2) + eps)


@_jit
def _adam_new(g, m, v, k, m_out, v_out, u_out):
    for i in range(g.size):
        m_out[i], v_out[i], u_out[i] = _adam_at(g[i], m[i], v[i], k)


@_jit
def _adam_own(g, m, v, k, u_out):
    for i in range(g.size):
        m[i], v[i], u_out[i] = _adam_at(g[i], m[i], v[i], k)


def adam(g, m, v, b1: float, b2: float, c1: float, c2: float, eps: float, donate: bool = False):
    """``(m′, v′, u)`` of :func:`amref.optim.adam.scale_by_adam` for one block.

    Per element::

        m′ = b1·m + (1 − b1)·g;   v′ = b2·v + (1 − b2)·g·g;   u = (m′/c1) / (sqrt(v′/c2) + eps)
    """
    k, u = _consts(g, b1, 1.0 - b1, b2, 1.0 - b2, c1, c2, eps), _new(g)
    if donate and _own(g, m, v):
        _adam_own(_flat(g), m.reshape(-1), v.reshape(-1), k, u.reshape(-1))
        return m, v, u
    m_out, v_out = _new(g), _new(g)
    _adam_new(_flat(g), _flat(m), _flat(v), k, m_out.reshape(-1), v_out.reshape(-1), u.reshape(-1))
    return m_out, v_out, u


# ----------------------------------------------------------------------------- Lion
@_at
def _lion_at(gi, mi, k):
    b1, a1, b2, a2 = k
    return b2 * mi + a2 * gi, np.sign(b1 * mi + a1 * gi)


@_jit
def _lion_new(g, m, k, m_out, u_out):
    for i in range(g.size):
        m_out[i], u_out[i] = _lion_at(g[i], m[i], k)


@_jit
def _lion_own(g, m, k, u_out):
    for i in range(g.size):
        m[i], u_out[i] = _lion_at(g[i], m[i], k)


def lion(g, m, b1: float, b2: float, donate: bool = False):
    """``(m′, u)`` of :func:`amref.optim.lion.scale_by_lion` for one block.

    Per element::

        u = sign(b1·m + (1 − b1)·g);   m′ = b2·m + (1 − b2)·g
    """
    k, u = _consts(g, b1, 1.0 - b1, b2, 1.0 - b2), _new(g)
    if donate and _own(g, m):
        _lion_own(_flat(g), m.reshape(-1), k, u.reshape(-1))
        return m, u
    m_out = _new(g)
    _lion_new(_flat(g), _flat(m), k, m_out.reshape(-1), u.reshape(-1))
    return m_out, u


# ----------------------------------------------------------------------------- Adan
@_at
def _adan_at(gi, di, mi, vi, ni, k):
    b1, a1, b2, a2, b3, a3, c1, c2, c3, eps = k
    mi = b1 * mi + a1 * gi
    vi = b2 * vi + a2 * di
    s = gi + b2 * di
    ni = b3 * ni + a3 * (s * s)
    return mi, vi, ni, (mi / c1 + b2 * vi / c2) / (np.sqrt(ni / c3) + eps)


@_jit
def _adan_new(g, prev, m, v, n, first, k, m_out, v_out, n_out, u_out):
    zero = g.dtype.type(0)
    for i in range(g.size):
        d = zero if first else g[i] - prev[i]
        m_out[i], v_out[i], n_out[i], u_out[i] = _adan_at(g[i], d, m[i], v[i], n[i], k)


@_jit
def _adan_own(g, prev, m, v, n, first, k, u_out):
    zero = g.dtype.type(0)
    for i in range(g.size):
        d = zero if first else g[i] - prev[i]
        m[i], v[i], n[i], u_out[i] = _adan_at(g[i], d, m[i], v[i], n[i], k)


def adan(g, prev, m, v, n, first: bool, b1: float, b2: float, b3: float, c1: float, c2: float, c3: float,
         eps: float, donate: bool = False):
    """``(m′, v′, n′, u)`` of :func:`amref.optim.adan.scale_by_adan` for one block.

    Per element::

        d = 0 if first else g − prev
        m′ = b1·m + (1 − b1)·g;   v′ = b2·v + (1 − b2)·d;   n′ = b3·n + (1 − b3)·(g + b2·d)²
        u = (m′/c1 + b2·v′/c2) / (sqrt(n′/c3) + eps)
    """
    k, u = _consts(g, b1, 1.0 - b1, b2, 1.0 - b2, b3, 1.0 - b3, c1, c2, c3, eps), _new(g)
    if donate and _own(g, m, v, n):
        _adan_own(_flat(g), _flat(prev), m.reshape(-1), v.reshape(-1), n.reshape(-1), bool(first), k,
                  u.reshape(-1))
        return m, v, n, u
    out = (_new(g), _new(g), _new(g))
    _adan_new(_flat(g), _flat(prev), _flat(m), _flat(v), _flat(n), bool(first), k, *(o.reshape(-1) for o in out),
              u.reshape(-1))
    return (*out, u)


# ----------------------------------------------------------------------------- AdaBelief
@_at
def _adabelief_at(gi, mi, si, form, k):
    b1, a1, b2, a2, eps, scale, root_c2 = k
    mi = b1 * mi + a1 * gi
    r = gi - mi
    si = b2 * si + a2 * (r * r) + eps
    if form == 0:
        return mi, si, (mi / scale) / (np.sqrt(si) / root_c2 + eps)
    if form == 1:
        return mi, si, scale * mi / (np.sqrt(si) + eps)
    return mi, si, mi / scale


@_jit
def _adabelief_new(g, m, s, form, k, m_out, s_out, u_out):
    for i in range(g.size):
        m_out[i], s_out[i], u_out[i] = _adabelief_at(g[i], m[i], s[i], form, k)


@_jit
def _adabelief_own(g, m, s, form, k, u_out):
    for i in range(g.size):
        m[i], s[i], u_out[i] = _adabelief_at(g[i], m[i], s[i], form, k)


def adabelief(g, m, s, b1: float, b2: float, eps: float, form: int, scale: float, root_c2: float,
              donate: bool = False):
    """``(m′, s′, u)`` of :func:`amref.optim.adabelief.scale_by_adabelief` for one block.

    Per element::

        m′ = b1·m + (1 − b1)·g;   s′ = b2·s + (1 − b2)·(g − m′)² + eps
        u = (m′/scale) / (sqrt(s′)/root_c2 + eps)     form 0 (no rectification; scale = c1)
        u = scale·m′ / (sqrt(s′) + eps)               form 1 (rectified; scale = r/c1)
        u = m′/scale                                  form 2 (the SGD branch; scale = c1)
    """
    k, u = _consts(g, b1, 1.0 - b1, b2, 1.0 - b2, eps, scale, root_c2), _new(g)
    if donate and _own(g, m, s):
        _adabelief_own(_flat(g), m.reshape(-1), s.reshape(-1), int(form), k, u.reshape(-1))
        return m, s, u
    m_out, s_out = _new(g), _new(g)
    _adabelief_new(_flat(g), _flat(m), _flat(s), int(form), k, m_out.reshape(-1), s_out.reshape(-1), u.reshape(-1))
    return m_out, s_out, u


# ----------------------------------------------------------------------------- SGD momentum
@_jit
def _momentum_new(g, b, k, nesterov, b_out, u_out):
    mu, a = k
    for i in range(g.size):
        gi = g[i]
        bi = mu * b[i] + a * gi
        b_out[i] = bi
        if nesterov:
            u_out[i] = gi + mu * bi


def momentum(g, b, mu: float, dampening: float, nesterov: bool):
    """``(b′, u)`` of :func:`amref.optim.sgd.scale_by_momentum` for one block after the first step (new arrays
    only: the first step's buffer is the gradient itself).

    Per element::

        b′ = mu·b + (1 − dampening)·g;   u = g + mu·b′ (Nesterov) or b′
    """
    b_out = _new(g)
    u_out = _new(g) if nesterov else b_out
    _momentum_new(_flat(g), _flat(b), _consts(g, mu, 1.0 - dampening), bool(nesterov), b_out.reshape(-1),
                  u_out.reshape(-1))
    return b_out, u_out


# ----------------------------------------------------------------------------- RMSprop and Adagrad
@_at
def _squares_at(gi, vi, k):
    keep, add, eps = k
    vi = keep * vi + add * gi * gi
    return vi, gi / (np.sqrt(vi) + eps)


@_jit
def _squares_new(g, v, k, v_out, u_out):
    for i in range(g.size):
        v_out[i], u_out[i] = _squares_at(g[i], v[i], k)


@_jit
def _squares_own(g, v, k, u_out):
    for i in range(g.size):
        v[i], u_out[i] = _squares_at(g[i], v[i], k)


def _squares(g, v, keep: float, add: float, eps: float, donate: bool):
    k, u = _consts(g, keep, add, eps), _new(g)
    if donate and _own(g, v):
        _squares_own(_flat(g), v.reshape(-1), k, u.reshape(-1))
        return v, u
    v_out = _new(g)
    _squares_new(_flat(g), _flat(v), k, v_out.reshape(-1), u.reshape(-1))
    return v_out, u


def rmsprop(g, v, alpha: float, eps: float, donate: bool = False):
    """``(v′, u)`` of :func:`amref.optim.rmsprop.scale_by_rmsprop` for one block, neither centered nor with
    momentum (those variants keep the array-API expressions).

    Per element::

        v′ = α·v + (1 − α)·g·g;   u = g / (sqrt(v′) + eps)
    """
    return _squares(g, v, alpha, 1.0 - alpha, eps, donate)


def adagrad(g, s, eps: float, donate: bool = False):
    """``(G′, u)`` of :func:`amref.optim.adagrad.scale_by_adagrad` for one block: RMSprop's kernel with both
    coefficients 1 (exact: x·1 = x).

    Per element::

        G′ = G + g·g;   u = g / (sqrt(G′) + eps)
    """
    return _squares(g, s, 1.0, 1.0, eps, donate)


# ----------------------------------------------------------------------------- the tail of every rule
@_at
def _tail_at(pi, ui, mode, k):
    step, c, div = k
    d = step * ui
    if mode >= 1:
        d = d - c * pi
    if mode == 2:
        d = d / div
    return pi + d


@_jit
def _apply_new(p, u, mode, k, out):
    for i in range(p.size):
        out[i] = _tail_at(p[i], u[i], mode, k)


@_jit
def _apply_own(p, u, mode, k):
    for i in range(p.size):
        p[i] = _tail_at(p[i], u[i], mode, k)


def apply_direction(p, u, step: float, c: float, mode: int, donate: bool = False):
    """θ⁺ of :func:`amref.optim.transforms.compose`'s tail for one block, from the rule's direction ``u``.

    Per element::

        d = step·u;   d = d − c·θ (mode ≥ 1: decoupled or fixed decay);   d = d/(1 + c) (mode 2: proximal)
        θ⁺ = θ + d
    """
    k = _consts(p, step, c, 1.0 + c)
    if donate and _own(p, p):
        _apply_own(p.reshape(-1), _flat(u), int(mode), k)
        return p
    out = _new(p)
    _apply_new(_flat(p), _flat(u), int(mode), k, out.reshape(-1))
    return out
