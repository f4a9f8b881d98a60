r"""AdaGrad-Norm (Ward, Wu & Bottou 2019; Li & Orabona 2019), scalar and per-row (``docs/optimizers/accumulators.md``).

Algorithm, ``scope="global"`` (the papers' method: one scalar step size for all parameters)::

    input   θ_0, b_0 > 0, η
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        b_t² = b_{t−1}² + ‖g_t‖²             (norm over all blocks together)
        θ_t = θ_{t−1} − η g_t / (b_t + ε)

``scope="row"`` is what the AdAdaGrad code (timlautk/AdAdaGrad, ``adagradnorm.py``) runs under the name
"Adagradnorm": one accumulator per **output row** of a 2-D weight, incremented by that row's squared
norm, and per-element accumulators for every other block (our n×1 bias columns have one-element
rows, so they are per element either way)::

        b_{t,r}² = b_{t−1,r}² + Σ_j g_{t,rj}²,   θ_{t,rj} = θ_{t−1,rj} − η g_{t,rj} / (b_{t,r} + ε)

The code's optional (1 − μ)-dampened momentum and its weight-decay line (which subtracts γλg, a decay
by the gradient rather than by θ) are not reproduced; amref's decay styles are available instead.

=======  ==================  ==========================================
symbol   code                meaning
=======  ==================  ==========================================
b_t²     ``sum_sq``          accumulator (0-d, or one per row)
b_0      ``b0``              start value, b_0² = 1e-2 in the code
η        ``lr``              base step (1 in the AdAdaGrad code)
ε        ``eps``             1e-10, outside the root (the code's)
=======  ==================  ==========================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("adagrad-norm", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.07  0.07]]
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal, NamedTuple

from ..backend import namespace
from ..options import nonnegative, positive
from .base import GradientTransformation, Tree, as_scalar_array, tree_vdot
from .options import BaselineOptions
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "Scope", "adagrad_norm", "AdaGradNormOptions", "AdaGradNormState", "scale_by_adagrad_norm"]

#: One accumulator for the whole network, or one per row of each block.
Scope = Literal["global", "row"]


@dataclasses.dataclass(frozen=True)
class AdaGradNormOptions(BaselineOptions):
    """AdaGrad-Norm options (AdAdaGrad code: η = 1, b_0² = 1e-2, ε = 1e-10).

    Attributes
    ----------
    b0 : float
        Start value b₀ > 0 of the accumulator (b₀² = 1e-2 in the code).
    eps : float
        ε ≥ 0 added outside the accumulator's root.
    scope : {"global", "row"}
        One accumulator for the whole network, or one per row of each block.
    """

    lr: float = 1.0
    b0: float = positive(0.1)
    eps: float = nonnegative(1e-10)
    scope: Scope = "global"


class AdaGradNormState(NamedTuple):
    count: int
    sum_sq: list


def _row_sq(g):
    """Σ_j g_rj² per row (n×1) for a 2-D block, g² elementwise otherwise."""
    xp = namespace(g)
    return xp.sum(g * g, axis=1, keepdims=True) if g.ndim == 2 else g * g


def scale_by_adagrad_norm(b0: float = 0.1, eps: float = 1e-10, scope: Scope = "global") -> GradientTransformation:
    """u_t = g_t / (b_t + ε) with a global scalar b_t (``"global"``) or one per row (``"row"``)."""
    if scope not in typing.get_args(Scope):
        raise ValueError(f"scope must be one of {', '.join(map(repr, typing.get_args(Scope)))}, got {scope!r}")

    def init(params: Tree) -> AdaGradNormState:
        xp = namespace(*params)
        if scope == "global":
            acc = [xp.full((), b0 * b0, dtype=params[0].dtype, device=_dev(params[0]))]
        else:
            acc = [xp.full_like(_row_sq(p), b0 * b0) for p in params]
        return AdaGradNormState(count=0, sum_sq=acc)

    def update(grads: Tree, state: AdaGradNormState, params: Tree | None = None, **extras: Any):
        xp = namespace(*grads)
        if scope == "global":
            acc = [as_scalar_array(state.sum_sq[0] + tree_vdot(grads, grads), grads[0])]
            denom = xp.sqrt(acc[0]) + eps
            direction = [g / denom for g in grads]
        else:
            acc = [a + _row_sq(g) for a, g in zip(state.sum_sq, grads)]
            direction = [g / (xp.sqrt(a) + eps) for g, a in zip(grads, acc)]
        return direction, AdaGradNormState(count=state.count + 1, sum_sq=acc)

    return GradientTransformation(init, update)


def _dev(x):
    from ..backend import device

    return device(x)


def adagrad_norm(options: AdaGradNormOptions | None = None,
                 is_bias: list[bool] | None = None) -> GradientTransformation:
    """AdaGrad-Norm with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = AdaGradNormOptions() if options is None else options
    return compose(scale_by_adagrad_norm(options.b0, options.eps, options.scope), options, is_bias)


BASELINES = (Baseline("adagrad-norm", AdaGradNormOptions, adagrad_norm),)
