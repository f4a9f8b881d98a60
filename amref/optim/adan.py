r"""Adan (Xie et al. 2022/2024), the official code's form (sail-sg/Adan; ``docs/optimizers/adam.md``).

Algorithm (per coordinate; **code convention**: β here is 1 − β of the paper)::

    input   θ_0, β_1, β_2, β_3, ε, λ;   m_0 = v_0 = n_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1});   Δ_t = g_t − g_{t−1}  (Δ_1 = 0)
        m_t = β_1 m_{t−1} + (1 − β_1) g_t
        v_t = β_2 v_{t−1} + (1 − β_2) Δ_t
        n_t = β_3 n_{t−1} + (1 − β_3) (g_t + β_2 Δ_t)²
        m̂, v̂, n̂ = m_t/(1 − β_1^t), v_t/(1 − β_2^t), n_t/(1 − β_3^t)
        u_t = (m̂_t + β_2 v̂_t) / (sqrt(n̂_t) + ε)
        θ_t = (θ_{t−1} − γ_t u_t) / (1 + γ_t λ)           proximal decay (default)
            = (1 − γ_t λ) θ_{t−1} − γ_t u_t               ``weight_decay_style="decoupled"`` (code's no_prox)

The paper's Algorithm 1 has no bias correction and an optional restart; the code adds the correction
and the README says restarts were not used. Gradient clipping (``clip_norm``) scales g_t before the
rule, so the stored previous gradient is the clipped one, as in the code. First step:
θ_1 = (θ_0 − γ g/(|g| + ε))/(1 + γλ).
Pitfall avoided: optax's ``scale_by_adan`` (2026 snapshot) uses 1 − β_2 where the code uses β_2.

=======  =============  ==========================================
symbol   code           meaning
=======  =============  ==========================================
m_t      ``mu``         EMA of gradients
v_t      ``diff``       EMA of gradient differences
n_t      ``nu``         EMA of (g + β_2 Δ)²
g_{t−1}  ``prev``       previous gradient
=======  =============  ==========================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("adan", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.1018  0.1038]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..backend import namespace
from ..kernels import optim_kernel
from ..options import fraction, nonnegative
from .base import GradientTransformation, Tree, tree_zeros_like
from .options import BaselineOptions, DecayStyle
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "adan", "AdanOptions", "AdanState", "scale_by_adan"]


@dataclasses.dataclass(frozen=True)
class AdanOptions(BaselineOptions):
    """Adan options (code: lr 1e-3, β = (0.98, 0.92, 0.99), ε = 1e-8; λ = 0.02 of the README recipes, proximal).

    Attributes
    ----------
    b1, b2, b3 : float
        β₁, β₂, β₃ ∈ [0, 1): decay rates of the gradient, gradient-difference and squared averages.
    eps : float
        ε ≥ 0 added to the root of the squared average.
    """

    lr: float = 1e-3
    b1: float = fraction(0.98)
    b2: float = fraction(0.92)
    b3: float = fraction(0.99)
    eps: float = nonnegative(1e-8)
    weight_decay: float = 0.02
    weight_decay_style: DecayStyle = "proximal"


class AdanState(NamedTuple):
    count: int
    mu: list
    diff: list
    nu: list
    prev: list


def scale_by_adan(b1: float = 0.98, b2: float = 0.92, b3: float = 0.99, eps: float = 1e-8) -> GradientTransformation:
    """u_t = (m̂_t + β_2 v̂_t) / (sqrt(n̂_t) + ε)."""

    def init(params: Tree) -> AdanState:
        z = tree_zeros_like
        return AdanState(count=0, mu=z(params), diff=z(params), nu=z(params), prev=z(params))

    def update(grads: Tree, state: AdanState, params: Tree | None = None, *, donate: bool = False,
               **extras: Any):
        xp = namespace(*grads)
        t = state.count + 1
        c1, c2, c3 = 1.0 - b1**t, 1.0 - b2**t, 1.0 - b3**t
        mu, diff, nu, direction = [], [], [], []
        for g, p, m, v, n in zip(grads, state.prev, state.mu, state.diff, state.nu):
            kernel = optim_kernel("adan", g, p, m, v, n)
            if kernel is not None:  # the five lines below in one pass
                m, v, n, u = kernel(g, p, m, v, n, t == 1, b1, b2, b3, c1, c2, c3, eps,
                                    donate=donate)
            else:
                d = xp.zeros_like(g) if t == 1 else g - p
                m = b1 * m + (1.0 - b1) * g
                v = b2 * v + (1.0 - b2) * d
                n = b3 * n + (1.0 - b3) * (g + b2 * d) ** 2
                u = (m / c1 + b2 * v / c2) / (xp.sqrt(n / c3) + eps)
            mu.append(m)
            diff.append(v)
            nu.append(n)
            direction.append(u)
        return direction, AdanState(count=t, mu=mu, diff=diff, nu=nu, prev=list(grads))

    return GradientTransformation(init, update)


def adan(options: AdanOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """Adan with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = AdanOptions() if options is None else options
    return compose(scale_by_adan(options.b1, options.b2, options.b3, options.eps), options, is_bias)


BASELINES = (Baseline("adan", AdanOptions, adan),)
