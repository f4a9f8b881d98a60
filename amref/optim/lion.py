r"""Lion (Chen et al. 2023), the official code's form (google/automl ``lion_pytorch.py``; ``docs/optimizers/momentum.md``).

Algorithm (per coordinate)::

    input   θ_0, β_1, β_2, λ;   m_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        c_t = β_1 m_{t−1} + (1 − β_1) g_t          (the update interpolates with β_1 …)
        θ_t = (1 − γ_t λ) θ_{t−1} − γ_t sign(c_t)
        m_t = β_2 m_{t−1} + (1 − β_2) g_t          (… the state with β_2)

No ε; sign(0) = 0. First step −γ sign(g). The README suggests a learning rate 3–10× smaller and a λ
3–10× larger than AdamW's. Sign updates do not settle on a minimiser without a decaying learning rate.

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("lion", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.1  0.1]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..backend import namespace
from ..kernels import optim_kernel
from ..options import fraction
from .base import GradientTransformation, Tree, tree_zeros_like
from .options import BaselineOptions, DecayStyle
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "lion", "LionOptions", "LionState", "scale_by_lion"]


@dataclasses.dataclass(frozen=True)
class LionOptions(BaselineOptions):
    """Lion options (code: lr 1e-4, β = (0.9, 0.99), decoupled λ = 0).

    Attributes
    ----------
    b1 : float
        β₁ ∈ [0, 1): interpolation of the momentum and the gradient inside the sign.
    b2 : float
        β₂ ∈ [0, 1): decay rate of the momentum.
    """

    lr: float = 1e-4
    b1: float = fraction(0.9)
    b2: float = fraction(0.99)
    weight_decay_style: DecayStyle = "decoupled"


class LionState(NamedTuple):
    count: int
    mu: list


def scale_by_lion(b1: float = 0.9, b2: float = 0.99) -> GradientTransformation:
    """u_t = sign(β_1 m_{t−1} + (1 − β_1) g_t); m_t = β_2 m_{t−1} + (1 − β_2) g_t."""

    def init(params: Tree) -> LionState:
        return LionState(count=0, mu=tree_zeros_like(params))

    def update(grads: Tree, state: LionState, params: Tree | None = None, *, donate: bool = False,
               **extras: Any):
        xp = namespace(*grads)
        mu, direction = [], []
        for m, g in zip(state.mu, grads):
            kernel = optim_kernel("lion", g, m)
            if kernel is not None:  # the two lines below in one pass
                m, u = kernel(g, m, b1, b2, donate=donate)
            else:
                u = xp.sign(b1 * m + (1.0 - b1) * g)
                m = b2 * m + (1.0 - b2) * g
            mu.append(m)
            direction.append(u)
        return direction, LionState(count=state.count + 1, mu=mu)

    return GradientTransformation(init, update)


def lion(options: LionOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """Lion with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = LionOptions() if options is None else options
    return compose(scale_by_lion(options.b1, options.b2), options, is_bias)


BASELINES = (Baseline("lion", LionOptions, lion),)
