r"""Adagrad (Duchi, Hazan & Singer 2011), torch.optim.Adagrad's form (``docs/optimizers/accumulators.md``).

Algorithm (per coordinate; decay, clipping and schedules are add-ons)::

    input   θ_0, G_0 = τ_0 (initial accumulator), ε
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        G_t = G_{t−1} + g_t²                     (the current gradient is included before the step)
        θ_t = θ_{t−1} − γ_t g_t / (sqrt(G_t) + ε)

torch's ``lr_decay`` κ, γ_t = γ/(1 + (t − 1)κ), is the ``inverse_time`` schedule with ``decay_rate`` κ.
With τ_0 = 0 the first step is ≈ −γ sign(g) whatever the gradient's scale.

=======  ==========================  ======================================
symbol   code                        meaning
=======  ==========================  ======================================
G_t      ``sum_sq``                  accumulated squared gradients
τ_0      ``initial_accumulator``     start value of G (torch 0, optax 0.1)
ε        ``eps``                     added outside the root (torch 1e-10)
=======  ==========================  ======================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("adagrad", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.1  0.1]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..backend import namespace
from ..kernels import optim_kernel
from ..options import nonnegative
from .base import GradientTransformation, Tree, tree_full_like
from .options import BaselineOptions
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "adagrad", "AdagradOptions", "AdagradState", "scale_by_adagrad"]


@dataclasses.dataclass(frozen=True)
class AdagradOptions(BaselineOptions):
    """Adagrad options (torch defaults: lr 1e-2, τ_0 = 0, ε = 1e-10, L2 decay).

    Attributes
    ----------
    initial_accumulator : float
        Start value τ₀ ≥ 0 of the squared-gradient sums.
    eps : float
        ε ≥ 0 added to the accumulator's root.
    """

    lr: float = 1e-2
    initial_accumulator: float = nonnegative(0.0)
    eps: float = nonnegative(1e-10)


class AdagradState(NamedTuple):
    count: int
    sum_sq: list


def scale_by_adagrad(initial_accumulator: float = 0.0, eps: float = 1e-10) -> GradientTransformation:
    """u_t = g_t / (sqrt(G_t) + ε), G_t = G_{t−1} + g_t²."""

    def init(params: Tree) -> AdagradState:
        return AdagradState(count=0, sum_sq=tree_full_like(params, initial_accumulator))

    def update(grads: Tree, state: AdagradState, params: Tree | None = None, *, donate: bool = False,
               **extras: Any):
        sum_sq, direction = [], []
        for G, g in zip(state.sum_sq, grads):
            kernel = optim_kernel("adagrad", g, G)
            if kernel is not None:  # the two lines below in one pass
                G, u = kernel(g, G, eps, donate=donate)
            else:
                G = G + g * g
                u = g / (namespace(G).sqrt(G) + eps)
            sum_sq.append(G)
            direction.append(u)
        return direction, AdagradState(count=state.count + 1, sum_sq=sum_sq)

    return GradientTransformation(init, update)


def adagrad(options: AdagradOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """Adagrad with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = AdagradOptions() if options is None else options
    return compose(scale_by_adagrad(options.initial_accumulator, options.eps), options, is_bias)


BASELINES = (
    Baseline("adagrad", AdagradOptions, adagrad),
)
