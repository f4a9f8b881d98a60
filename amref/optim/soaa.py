r"""SOAA (Vo & Vo, arXiv 2410.02293): Adam with a diagonal Fisher proxy and a trust radius (``docs/optimizers/curvature.md``).

**Uncertain rule.** No official code exists; this follows the only transcription found (junaidaliop/zij
``canon/math/soaa.md``) and fills its gaps with the most defensible reading, marked (★) below.

Algorithm (moments per coordinate, F per block, d one global scalar)::

    input   θ_0, β_1, β_2, ε, c, T;   m_0 = v_0 = 0,  d_0 = 1 (★)
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1}),  ℓ_t = f(θ_{t−1})               (the batch loss, passed as ``loss=``)
        m_t, v_t, m̂_t, v̂_t as in Adam
        d_t = clip( (ℓ_{t−1} − ℓ_t) / max(p_{t−1}, ε) · d_{t−1},  (1 − c)^{(t−1)/T},  1 + c^{(t−1)/T} )
              (★ at t = 1 there is no ratio yet: d_1 = clip(d_0, …); d updates *before* the step)
        F_t = (1 + Σ m̂_t² / Σ (v̂_t + ε)) · v̂_t                (sums over the block's entries)
        r_t = max(d_t F_t, sqrt(v̂_t))
        u_t = d_t m̂_t / (r_t + ε)
        θ_t = θ_{t−1} − γ_t λ θ_{t−1} − γ_t u_t                 (decoupled decay)
        p_t = γ_t g_tᵀu_t − ½ γ_t² u_tᵀ diag(F_t) u_t           (★ predicted reduction of the quadratic
              model f + gᵀΔ + ½ Δᵀdiag(F)Δ for the step Δ = −γ_t u_t; the decay term is left out)

(★) also: d is one scalar for the whole network (a trust *radius*), and the actual reduction compares
losses of consecutive batches, which is exact for full batch and noisy for mini-batches.
Observation (spec): F scales like v̂, so for |g| < 1 the sqrt(v̂) branch usually wins and SOAA ≈ Adam
with the step multiplied by d_t.

=======  ==================  ==========================================
symbol   code                meaning
=======  ==================  ==========================================
d_t      ``radius``          trust radius (0-d array)
ℓ_{t−1}  ``prev_loss``       previous batch loss (None at t = 1)
p_{t−1}  ``predicted``       previous predicted reduction
c        ``radius_bound``    bound factor of the clip interval
T        ``total_steps``     horizon of the clip interval
=======  ==================  ==========================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("soaa", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params, loss=1.0)
>>> print(np.round(deltas[0], 4))
[[-0.1  0.1]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..backend import namespace
from ..options import fraction, number, positive
from .base import GradientTransformation, Tree, as_scalar_array, tree_zeros_like
from .options import BaselineOptions, DecayStyle
from .train import Baseline, ExtraContext
from .transforms import Schedule, as_schedule, compose, make_schedule

__all__ = ["BASELINES", "batch_loss", "scale_by_soaa", "soaa", "SOAAOptions", "SOAAState"]


@dataclasses.dataclass(frozen=True)
class SOAAOptions(BaselineOptions):
    """SOAA options (no reference defaults exist: Adam's lr, β, ε; c = 0.1, T = 1000 are amref's choices).

    Attributes
    ----------
    b1, b2 : float
        β₁, β₂ ∈ [0, 1): decay rates of the first and second moment averages.
    eps : float
        ε > 0 of the denominator and of the predicted-reduction floor.
    radius_bound : float
        c ∈ (0, 1): bound factor of the trust radius's clip interval.
    total_steps : int
        T: horizon of the clip interval.
    """

    lr: float = 1e-3
    b1: float = fraction(0.9)
    b2: float = fraction(0.999)
    eps: float = positive(1e-8)
    radius_bound: float = number(0.1, low=0.0, high=1.0, low_open=True, high_open=True)
    total_steps: int = number(1000, low=1)
    weight_decay_style: DecayStyle = "decoupled"


class SOAAState(NamedTuple):
    count: int
    mu: list
    nu: list
    radius: Any
    prev_loss: Any
    predicted: Any


def scale_by_soaa(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, radius_bound: float = 0.1,
                  total_steps: int = 1000, lr: float | Schedule = 1e-3) -> GradientTransformation:
    """u_t = d_t m̂_t / (r_t + ε); needs ``loss=ℓ_t``. ``lr`` is the same schedule the chain applies,
    used only for the predicted reduction p_t."""
    schedule = as_schedule(lr)

    def init(params: Tree) -> SOAAState:
        xp = namespace(*params)
        one = xp.ones((), dtype=params[0].dtype, device=_dev(params[0]))
        return SOAAState(count=0, mu=tree_zeros_like(params), nu=tree_zeros_like(params), radius=one,
                         prev_loss=None, predicted=None)

    def update(grads: Tree, state: SOAAState, params: Tree | None = None, *, loss=None, **extras: Any):
        if loss is None:
            raise ValueError("SOAA needs the batch loss: update(grads, state, params, loss=...)")
        xp = namespace(*grads)
        loss = as_scalar_array(loss, grads[0])
        t = state.count + 1
        gamma = float(schedule(state.count))
        mu = [b1 * m + (1.0 - b1) * g for m, g in zip(state.mu, grads)]
        nu = [b2 * v + (1.0 - b2) * g * g for v, g in zip(state.nu, grads)]
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        radius = state.radius
        if state.prev_loss is not None:
            radius = radius * (state.prev_loss - loss) / xp.maximum(state.predicted, eps)
        radius = xp.clip(radius, (1.0 - radius_bound) ** ((t - 1) / total_steps),
                         1.0 + radius_bound ** ((t - 1) / total_steps))
        direction, predicted = [], None
        for g, m, v in zip(grads, mu, nu):
            m_hat, v_hat = m / c1, v / c2
            fisher = (1.0 + xp.sum(m_hat * m_hat) / xp.sum(v_hat + eps)) * v_hat
            r = xp.maximum(radius * fisher, xp.sqrt(v_hat))
            u = radius * m_hat / (r + eps)
            term = gamma * xp.sum(g * u) - 0.5 * gamma**2 * xp.sum(fisher * u * u)
            predicted = term if predicted is None else predicted + term
            direction.append(u)
        return direction, SOAAState(count=t, mu=mu, nu=nu, radius=as_scalar_array(radius, grads[0]), prev_loss=loss,
                                    predicted=as_scalar_array(predicted, grads[0]))

    return GradientTransformation(init, update)


def _dev(x):
    from ..backend import device

    return device(x)


def batch_loss(ctx: ExtraContext):
    """ℓ_t, the reduced batch loss at θ_{t−1} (0-d array)."""
    return ctx.tape.loss


def soaa(options: SOAAOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """SOAA with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = SOAAOptions() if options is None else options
    rule = scale_by_soaa(options.b1, options.b2, options.eps, options.radius_bound, options.total_steps,
                         make_schedule(options))
    return compose(rule, options, is_bias)


BASELINES = (Baseline("soaa", SOAAOptions, soaa, extras={"loss": batch_loss}),)
