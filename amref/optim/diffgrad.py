r"""diffGrad (Dubey et al. 2019), the official ``diffGrad_v2.py`` (shivram1987/diffGrad; ``docs/optimizers/adam.md``).

Algorithm (per coordinate)::

    input   θ_0, β_1, β_2, ε;   m_0 = v_0 = 0, g_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})                                    (+ λθ for L2 decay, the code's only style)
        m_t = β_1 m_{t−1} + (1 − β_1) g_t
        v_t = β_2 v_{t−1} + (1 − β_2) g_t²
        ξ_t = 1 / (1 + exp(−|g_{t−1} − g_t|))                 (friction; then store a copy of g_t)
        θ_t = θ_{t−1} − γ_t sqrt(1 − β_2^t)/(1 − β_1^t) · ξ_t m_t / (sqrt(v_t) + ε)

ε is in the uncorrected ("efficient Adam") place, i.e. ε/sqrt(1 − β_2^t) in Adam's form. First step:
−γ σ(|g|) g/(|g| + ε/sqrt(1 − β_2)). ξ ∈ [0.5, 1) depends on the gradient's absolute scale, so for
small gradients diffGrad ≈ Adam with γ/2. Pitfalls avoided: the original file kept a *reference* to
the gradient (ξ ≡ 0.5); kozistr's default path is plain Adam.

=======  ============  ==========================
symbol   code          meaning
=======  ============  ==========================
m_t      ``mu``        EMA of gradients
v_t      ``nu``        EMA of squared gradients
g_{t−1}  ``prev``      previous gradient (0 at t=1)
=======  ============  ==========================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("diffgrad", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.0622  0.0622]]
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

from ..backend import namespace
from .base import GradientTransformation, Tree, tree_zeros_like
from .adam import AdamOptions
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "diffgrad", "DiffGradOptions", "DiffGradState", "scale_by_diffgrad"]


@dataclasses.dataclass(frozen=True)
class DiffGradOptions(AdamOptions):
    """diffGrad options: Adam's hyperparameters with the same defaults in the code
    (lr 1e-3, β = (0.9, 0.999), ε = 1e-8, L2 decay)."""


class DiffGradState(NamedTuple):
    count: int
    mu: list
    nu: list
    prev: list


def scale_by_diffgrad(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    """u_t = sqrt(1 − β_2^t)/(1 − β_1^t) · ξ_t m_t / (sqrt(v_t) + ε)."""

    def init(params: Tree) -> DiffGradState:
        z = tree_zeros_like
        return DiffGradState(count=0, mu=z(params), nu=z(params), prev=z(params))

    def update(grads: Tree, state: DiffGradState, params: Tree | None = None, **extras: Any):
        xp = namespace(*grads)
        t = state.count + 1
        mu = [b1 * m + (1.0 - b1) * g for m, g in zip(state.mu, grads)]
        nu = [b2 * v + (1.0 - b2) * g * g for v, g in zip(state.nu, grads)]
        friction = [1.0 / (1.0 + xp.exp(-xp.abs(p - g))) for p, g in zip(state.prev, grads)]
        step = math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        direction = [step * xi * m / (xp.sqrt(v) + eps) for xi, m, v in zip(friction, mu, nu)]
        return direction, DiffGradState(count=t, mu=mu, nu=nu, prev=list(grads))

    return GradientTransformation(init, update)


def diffgrad(options: DiffGradOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """diffGrad with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = DiffGradOptions() if options is None else options
    return compose(scale_by_diffgrad(options.b1, options.b2, options.eps), options, is_bias)


BASELINES = (Baseline("diffgrad", DiffGradOptions, diffgrad),)
