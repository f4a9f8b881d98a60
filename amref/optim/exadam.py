r"""EXAdam (Adly 2024), the official code's current form (AhmedMostafa16/EXAdam, April 2025 = arXiv v2).

Rule and references: ``docs/optimizers/adam.md``.

Algorithm (per coordinate)::

    input   θ_0, β_1, β_2, ε;   m_0 = v_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        m_t = β_1 m_{t−1} + (1 − β_1) g_t,    v_t = β_2 v_{t−1} + (1 − β_2) g_t²
        d_1 = 1 + (v_t / (v_t + ε)) β_2^t,    d_2 = 1 + (m_t² / (m_t² + ε)) β_1^t
        m̃ = m_t/(1 − β_1^t) · d_1,   ṽ = v_t/(1 − β_2^t) · d_2,   g̃ = g_t/(1 − β_1^t) · d_1
        θ_t = θ_{t−1} − γ_t (m̃ + g̃) / (sqrt(ṽ) + ε)         (decoupled decay first, code only)

The v1 code (Feb 2025) also multiplied the step by ln(sqrt(2) sqrt(t + 1)); v2 dropped it.
The g̃ term is a second Adam-like direction divided by the β_1 correction: for a constant gradient the
step is ≈ 16γ at t = 1 (|g| ≳ 0.1), 9.3γ at t = 2, → 2γ. The ε inside d_1, d_2 makes it scale-dependent
(for |g| ≪ 1e-4 both d's → 1).

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("exadam", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-1.5952  1.5952]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..backend import namespace
from ..options import fraction, positive
from .base import GradientTransformation, Tree, tree_zeros_like
from .options import BaselineOptions, DecayStyle
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "exadam", "EXAdamOptions", "EXAdamState", "scale_by_exadam"]


@dataclasses.dataclass(frozen=True)
class EXAdamOptions(BaselineOptions):
    """EXAdam options (code: lr 1e-3, β = (0.9, 0.999), ε = 1e-8, decoupled decay).

    Attributes
    ----------
    b1, b2 : float
        β₁, β₂ ∈ [0, 1): decay rates of the first and second moment averages.
    eps : float
        ε > 0 inside the debiasing factors and the denominator.
    """

    lr: float = 1e-3
    b1: float = fraction(0.9)
    b2: float = fraction(0.999)
    eps: float = positive(1e-8)
    weight_decay_style: DecayStyle = "decoupled"


class EXAdamState(NamedTuple):
    count: int
    mu: list
    nu: list


def scale_by_exadam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    """u_t = (m̃ + g̃) / (sqrt(ṽ) + ε)."""

    def init(params: Tree) -> EXAdamState:
        return EXAdamState(count=0, mu=tree_zeros_like(params), nu=tree_zeros_like(params))

    def update(grads: Tree, state: EXAdamState, params: Tree | None = None, **extras: Any):
        xp = namespace(*grads)
        t = state.count + 1
        mu = [b1 * m + (1.0 - b1) * g for m, g in zip(state.mu, grads)]
        nu = [b2 * v + (1.0 - b2) * g * g for v, g in zip(state.nu, grads)]
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        direction = []
        for g, m, v in zip(grads, mu, nu):
            d1 = 1.0 + v / (v + eps) * b2**t
            d2 = 1.0 + m * m / (m * m + eps) * b1**t
            m_tilde, v_tilde, g_tilde = m / c1 * d1, v / c2 * d2, g / c1 * d1
            direction.append((m_tilde + g_tilde) / (xp.sqrt(v_tilde) + eps))
        return direction, EXAdamState(count=t, mu=mu, nu=nu)

    return GradientTransformation(init, update)


def exadam(options: EXAdamOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """EXAdam with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = EXAdamOptions() if options is None else options
    return compose(scale_by_exadam(options.b1, options.b2, options.eps), options, is_bias)


BASELINES = (Baseline("exadam", EXAdamOptions, exadam),)
