r"""AdaHessian (Yao et al. 2021), the official code's form (amirgholami/adahessian; ``docs/optimizers/curvature.md``).

Algorithm (per coordinate; H_t the Hessian of the batch loss at θ_{t−1})::

    input   θ_0, β_1, β_2, ε, k ∈ (0, 1];   m_0 = v_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        z ~ Rademacher (±1 entries);   D_t = z ∘ (H_t z)        (Hutchinson: E[D_t] = diag H_t)
        D̄_t = D_t, or its spatial average (below)
        m_t = β_1 m_{t−1} + (1 − β_1) g_t
        v_t = β_2 v_{t−1} + (1 − β_2) D̄_t ∘ D̄_t
        θ_t = θ_{t−1} − γ_t [ (m_t/(1 − β_1^t)) / ((sqrt(v_t)/sqrt(1 − β_2^t))^k + ε) + λ θ_{t−1} ]

The Hessian-vector product H_t z is exact (:func:`amref.backprop.hessian_vector_product`, one extra
forward-backward pass); the training loop draws z from the run's seeded generator and passes
``hessian_diag=D_t`` to ``update``. With ``hessian_every`` = p > 1 a new sample is drawn every p-th update
and the last one is reused in between (``hessian_diag=None``).

Spatial averaging (uncertain for MLPs): the official image-classification code (the paper's runs)
averages only 4-D conv kernels, over their k×k positions, and leaves ≤ 2-D blocks alone; its
"instruction" version averages a 2-D weight over each row (``|H z|`` averaged, abs before averaging).
amref's default ``hessian_average="none"`` follows the paper's runs; ``"row"`` is the instruction
version. Decay is decoupled inside the learning-rate bracket (the CIFAR script passes λ = 5e-4/γ).
ε is added *after* the power k; with k = 1 the step divides by ≈|H_ii|, so learning rates are unlike Adam's.

=======  ====================  ===============================================
symbol   code                  meaning
=======  ====================  ===============================================
D̄_t      ``hessian``           last (averaged) Hutchinson sample
m_t      ``mu``                EMA of gradients
v_t      ``nu``                EMA of D̄²
k        ``hessian_power``
=======  ====================  ===============================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("adahessian", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params, hessian_diag=[np.array([[2.0, 4.0]])])
>>> print(np.round(deltas[0], 4))
[[-0.025   0.0125]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, NamedTuple

from .. import backprop
from ..backend import from_host, namespace
from ..options import fraction, nonnegative, number
from .base import GradientTransformation, Tree, tree_zeros_like
from .options import BaselineOptions, DecayStyle
from .train import Baseline, ExtraContext
from .transforms import compose

__all__ = [
    "BASELINES",
    "adahessian",
    "AdaHessianOptions",
    "AdaHessianState",
    "hutchinson_sample",
    "scale_by_adahessian",
    "spatial_average",
]


@dataclasses.dataclass(frozen=True)
class AdaHessianOptions(BaselineOptions):
    """AdaHessian options (code: lr 0.15, β = (0.9, 0.999), ε = 1e-4, k = 1, decoupled λ = 0).

    Attributes
    ----------
    b1, b2 : float
        β₁, β₂ ∈ [0, 1): decay rates of the gradient average and of the squared Hessian diagonal.
    eps : float
        ε ≥ 0 added after the power k.
    hessian_power : float
        k ∈ (0, 1]: power of the second-moment root.
    hessian_average : {"none", "row"}
        Spatial averaging of the Hutchinson sample: none (the paper's runs) or over each row.
    hessian_every : int
        Draw a new Hutchinson sample every this many updates (reuse the last one in between).
    """

    lr: float = 0.15
    b1: float = fraction(0.9)
    b2: float = fraction(0.999)
    eps: float = nonnegative(1e-4)
    hessian_power: float = number(1.0, low=0.0, high=1.0, low_open=True)
    hessian_average: Literal["none", "row"] = "none"
    hessian_every: int = number(1, low=1)
    weight_decay_style: DecayStyle = "decoupled"


class AdaHessianState(NamedTuple):
    count: int
    mu: list
    nu: list
    hessian: list


def spatial_average(d, how: str):
    """D̄: ``"none"`` keeps D; ``"row"`` replaces each row of a 2-D block by the mean of its |D| (n×1 rows stay)."""
    if how == "none" or d.ndim != 2:
        return d
    xp = namespace(d)
    return xp.broadcast_to(xp.mean(xp.abs(d), axis=1, keepdims=True), d.shape)


def scale_by_adahessian(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-4, hessian_power: float = 1.0,
                        hessian_average: str = "none") -> GradientTransformation:
    """u_t = (m_t/(1 − β_1^t)) / ((sqrt(v_t)/sqrt(1 − β_2^t))^k + ε); needs ``hessian_diag=D_t`` (or a kept one)."""

    def init(params: Tree) -> AdaHessianState:
        return AdaHessianState(count=0, mu=tree_zeros_like(params), nu=tree_zeros_like(params), hessian=[])

    def update(grads: Tree, state: AdaHessianState, params: Tree | None = None, *, hessian_diag=None, **extras: Any):
        xp = namespace(*grads)
        if hessian_diag is not None:
            hessian = [spatial_average(d, hessian_average) for d in hessian_diag]
        elif state.hessian:
            hessian = state.hessian
        else:
            raise ValueError("AdaHessian needs hessian_diag (a Hutchinson sample z∘Hz) on its first update")
        t = state.count + 1
        mu = [b1 * m + (1.0 - b1) * g for m, g in zip(state.mu, grads)]
        nu = [b2 * v + (1.0 - b2) * d * d for v, d in zip(state.nu, hessian)]
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        direction = [(m / c1) / (xp.sqrt(v / c2) ** hessian_power + eps) for m, v in zip(mu, nu)]
        return direction, AdaHessianState(count=t, mu=mu, nu=nu, hessian=hessian)

    return GradientTransformation(init, update)


def hutchinson_sample(ctx: ExtraContext):
    """D = z ∘ (H z) for the batch in ``ctx`` with a Rademacher z from the run's generator (every
    ``hessian_every``-th update; ``None`` otherwise, so the rule reuses its last sample)."""
    if ctx.step % ctx.options.hessian_every != 0:
        return None
    xp = namespace(ctx.tape.logits)
    from ..backend import device, dtype_name

    dev, dt = device(ctx.tape.logits), dtype_name(ctx.tape.logits)
    z = [from_host(ctx.rng.integers(0, 2, size=tuple(p.shape)) * 2.0 - 1.0, xp, device=dev, dtype=dt)
         for p in ctx.params]
    hz = backprop.hessian_vector_product(ctx.problem, ctx.params, None, None, z, tape=ctx.tape)
    return [zi * h for zi, h in zip(z, hz)]


def adahessian(options: AdaHessianOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """AdaHessian with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = AdaHessianOptions() if options is None else options
    rule = scale_by_adahessian(options.b1, options.b2, options.eps, options.hessian_power, options.hessian_average)
    return compose(rule, options, is_bias)


BASELINES = (Baseline("adahessian", AdaHessianOptions, adahessian, extras={"hessian_diag": hutchinson_sample}),)
