"""Numba kernels of the gradient optimizers: each rule's whole per-coordinate update in one pass.

The array-API rules in :mod:`amref.optim` make one pass over memory per operation (Adam: twelve, each
writing a new array). A kernel here reads each input once and writes each output once. The rules call them
per block through :func:`amref.optim.base.block_kernel` (NumPy, Numba installed, :func:`amref.kernels.use_jit`
and :data:`amref.kernels.JIT_MIN_SIZE`), with the reference expression written beside the call.

By default the outputs are new arrays: optimizer states are immutable (the driver keeps the previous state
to return when a run diverges; checkpoints and callbacks may hold any state). ``into`` names arrays the
caller gives up (``donate`` in :func:`amref.optim.base.apply_step`); the new state is then written over them,
each element after it has been read (the direction is always new). Measured on a 1000 × 1000 float32 Adam
block, one thread: 0.31 ms in place, 0.55 ms into new arrays, which double the bytes the update keeps in
cache.

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


def _flat(x):
    return np.ascontiguousarray(x).reshape(-1)


def _new(x, count: int, into: tuple = ()):
    """``count`` output arrays shaped like ``x``: the arrays of ``into`` first (donated ones, written over) where
    they are C-contiguous with ``x``'s shape and dtype, new ones for the rest."""
    def usable(a):
        return a is not None and a.flags.c_contiguous and a.shape == x.shape and a.dtype == x.dtype

    return tuple(into[k] if k < len(into) and usable(into[k]) else np.empty(x.shape, dtype=x.dtype)
                 for k in range(count))


# ----------------------------------------------------------------------------- Adam
@_jit
def _adam(g, m, v, b1, a1, b2, a2, c1, c2, eps, m_out, v_out, u_out):
    for i in numba.prange(g.size):
        gi = g[i]
        mi = b1 * m[i] + a1 * gi
        vi = b2 * v[i] + a2 * gi * gi
        m_out[i] = mi
        v_out[i] = vi
        u_out[i] = (mi / c1) / (np.sqrt(vi / c2) + eps)


def adam(g, m, v, b1: float, b2: float, c1: float, c2: float, eps: float, into: tuple = ()):
    """``(m′, v′, u)`` of :func:`amref.optim.adam.scale_by_adam` for one block::

        m′ = b1·m + (1 − b1)·g;   v′ = b2·v + (1 − b2)·g·g;   u = (m′/c1) / (sqrt(v′/c2) + eps)
    """
    dt = g.dtype.type
    out = _new(g, 3, into)
    _adam(_flat(g), _flat(m), _flat(v), dt(b1), dt(1.0 - b1), dt(b2), dt(1.0 - b2), dt(c1), dt(c2), dt(eps),
          *(o.reshape(-1) for o in out))
    return out


# ----------------------------------------------------------------------------- Lion
@_jit
def _lion(g, m, b1, a1, b2, a2, m_out, u_out):
    for i in numba.prange(g.size):
        gi, mi = g[i], m[i]
        u_out[i] = np.sign(b1 * mi + a1 * gi)
        m_out[i] = b2 * mi + a2 * gi


def lion(g, m, b1: float, b2: float, into: tuple = ()):
    """``(m′, u)`` of :func:`amref.optim.lion.scale_by_lion` for one block::

        u = sign(b1·m + (1 − b1)·g);   m′ = b2·m + (1 − b2)·g
    """
    dt = g.dtype.type
    out = _new(g, 2, into)
    _lion(_flat(g), _flat(m), dt(b1), dt(1.0 - b1), dt(b2), dt(1.0 - b2), *(o.reshape(-1) for o in out))
    return out


