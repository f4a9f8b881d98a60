r"""AdAdaGrad and AdAdaGrad-Norm (Lau, Liu & Kolar 2024): AdaGrad with adaptive batch sizes (``docs/optimizers/accumulators.md``).

The model update is plain AdaGrad (:mod:`.adagrad`, ``base="adagrad"``) or AdaGrad-Norm
(:mod:`.adagrad_norm`, ``base="adagrad-norm"``) on the current batch gradient. What is new is a
**batch-size controller** run after every ``test_interval``-th update. With per-sample loss gradients
∇f_i on the batch B_k of size b, ḡ = (1/b) Σ_i ∇f_i and Bessel-corrected variances::

    norm test (Byrd et al. 2012)         S   = Σ_i ‖∇f_i − ḡ‖² / (b − 1)
                                         b⁺  = ⌈ S / (η² ‖ḡ‖²) ⌉
    inner-product test (Bollapragada     V   = Var_i ⟨∇f_i, ḡ⟩
      et al. 2018)                       b⁺  = ⌈ V / (θ² ‖ḡ‖⁴) ⌉
    augmented inner product              additionally, with the parts of ∇f_i orthogonal to ḡ,
                                         O   = Σ_i ‖∇f_i − (⟨∇f_i, ḡ⟩/‖ḡ‖²) ḡ‖² / (b − 1)
                                         b⁺  = max(⌈V/(θ²‖ḡ‖⁴)⌉, ⌈O/(ν²‖ḡ‖²)⌉)
    coordinate-wise norm test            Var_j = Σ_i (∂_j f_i − ḡ_j)² / (b − 1)   for every coordinate j
                                         b⁺  = max_j ⌈ Var_j / (η² ḡ_j²) ⌉
    then  b_{k+1} = min( max(b_k, b⁺), b_max )            (the batch never shrinks)

A test whose condition holds at the current b suggests b⁺ ≤ b and leaves the batch unchanged. The
statistics come from :mod:`amref.backprop` without per-sample gradients (``‖G_i‖² = ‖δ_i‖²‖a_i‖²``,
``Σ_i G_i∘G_i = (δ∘δ)(a∘a)ᵀ``, ``⟨G_i, V⟩ = δ_iᵀ V a_i``).

Uncertain rule (recalled, not checked against the paper): the coordinate-wise test is the norm test imposed
coordinate by coordinate, read here literally. Coordinates with zero variance impose nothing; one with
ḡ_j = 0 but positive variance cannot pass at any size and sends the batch to b_max, which in practice
happens quickly (the spec's "explodes"); ``coordinate_tol`` > 0 restricts the test to coordinates with
|ḡ_j| ≥ coordinate_tol · max_j |ḡ_j| (a documented deviation, off by default). The official code has
no coordinate-wise test; its norm and inner-product tests are the ones above.

=======  =====================  ===============================================
symbol   code                   meaning
=======  =====================  ===============================================
η        ``eta``                norm-test constant (README: 0.1 MNIST, 0.5 CIFAR)
θ        ``theta``              inner-product test constant (0.5)
ν        ``nu``                 orthogonality test constant (1)
b_k      ``batch_size``         current batch size (starts at the option)
b_max    ``max_batch_size``     cap (default: the training-set size)
=======  =====================  ===============================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("adadagrad", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.07  0.07]]
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from .. import backprop
from ..backend import namespace
from ..options import nonnegative, number, positive
from .adagrad import scale_by_adagrad
from .adagrad_norm import Scope, scale_by_adagrad_norm
from .base import GradientTransformation, tree_vdot
from .options import BaselineOptions
from .train import Baseline
from .transforms import compose

__all__ = ["BASELINES", "adadagrad", "AdAdaGradOptions", "next_batch_size", "suggested_batch_size"]


@dataclasses.dataclass(frozen=True)
class AdAdaGradOptions(BaselineOptions):
    """AdAdaGrad options: the base rule's (AdaGrad-Norm by default, as the code) and the controller's.

    Attributes
    ----------
    base : {"adagrad", "adagrad-norm"}
        The model update: AdaGrad or AdaGrad-Norm.
    scope : {"global", "row"}
        AdaGrad-Norm's accumulator: one scalar, or one per row of each block.
    b0 : float
        Start value b₀ > 0 of the AdaGrad-Norm accumulator (b₀² = 1e-2 in the code).
    eps : float
        ε ≥ 0 added to the accumulator's root.
    test : {"norm", "inner_product", "augmented", "coordinate"}
        The batch-size test (module docstring).
    eta : float
        η > 0 of the norm and coordinate-wise tests.
    theta : float
        θ > 0 of the inner-product tests.
    nu : float
        ν > 0 of the augmented test's orthogonality condition.
    max_batch_size : int or None
        Cap b_max on the batch size (None: the training-set size).
    test_interval : int
        Run the controller after every this many updates.
    coordinate_tol : float
        Coordinate-wise test only on coordinates with |ḡ_j| ≥ coordinate_tol · max_j |ḡ_j| (0: all).
    """

    lr: float = 1.0
    batch_size: int | None = 16
    base: Literal["adagrad", "adagrad-norm"] = "adagrad-norm"
    scope: Scope = "global"
    b0: float = positive(0.1)
    eps: float = nonnegative(1e-10)
    test: Literal["norm", "inner_product", "augmented", "coordinate"] = "norm"
    eta: float = positive(0.1)
    theta: float = positive(0.5)
    nu: float = positive(1.0)
    max_batch_size: int | None = number(None, low=1)
    test_interval: int = number(1, low=1)
    coordinate_tol: float = number(0.0, low=0.0, high=1.0)


def suggested_batch_size(tape: backprop.Tape, options: AdAdaGradOptions) -> float:
    """b⁺ of the chosen test for the batch in ``tape`` (``inf`` when ḡ = 0 or the test cannot pass)."""
    xp = namespace(tape.logits)
    b = tape.batch_size
    g_mean = [g / (tape.scale * b) for g in tape.grads]  # ḡ = (1/b) Σ_i ∇f_i
    gg = float(tree_vdot(g_mean, g_mean))
    if gg == 0.0:
        return math.inf
    if options.test == "norm":
        sq = float(xp.sum(backprop.per_sample_sq_norms(tape)))
        s = max(sq - b * gg, 0.0) / (b - 1)
        return s / (options.eta**2 * gg)
    if options.test in ("inner_product", "augmented"):
        dots = backprop.per_sample_dots(tape, g_mean)  # ⟨∇f_i, ḡ⟩, mean gg
        dd = float(xp.sum(dots * dots))
        var_ip = max(dd - b * gg * gg, 0.0) / (b - 1)
        suggestion = var_ip / (options.theta**2 * gg * gg)
        if options.test == "augmented":
            sq = float(xp.sum(backprop.per_sample_sq_norms(tape)))
            ortho = max(sq - dd / gg, 0.0) / (b - 1)  # Σ‖∇f_i − c_i ḡ‖², the residuals have mean 0
            suggestion = max(suggestion, ortho / (options.nu**2 * gg))
        return suggestion
    # coordinate-wise
    worst = 0.0
    coord_sq = backprop.per_sample_coordinate_sq(tape)
    g_max = max(float(xp.max(xp.abs(g))) for g in g_mean)
    for sq, g in zip(coord_sq, g_mean):
        var = xp.maximum(sq - b * g * g, 0.0) / (b - 1)
        considered = (var > 0) & (xp.abs(g) >= options.coordinate_tol * g_max)
        if not bool(xp.any(considered)):
            continue
        if bool(xp.any(considered & (g == 0))):
            return math.inf
        safe = xp.where(considered, g * g, 1.0)
        ratio = xp.where(considered, var / safe, 0.0)
        worst = max(worst, float(xp.max(ratio)) / options.eta**2)
    return worst


def next_batch_size(tape: backprop.Tape, batch_size: int, options: AdAdaGradOptions, n_train: int) -> int:
    """b_{k+1} = min(max(b_k, ⌈b⁺⌉), b_max); unchanged at the cap or for a batch of one sample."""
    cap = n_train if options.max_batch_size is None else min(options.max_batch_size, n_train)
    if batch_size >= cap or tape.batch_size < 2:
        return batch_size
    suggestion = suggested_batch_size(tape, options)
    if not math.isfinite(suggestion):
        return cap
    return int(min(max(batch_size, math.ceil(suggestion)), cap))


def adadagrad(options: AdAdaGradOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """The base rule (AdaGrad or AdaGrad-Norm) with the add-ons; the batch controller runs in the loop."""
    options = AdAdaGradOptions() if options is None else options
    if options.base == "adagrad":
        rule = scale_by_adagrad(options.b0**2, options.eps)
    else:
        rule = scale_by_adagrad_norm(options.b0, options.eps, options.scope)
    return compose(rule, options, is_bias)


BASELINES = (Baseline("adadagrad", AdAdaGradOptions, adadagrad, batch_controller=next_batch_size),)
