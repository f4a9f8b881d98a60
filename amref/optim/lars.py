r"""LARS, layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017; ``docs/optimizers/momentum.md``).

Algorithm (per block l = one weight or bias array; β the weight decay)::

    input   θ_0, trust coefficient η, momentum μ, β;   b_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        for every block w_l:
            ρ_l = η ‖w_l‖ / (‖g_l‖ + β ‖w_l‖)          (ρ_l = 1 if ‖w_l‖ = 0 or the denominator is 0)
            d_l = ρ_l (g_l + β w_l)
        b_t = μ b_{t−1} + d_t
        θ_t = θ_{t−1} − γ_t b_t

This is the 2017 paper's rule with the learning rate outside the momentum buffer (as amref's SGD
momentum; the paper's v ← μv + γρ(g + βw) differs only under a schedule). The decay β sits inside the
ratio (``weight_decay_style="direction"``, the default and the paper's); ``"l2"`` or ``"decoupled"`` apply
amref's shared styles instead and leave β = 0 here. Biases are decayed only with ``decay_biases`` and
adapted unless ``trust_biases=False`` (optax's defaults adapt every block; a non-adapted block gets ρ = 1).
Library variants: optax uses ‖g + λw‖ in the denominator; kozistr skips 1-D blocks; jettify applies
the ratio only when λ ≠ 0.

=======  =======================  ==============================
symbol   code                     meaning
=======  =======================  ==============================
η        ``trust_coefficient``    1e-3
μ        ``momentum``             0.9
b_t      ``buffer``               momentum buffer
=======  =======================  ==============================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("lars", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.0002  0.0002]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Sequence

from ..backend import namespace
from ..options import nonnegative, positive
from .base import GradientTransformation, Tree, block_norm, resolve_mask, tree_zeros_like
from .options import BaselineOptions, TrustDecayStyle
from .train import Baseline
from .transforms import compose, masks

__all__ = ["BASELINES", "lars", "LARSOptions", "LARSState", "scale_by_lars", "trust_ratio"]


@dataclasses.dataclass(frozen=True)
class LARSOptions(BaselineOptions):
    """LARS options (paper: η = 1e-3, μ = 0.9; γ = 1 here, the paper's ImageNet runs used larger γ).

    Attributes
    ----------
    momentum : float
        Momentum coefficient μ ≥ 0.
    trust_coefficient : float
        η > 0 of the layer-wise trust ratio η‖θ_l‖ / ‖g_l + λθ_l‖.
    trust_biases : bool
        Apply the trust ratio to bias blocks too (False: ratio 1 for them).
    weight_decay_style : {"direction", "l2", "decoupled", "fixed", "proximal"}
        ``"direction"`` (the paper's): λθ joins the direction inside the trust ratio; the others as in
        every baseline.
    """

    lr: float = 1.0
    momentum: float = nonnegative(0.9)
    trust_coefficient: float = positive(1e-3)
    trust_biases: bool = True
    weight_decay_style: TrustDecayStyle = "direction"


class LARSState(NamedTuple):
    count: int
    buffer: list


def trust_ratio(xp, numerator, denominator):
    """``numerator / denominator``, or 1 where either is 0 (0-d arrays of namespace ``xp``; no division by zero)."""
    ok = (numerator > 0) & (denominator > 0)
    return xp.where(ok, numerator / xp.where(ok, denominator, 1.0), 1.0)


def scale_by_lars(trust_coefficient: float = 1e-3, momentum: float = 0.9, weight_decay: float = 0.0,
                  decay_mask: Sequence[bool] | None = None, adapt_mask: Sequence[bool] | None = None
                  ) -> GradientTransformation:
    """u_t = b_t with d_l = ρ_l (g_l + β w_l) (module docstring)."""

    def init(params: Tree) -> LARSState:
        return LARSState(count=0, buffer=tree_zeros_like(params))

    def update(grads: Tree, state: LARSState, params: Tree | None = None, **extras: Any):
        if params is None:
            raise ValueError("LARS needs the parameters: call update(grads, state, params)")
        xp = namespace(*grads)
        decay = resolve_mask(decay_mask, len(grads))
        adapt = resolve_mask(adapt_mask, len(grads))
        direction = []
        for g, w, dec, ada in zip(grads, params, decay, adapt):
            beta = weight_decay if dec else 0.0
            rho = 1.0
            if ada:
                w_norm = block_norm(w)
                rho = trust_ratio(xp, trust_coefficient * w_norm, block_norm(g) + beta * w_norm)
            direction.append(rho * (g + beta * w) if beta else rho * g)
        buffer = [momentum * b + d for b, d in zip(state.buffer, direction)]
        return buffer, LARSState(count=state.count + 1, buffer=buffer)

    return GradientTransformation(init, update)


def lars(options: LARSOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """LARS with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = LARSOptions() if options is None else options
    m = masks(options, is_bias)
    inner = options.weight_decay if options.weight_decay_style == "direction" else 0.0
    rule = scale_by_lars(options.trust_coefficient, options.momentum, inner, m.decay, m.adapt)
    return compose(rule, options, is_bias)


BASELINES = (Baseline("lars", LARSOptions, lars),)
