r"""AdaBelief (Zhuang et al. 2020), the official package's form (adabelief-pytorch 0.2.x; ``docs/optimizers/adam.md``).

Algorithm (per coordinate)::

    input   θ_0, β_1, β_2, ε, rectify;   m_0 = s_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        m_t = β_1 m_{t−1} + (1 − β_1) g_t
        s_t = β_2 s_{t−1} + (1 − β_2) (g_t − m_t)² + ε      (updated m_t; ε stored in the state)
        if not rectify:
            θ_t = θ_{t−1} − γ_t/(1 − β_1^t) · m_t / (sqrt(s_t)/sqrt(1 − β_2^t) + ε)
        else (RAdam's rectification, the package's default):
            ρ_∞ = 2/(1 − β_2) − 1,   ρ_t = ρ_∞ − 2t β_2^t/(1 − β_2^t)
            if ρ_t ≥ 5:  r_t = sqrt((1 − β_2^t)(ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))
                         θ_t = θ_{t−1} − γ_t r_t/(1 − β_1^t) · m_t / (sqrt(s_t) + ε)
            else:        θ_t = θ_{t−1} − γ_t m_t/(1 − β_1^t)      (degenerates to SGD with momentum)

Weight decay: decoupled by default (θ ← (1 − γλ)θ), ``"fixed"`` (1 − λ) and ``"l2"`` as in the package.
ε appears inside the state (it accumulates to ≈ ε/(1 − β_2)) and outside the root: the classic trap.
First step without rectification: g − m_1 = β_1 g, so the step is ≈ γ sign(g)/β_1 (1.11γ); with
rectification (ρ_1 = 1 < 5) it is γ g. (kozistr's default "foreach" path gives ≈ 0.11γ: a bug.)

=======  ============  =======================================
symbol   code          meaning
=======  ============  =======================================
m_t      ``mu``        EMA of gradients
s_t      ``belief``    EMA of (g − m)², plus ε each step
=======  ============  =======================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("adabelief", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.05  0.05]]
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

from ..backend import namespace
from ..kernels import optim_kernel
from ..options import fraction, nonnegative
from .base import GradientTransformation, Tree, tree_zeros_like
from .options import BaselineOptions, DecayStyle
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "adabelief", "AdaBeliefOptions", "AdaBeliefState", "rectification", "scale_by_adabelief"]


@dataclasses.dataclass(frozen=True)
class AdaBeliefOptions(BaselineOptions):
    """AdaBelief options (package 0.2.x: lr 1e-3, β = (0.9, 0.999), ε = 1e-16, decoupled, rectify on).

    Attributes
    ----------
    b1, b2 : float
        β₁, β₂ ∈ [0, 1): decay rates of the gradient average and of the belief (g − m)².
    eps : float
        ε ≥ 0 added to the belief at every step.
    rectify : bool
        RAdam's variance rectification (plain SGD-momentum steps while ρ_t ≤ 5).
    """

    lr: float = 1e-3
    b1: float = fraction(0.9)
    b2: float = fraction(0.999)
    eps: float = nonnegative(1e-16)
    rectify: bool = True
    weight_decay_style: DecayStyle = "decoupled"


class AdaBeliefState(NamedTuple):
    count: int
    mu: list
    belief: list


def rectification(t: int, b2: float) -> float | None:
    """RAdam's r_t, or ``None`` when ρ_t < 5 (the SGD branch)."""
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    b2t = b2**t
    rho_t = rho_inf - 2.0 * t * b2t / (1.0 - b2t)
    if rho_t < 5.0:
        return None
    return math.sqrt((1.0 - b2t) * (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                     / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))


def scale_by_adabelief(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-16,
                       rectify: bool = True) -> GradientTransformation:
    """u_t of the module docstring (before −γ_t)."""

    def init(params: Tree) -> AdaBeliefState:
        return AdaBeliefState(count=0, mu=tree_zeros_like(params), belief=tree_zeros_like(params))

    def update(grads: Tree, state: AdaBeliefState, params: Tree | None = None, *, donate: bool = False,
               **extras: Any):
        xp = namespace(*grads)
        t = state.count + 1
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        r = rectification(t, b2) if rectify else None
        form = 0 if not rectify else 1 if r is not None else 2
        scale = (r / c1) if form == 1 else c1
        mu, belief, direction = [], [], []
        for g, m, s in zip(grads, state.mu, state.belief):
            kernel = optim_kernel("adabelief", g, m, s)
            if kernel is not None:  # the lines below in one pass
                m, s, u = kernel(g, m, s, b1, b2, eps, form, scale, math.sqrt(c2), donate=donate)
            else:
                m = b1 * m + (1.0 - b1) * g
                s = b2 * s + (1.0 - b2) * (g - m) ** 2 + eps
                if form == 0:
                    u = (m / c1) / (xp.sqrt(s) / math.sqrt(c2) + eps)
                elif form == 1:
                    u = (r / c1) * m / (xp.sqrt(s) + eps)
                else:  # ρ_t < 5: the SGD branch
                    u = m / c1
            mu.append(m)
            belief.append(s)
            direction.append(u)
        return direction, AdaBeliefState(count=t, mu=mu, belief=belief)

    return GradientTransformation(init, update)


def adabelief(options: AdaBeliefOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """AdaBelief with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = AdaBeliefOptions() if options is None else options
    return compose(scale_by_adabelief(options.b1, options.b2, options.eps, options.rectify), options, is_bias)


BASELINES = (Baseline("adabelief", AdaBeliefOptions, adabelief),)
