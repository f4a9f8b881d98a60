r"""Adadelta (Zeiler 2012), torch.optim.Adadelta's form (``docs/optimizers/accumulators.md``).

Algorithm (per coordinate; decay, clipping and schedules are add-ons)::

    input   θ_0, ρ, ε;  v_0 = 0, u_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        v_t = ρ v_{t−1} + (1 − ρ) g_t²
        Δ_t = sqrt(u_{t−1} + ε) / sqrt(v_t + ε) · g_t
        u_t = ρ u_{t−1} + (1 − ρ) Δ_t²
        θ_t = θ_{t−1} − γ_t Δ_t

ε sits inside both roots and sets the first step: ≈ sqrt(ε/(1 − ρ)) sign(g) (3.2e-3 for torch's
defaults). Zeiler's paper has ρ = 0.95 and no γ (γ = 1); torch: ρ = 0.9, ε = 1e-6, γ = 1.

=======  ==============  ==========================================
symbol   code            meaning
=======  ==============  ==========================================
v_t      ``sq_avg``      EMA of squared gradients
u_t      ``delta_avg``   EMA of squared updates
ρ        ``rho``         averaging coefficient
=======  ==============  ==========================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("adadelta", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.0003  0.0003]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..backend import namespace
from ..options import fraction, positive
from .base import GradientTransformation, Tree, tree_zeros_like
from .options import BaselineOptions
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "adadelta", "AdadeltaOptions", "AdadeltaState", "scale_by_adadelta"]


@dataclasses.dataclass(frozen=True)
class AdadeltaOptions(BaselineOptions):
    """Adadelta options (torch defaults: lr 1, ρ = 0.9, ε = 1e-6, L2 decay).

    Attributes
    ----------
    rho : float
        ρ ∈ [0, 1): decay rate of the squared-gradient and squared-step averages.
    eps : float
        ε > 0 inside both roots.
    """

    lr: float = 1.0
    rho: float = fraction(0.9)
    eps: float = positive(1e-6)


class AdadeltaState(NamedTuple):
    count: int
    sq_avg: list
    delta_avg: list


def scale_by_adadelta(rho: float = 0.9, eps: float = 1e-6) -> GradientTransformation:
    """u = Δ_t of the module docstring."""

    def init(params: Tree) -> AdadeltaState:
        return AdadeltaState(count=0, sq_avg=tree_zeros_like(params), delta_avg=tree_zeros_like(params))

    def update(grads: Tree, state: AdadeltaState, params: Tree | None = None, **extras: Any):
        xp = namespace(*grads)
        sq_avg = [rho * v + (1.0 - rho) * g * g for v, g in zip(state.sq_avg, grads)]
        delta = [xp.sqrt(u + eps) / xp.sqrt(v + eps) * g for u, v, g in zip(state.delta_avg, sq_avg, grads)]
        delta_avg = [rho * u + (1.0 - rho) * d * d for u, d in zip(state.delta_avg, delta)]
        return delta, AdadeltaState(count=state.count + 1, sq_avg=sq_avg, delta_avg=delta_avg)

    return GradientTransformation(init, update)


def adadelta(options: AdadeltaOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """Adadelta with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = AdadeltaOptions() if options is None else options
    return compose(scale_by_adadelta(options.rho, options.eps), options, is_bias)


BASELINES = (
    Baseline("adadelta", AdadeltaOptions, adadelta),
)