# ----------------------------------------------------------------------------- Adan
@_jit
def _adan(g, prev, m, v, n, first, b1, a1, b2, a2, b3, a3, c1, c2, c3, eps, m_out, v_out, n_out, u_out):
    zero = g.dtype.type(0)
    for i in numba.prange(g.size):
        gi = g[i]
        di = zero if first else gi - prev[i]
        mi = b1 * m[i] + a1 * gi
        vi = b2 * v[i] + a2 * di
        s = gi + b2 * di
        ni = b3 * n[i] + a3 * (s * s)
        m_out[i] = mi
        v_out[i] = vi
        n_out[i] = ni
        u_out[i] = (mi / c1 + b2 * vi / c2) / (np.sqrt(ni / c3) + eps)


def adan(g, prev, m, v, n, first: bool, b1: float, b2: float, b3: float, c1: float, c2: float, c3: float,
         eps: float, into: tuple = ()):
    """``(m′, v′, n′, u)`` of :func:`amref.optim.adan.scale_by_adan` for one block::

        d = 0 if first else g − prev
        m′ = b1·m + (1 − b1)·g;   v′ = b2·v + (1 − b2)·d;   n′ = b3·n + (1 − b3)·(g + b2·d)²
        u = (m′/c1 + b2·v′/c2) / (sqrt(n′/c3) + eps)
    """
    dt = g.dtype.type
    out = _new(g, 4, into)
    _adan(_flat(g), _flat(prev), _flat(m), _flat(v), _flat(n), bool(first), dt(b1), dt(1.0 - b1), dt(b2),
          dt(1.0 - b2), dt(b3), dt(1.0 - b3), dt(c1), dt(c2), dt(c3), dt(eps), *(o.reshape(-1) for o in out))
    return out


# ----------------------------------------------------------------------------- AdaBelief
@_jit
def _adabelief(g, m, s, form, b1, a1, b2, a2, eps, scale, root_c2, m_out, s_out, u_out):
    for i in numba.prange(g.size):
        gi = g[i]
        mi = b1 * m[i] + a1 * gi
        r = gi - mi
        si = b2 * s[i] + a2 * (r * r) + eps
        m_out[i] = mi
        s_out[i] = si
        if form == 0:
            u_out[i] = (mi / scale) / (np.sqrt(si) / root_c2 + eps)
        elif form == 1:
            u_out[i] = scale * mi / (np.sqrt(si) + eps)
        else:
            u_out[i] = mi / scale


def adabelief(g, m, s, b1: float, b2: float, eps: float, form: int, scale: float, root_c2: float,
              into: tuple = ()):
    """``(m′, s′, u)`` of :func:`amref.optim.adabelief.scale_by_adabelief` for one block::

        m′ = b1·m + (1 − b1)·g;   s′ = b2·s + (1 − b2)·(g − m′)² + eps
        u = (m′/scale) / (sqrt(s′)/root_c2 + eps)     form 0 (no rectification; scale = c1)
        u = scale·m′ / (sqrt(s′) + eps)               form 1 (rectified; scale = r/c1)
        u = m′/scale                                  form 2 (the SGD branch; scale = c1)
    """
    dt = g.dtype.type
    out = _new(g, 3, into)
    _adabelief(_flat(g), _flat(m), _flat(s), int(form), dt(b1), dt(1.0 - b1), dt(b2), dt(1.0 - b2), dt(eps),
               dt(scale), dt(root_c2), *(o.reshape(-1) for o in out))
    return out


# ----------------------------------------------------------------------------- SGD momentum
@_jit
def _momentum(g, b, mu, a, nesterov, b_out, u_out):
    for i in numba.prange(g.size):
        gi = g[i]
        bi = mu * b[i] + a * gi
        b_out[i] = bi
        u_out[i] = gi + mu * bi if nesterov else bi


def momentum(g, b, mu: float, dampening: float, nesterov: bool):
    """``(b′, u)`` of :func:`amref.optim.sgd.scale_by_momentum` for one block after the first step::

        b′ = mu·b + (1 − dampening)·g;   u = g + mu·b′ (Nesterov) or b′
    """
    dt = g.dtype.type
    b_out = np.empty(g.shape, dtype=g.dtype)
    u_out = np.empty(g.shape, dtype=g.dtype) if nesterov else b_out
    _momentum(_flat(g), _flat(b), dt(mu), dt(1.0 - dampening), bool(nesterov), b_out.reshape(-1),
              u_out.reshape(-1))
    return b_out, u_out


