r"""Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), torch.optim's forms (``docs/optimizers/adam.md``).

Algorithm (per coordinate; decay, clipping and schedules are add-ons)::

    input   θ_0, β_1, β_2, ε;  m_0 = 0, v_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})                         (+ λθ_{t−1} for Adam's L2 decay)
        m_t = β_1 m_{t−1} + (1 − β_1) g_t
        v_t = β_2 v_{t−1} + (1 − β_2) g_t²
        m̂_t = m_t / (1 − β_1^t),   v̂_t = v_t / (1 − β_2^t)
        θ_t = θ_{t−1} − γ_t m̂_t / (sqrt(v̂_t) + ε)   (− γ_t λ θ_{t−1} for AdamW's decoupled decay)

ε is "outer, corrected" (torch, optax). TF/Keras use the uncorrected form, i.e. ε/sqrt(1 − β_2^t) in
place of ε, which differs only when |g| is near ε. The first step is ≈ −γ sign(g).
AdamW is the same rule with ``weight_decay_style="decoupled"`` and torch's λ = 1e-2; the paper writes
the decay as η_t λ θ with η_t the schedule *multiplier*, so its λ is α·λ_torch.

=======  =========  ===============================
symbol   code       meaning
=======  =========  ===============================
m_t      ``mu``     first-moment EMA
v_t      ``nu``     second-moment EMA
β_1,β_2  ``b1,b2``  averaging coefficients
=======  =========  ===============================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("adam", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.1  0.1]]
>>> opt = optim.optimizer("adamw", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.101  0.102]]
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

__all__ = ["BASELINES", "adam", "AdamOptions", "AdamState", "AdamWOptions", "scale_by_adam"]


@dataclasses.dataclass(frozen=True)
class AdamOptions(BaselineOptions):
    """Adam options (paper and torch defaults: lr 1e-3, β = (0.9, 0.999), ε = 1e-8, L2 decay).

    Attributes
    ----------
    b1, b2 : float
        β₁, β₂ ∈ [0, 1): decay rates of the first and second moment averages.
    eps : float
        ε ≥ 0 added to the root of the second moment.
    """

    lr: float = 1e-3
    b1: float = fraction(0.9)
    b2: float = fraction(0.999)
    eps: float = nonnegative(1e-8)


@dataclasses.dataclass(frozen=True)
class AdamWOptions(AdamOptions):
    """AdamW: Adam with decoupled decay, torch's λ = 1e-2."""

    weight_decay: float = 1e-2
    weight_decay_style: DecayStyle = "decoupled"


class AdamState(NamedTuple):
    count: int
    mu: list
    nu: list


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    """u_t = m̂_t / (sqrt(v̂_t) + ε)."""

    def init(params: Tree) -> AdamState:
        return AdamState(count=0, mu=tree_zeros_like(params), nu=tree_zeros_like(params))

    def update(grads: Tree, state: AdamState, params: Tree | None = None, *, donate: bool = False,
               **extras: Any):
        xp = namespace(*grads)
        t = state.count + 1
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        mu, nu, direction = [], [], []
        for m, v, g in zip(state.mu, state.nu, grads):
            kernel = optim_kernel("adam", g, m, v)
            if kernel is not None:  # the three lines below in one pass
                m, v, u = kernel(g, m, v, b1, b2, c1, c2, eps, donate=donate)
            else:
                m = b1 * m + (1.0 - b1) * g
                v = b2 * v + (1.0 - b2) * g * g
                u = (m / c1) / (xp.sqrt(v / c2) + eps)
            mu.append(m)
            nu.append(v)
            direction.append(u)
        return direction, AdamState(count=t, mu=mu, nu=nu)

    return GradientTransformation(init, update)


def adam(options: AdamOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """Adam (or AdamW, by the options' decay style) with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = AdamOptions() if options is None else options
    return compose(scale_by_adam(options.b1, options.b2, options.eps), options, is_bias)


BASELINES = (
    Baseline("adam", AdamOptions, adam),
    Baseline("adamw", AdamWOptions, adam),
)
