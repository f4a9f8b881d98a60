r"""Gradient descent, heavy-ball momentum and Nesterov momentum (torch.optim.SGD's form; ``docs/optimizers/momentum.md``).

Algorithm (γ_t learning rate, μ momentum, τ dampening; decay, clipping and schedules are add-ons)::

    input   θ_0, μ ≥ 0, τ ∈ [0, 1), nesterov
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})                                  (full batch: GD; mini-batch: SGD)
        if μ = 0:   u_t = g_t
        else:       b_t = g_t                        if t = 1     (no dampening on the first step)
                    b_t = μ b_{t−1} + (1 − τ) g_t    if t ≥ 2
                    u_t = g_t + μ b_t   if nesterov   else   u_t = b_t
        θ_t = θ_{t−1} − γ_t u_t

"lr outside the buffer" (torch, optax): with a constant γ this is Polyak's heavy ball
θ_{t+1} = θ_t − γ∇f(θ_t) + μ(θ_t − θ_{t−1}); with a schedule it differs from the Keras/Sutskever form
v ← μv − γg. Nesterov is Sutskever et al.'s NAG in the variables that track the look-ahead point
(torch requires τ = 0 for it, and so does amref).

=======  ================  =============================================
symbol   code              meaning
=======  ================  =============================================
μ        ``momentum``      momentum coefficient
τ        ``dampening``     dampening of the new gradient (t ≥ 2)
b_t      ``buffer``        momentum buffer, one array per block
=======  ================  =============================================

Names: ``sgd`` (μ = 0), ``momentum`` (μ = 0.9), ``nesterov`` (μ = 0.9, Nesterov). Defaults are torch's
(lr 1e-3, L2 weight decay).

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("sgd", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.05  0.05]]
>>> opt = optim.optimizer("momentum", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.05  0.05]]
>>> opt = optim.optimizer("nesterov", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.095  0.095]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..kernels import optim_kernel
from ..options import fraction, nonnegative
from .base import GradientTransformation, Tree, identity, tree_zeros_like
from .options import BaselineOptions
from .train import Baseline
from .transforms import compose

__all__ = [
    "BASELINES",
    "MomentumOptions",
    "MomentumState",
    "NesterovOptions",
    "scale_by_momentum",
    "sgd",
    "SGDOptions",
]


@dataclasses.dataclass(frozen=True)
class SGDOptions(BaselineOptions):
    """GD/SGD options (torch defaults).

    Attributes
    ----------
    momentum : float
        Momentum coefficient μ ≥ 0 (0: plain gradient descent).
    dampening : float
        Dampening τ ∈ [0, 1) of the new gradient in the momentum buffer (t ≥ 2).
    nesterov : bool
        Nesterov momentum (needs μ > 0 and τ = 0).
    """

    lr: float = 1e-3
    momentum: float = nonnegative(0.0)
    dampening: float = fraction(0.0)
    nesterov: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov needs momentum > 0 and dampening = 0")


@dataclasses.dataclass(frozen=True)
class MomentumOptions(SGDOptions):
    """Heavy-ball momentum: :class:`SGDOptions` with μ = 0.9."""

    momentum: float = 0.9


@dataclasses.dataclass(frozen=True)
class NesterovOptions(SGDOptions):
    """Nesterov momentum: :class:`SGDOptions` with μ = 0.9 and ``nesterov=True``."""

    momentum: float = 0.9
    nesterov: bool = True


class MomentumState(NamedTuple):
    count: int
    buffer: list


def scale_by_momentum(momentum: float, dampening: float = 0.0, nesterov: bool = False) -> GradientTransformation:
    """u_t = b_t (heavy ball) or g_t + μ b_t (Nesterov), b_t as in the module docstring."""

    def init(params: Tree) -> MomentumState:
        return MomentumState(count=0, buffer=tree_zeros_like(params))

    def update(grads: Tree, state: MomentumState, params: Tree | None = None, **extras: Any):
        first = state.count == 0
        buffer, direction = [], []
        for b, g in zip(state.buffer, grads):
            kernel = None if first else optim_kernel("momentum", g, b)
            if kernel is not None:  # the two lines below in one pass
                b, u = kernel(g, b, momentum, dampening, nesterov)
            else:
                b = g if first else momentum * b + (1.0 - dampening) * g
                u = g + momentum * b if nesterov else b
            buffer.append(b)
            direction.append(u)
        return direction, MomentumState(count=state.count + 1, buffer=buffer)

    return GradientTransformation(init, update)


def sgd(options: SGDOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """GD/SGD, heavy-ball or Nesterov momentum, with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = SGDOptions() if options is None else options
    if options.momentum == 0:
        rule = identity()
    else:
        rule = scale_by_momentum(options.momentum, options.dampening, options.nesterov)
    return compose(rule, options, is_bias)


BASELINES = (
    Baseline("sgd", SGDOptions, sgd),
    Baseline("momentum", MomentumOptions, sgd),
    Baseline("nesterov", NesterovOptions, sgd),
)
