r"""SGD-SaI, "No More Adam" (Xu, Xiang, Cai & Wen 2024), the official code's form (``docs/optimizers/momentum.md``).

Algorithm (per block i; the step sizes are fixed once, from the first gradient)::

    input   θ_0, μ, ε, λ
    t = 1:  for every block i:  σ_i = std(g_1^{(i)}) over its entries, unbiased (n − 1)
                                G_i = ‖g_1^{(i)}‖₂ / (σ_i + ε)            (the g-SNR, then frozen)
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        m_t = g_t                               if t = 1   (the code starts the buffer at g_1)
        m_t = μ m_{t−1} + (1 − μ) g_t           if t ≥ 2
        θ_t = (1 − γ_t λ) θ_{t−1} − γ_t G_i m_t             (decoupled decay, not scaled by G_i)

Identity: G_i² = (n − 1) + n (mean/σ)², so G_i ≥ sqrt(n − 1): big blocks get big steps (a 784×256
weight ≈ 450× a 10-entry bias). Do not reuse SGD learning rates.

Guards (the rule is undefined there; amref keeps the official formula and adds a guard):
a **one-entry block** has no standard deviation (the code gets σ = 0 and G = ‖g‖/ε ≈ 1e8|g|); amref
uses G = 1 for it, i.e. plain momentum SGD. A block whose first gradient is exactly zero gets G = 0
and then moves only by decay, as in the code. The g-SNR of each block is kept in the state (``snr``).

=======  ============  ==========================================
symbol   code          meaning
=======  ============  ==========================================
G_i      ``snr``       frozen g-SNR of block i (0-d arrays)
m_t      ``buffer``    momentum buffer
μ        ``momentum``
=======  ============  ==========================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("sgd-sai", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.051  0.052]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..backend import device, namespace
from ..options import fraction, positive
from .base import GradientTransformation, Tree, as_scalar_array, block_norm, tree_zeros_like
from .options import BaselineOptions, DecayStyle
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "gradient_snr", "scale_by_sgd_sai", "sgd_sai", "SGDSaIOptions", "SGDSaIState"]


@dataclasses.dataclass(frozen=True)
class SGDSaIOptions(BaselineOptions):
    """SGD-SaI options (official code: lr 1e-2, μ = 0.9, ε = 1e-8, decoupled λ = 1e-2).

    Attributes
    ----------
    momentum : float
        Momentum coefficient μ ∈ [0, 1).
    eps : float
        ε > 0 of the gradient signal-to-noise ratio's denominator.
    """

    lr: float = 1e-2
    momentum: float = fraction(0.9)
    eps: float = positive(1e-8)
    weight_decay: float = 1e-2
    weight_decay_style: DecayStyle = "decoupled"


class SGDSaIState(NamedTuple):
    count: int
    snr: list
    buffer: list


def gradient_snr(g, eps: float):
    """G = ‖g‖ / (σ + ε), σ the unbiased standard deviation of g's entries; 1 for a one-entry block."""
    xp = namespace(g)
    if g.size == 1:
        return xp.ones((), dtype=g.dtype, device=device(g))
    sigma = xp.std(g, correction=1)
    return block_norm(g) / (sigma + eps)


def scale_by_sgd_sai(momentum: float = 0.9, eps: float = 1e-8) -> GradientTransformation:
    """u_t = G_i m_t (module docstring)."""

    def init(params: Tree) -> SGDSaIState:
        return SGDSaIState(count=0, snr=[], buffer=tree_zeros_like(params))

    def update(grads: Tree, state: SGDSaIState, params: Tree | None = None, **extras: Any):
        if state.count == 0:
            snr = [as_scalar_array(gradient_snr(g, eps), g) for g in grads]
            buffer = list(grads)
        else:
            snr = state.snr
            buffer = [momentum * m + (1.0 - momentum) * g for m, g in zip(state.buffer, grads)]
        direction = [G * m for G, m in zip(snr, buffer)]
        return direction, SGDSaIState(count=state.count + 1, snr=snr, buffer=buffer)

    return GradientTransformation(init, update)


def sgd_sai(options: SGDSaIOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """SGD-SaI with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = SGDSaIOptions() if options is None else options
    return compose(scale_by_sgd_sai(options.momentum, options.eps), options, is_bias)


BASELINES = (Baseline("sgd-sai", SGDSaIOptions, sgd_sai),)