# ----------------------------------------------------------------------------- Adagrad
@_jit
def _adagrad(g, s, eps, s_out, u_out):
    for i in numba.prange(g.size):
        gi = g[i]
        si = s[i] + gi * gi
        s_out[i] = si
        u_out[i] = gi / (np.sqrt(si) + eps)


def adagrad(g, s, eps: float, into: tuple = ()):
    """``(G′, u)`` of :func:`amref.optim.adagrad.scale_by_adagrad` for one block::

        G′ = G + g·g;   u = g / (sqrt(G′) + eps)
    """
    out = _new(g, 2, into)
    _adagrad(_flat(g), _flat(s), g.dtype.type(eps), *(o.reshape(-1) for o in out))
    return out


# ----------------------------------------------------------------------------- RMSprop
@_jit
def _rmsprop(g, v, m, b, alpha, a, eps, mu, centered, has_momentum, v_out, m_out, b_out, u_out):
    for i in numba.prange(g.size):
        gi = g[i]
        vi = alpha * v[i] + a * gi * gi
        v_out[i] = vi
        variance = vi
        if centered:
            mi = alpha * m[i] + a * gi
            m_out[i] = mi
            variance = vi - mi * mi
        d = gi / (np.sqrt(variance) + eps)
        if has_momentum:
            d = mu * b[i] + d
            b_out[i] = d
        u_out[i] = d


def rmsprop(g, v, m, b, alpha: float, eps: float, momentum: float, centered: bool, into: tuple = ()):
    """``(v′, m′, b′, u)`` of :func:`amref.optim.rmsprop.scale_by_rmsprop` for one block (m′ None unless
    ``centered``, b′ None without momentum, and then u is b′)::

        v′ = α·v + (1 − α)·g·g;   m′ = α·m + (1 − α)·g (centered)
        d = g / (sqrt(v′ − m′·m′ if centered else v′) + eps);   b′ = momentum·b + d (momentum > 0); u = b′ or d
    """
    dt, has_momentum = g.dtype.type, momentum > 0
    v_out, m_out, b_out = _new(g, 3, into)  # into = (v, m or None, b or None)
    u_out = b_out if has_momentum else np.empty(g.shape, dtype=g.dtype)
    _rmsprop(_flat(g), _flat(v), _flat(g if m is None else m), _flat(g if b is None else b), dt(alpha),
             dt(1.0 - alpha), dt(eps), dt(momentum), bool(centered), has_momentum, v_out.reshape(-1),
             m_out.reshape(-1), b_out.reshape(-1), u_out.reshape(-1))
    return v_out, m_out if centered else None, b_out if has_momentum else None, u_out


# ----------------------------------------------------------------------------- the tail of every rule
@_jit
def _apply_direction(p, u, step, c, div, mode, out):
    for i in numba.prange(p.size):
        pi = p[i]
        d = step * u[i]
        if mode >= 1:
            d = d - c * pi
        if mode == 2:
            d = d / div
        out[i] = pi + d


def apply_direction(p, u, step: float, c: float, mode: int, into: tuple = ()):
    """θ⁺ of :func:`amref.optim.transforms.compose`'s tail for one block, from the rule's direction ``u``::

        d = step·u;   d = d − c·θ (mode ≥ 1: decoupled or fixed decay);   d = d/(1 + c) (mode 2: proximal)
        θ⁺ = θ + d
    """
    dt = p.dtype.type
    (out,) = _new(p, 1, into)
    _apply_direction(_flat(p), _flat(u), dt(step), dt(c), dt(1.0 + c), int(mode), out.reshape(-1))
    return out
