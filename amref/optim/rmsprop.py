r"""RMSprop (Hinton's lecture 6e), torch.optim.RMSprop's form (``docs/optimizers/accumulators.md``).

Algorithm (per coordinate; decay, clipping and schedules are add-ons)::

    input   θ_0, α, ε, μ, centered;  v_0 = 0, ḡ_0 = 0, b_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        v_t = α v_{t−1} + (1 − α) g_t²
        if centered:  ḡ_t = α ḡ_{t−1} + (1 − α) g_t;   ṽ_t = v_t − ḡ_t²     else ṽ_t = v_t
        d_t = g_t / (sqrt(ṽ_t) + ε)                        (ε outside the root, as torch)
        if μ > 0:  b_t = μ b_{t−1} + d_t;  u_t = b_t       else u_t = d_t
        θ_t = θ_{t−1} − γ_t u_t

No bias correction: the first step is γ sign(g)/sqrt(1 − α) = 10γ for α = 0.99, the known early spike.
optax's default puts ε inside the root and uses α = 0.9; Hinton used 0.9.

=======  ===============  ======================================
symbol   code             meaning
=======  ===============  ======================================
v_t      ``sq_avg``       EMA of squared gradients
ḡ_t      ``grad_avg``     EMA of gradients (centered variant)
b_t      ``buffer``       momentum buffer
α        ``alpha``        averaging coefficient
=======  ===============  ======================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("rmsprop", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-1.  1.]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..backend import namespace
from ..kernels import optim_kernel
from ..options import fraction, nonnegative
from .base import GradientTransformation, Tree, tree_zeros_like
from .options import BaselineOptions
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "rmsprop", "RMSpropOptions", "RMSpropState", "scale_by_rmsprop"]


@dataclasses.dataclass(frozen=True)
class RMSpropOptions(BaselineOptions):
    """RMSprop options (torch defaults: lr 1e-2, α = 0.99, ε = 1e-8, no momentum, not centered).

    Attributes
    ----------
    alpha : float
        α ∈ [0, 1): decay rate of the squared-gradient average.
    eps : float
        ε ≥ 0 added to the average's root.
    momentum : float
        Momentum coefficient μ ≥ 0 on the scaled step (0: none).
    centered : bool
        Subtract the squared gradient average (centered RMSprop).
    """

    lr: float = 1e-2
    alpha: float = fraction(0.99)
    eps: float = nonnegative(1e-8)
    momentum: float = nonnegative(0.0)
    centered: bool = False


class RMSpropState(NamedTuple):
    count: int
    sq_avg: list
    grad_avg: list
    buffer: list


def scale_by_rmsprop(alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                     centered: bool = False) -> GradientTransformation:
    """u_t of the module docstring."""

    def init(params: Tree) -> RMSpropState:
        zeros = tree_zeros_like
        return RMSpropState(count=0, sq_avg=zeros(params), grad_avg=zeros(params) if centered else [],
                            buffer=zeros(params) if momentum > 0 else [])

    def update(grads: Tree, state: RMSpropState, params: Tree | None = None, *, donate: bool = False,
               **extras: Any):
        xp = namespace(*grads)
        sq_avg, grad_avg, buffer, direction = [], [], [], []
        for i, (g, v) in enumerate(zip(grads, state.sq_avg)):
            m = state.grad_avg[i] if centered else None
            b = state.buffer[i] if momentum > 0 else None
            kernel = None if centered or momentum > 0 else optim_kernel("rmsprop", g, v)
            if kernel is not None:  # the lines below (plain RMSprop) in one pass
                v, u = kernel(g, v, alpha, eps, donate=donate)
            else:
                v = alpha * v + (1.0 - alpha) * g * g
                variance = v
                if centered:
                    m = alpha * m + (1.0 - alpha) * g
                    variance = v - m * m
                u = g / (xp.sqrt(variance) + eps)
                if momentum > 0:
                    b = momentum * b + u
                    u = b
            sq_avg.append(v)
            grad_avg += [m] if centered else []
            buffer += [b] if momentum > 0 else []
            direction.append(u)
        return direction, RMSpropState(count=state.count + 1, sq_avg=sq_avg, grad_avg=grad_avg, buffer=buffer)

    return GradientTransformation(init, update)


def rmsprop(options: RMSpropOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """RMSprop with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = RMSpropOptions() if options is None else options
    return compose(scale_by_rmsprop(options.alpha, options.eps, options.momentum, options.centered), options, is_bias)


BASELINES = (
    Baseline("rmsprop", RMSpropOptions, rmsprop),
)
