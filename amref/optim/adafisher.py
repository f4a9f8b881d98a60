r"""AdaFisher (Gomes et al., ICLR 2025), the official code's form (AtlasAnalyticsLab/AdaFisher; ``docs/optimizers/curvature.md``).

A diagonal of a Kronecker-factored (K-FAC) empirical Fisher for every linear layer. For layer l with
inputs a (n_{l−1} × B) and output gradients s = ∂ℓ/∂z_l of the **mean** batch loss (n_l × B)::

    Ĥ_l = (1/B) Σ_b ā_b ∘ ā_b,  ā = [a; 1]        Ŝ_l = (1/B) Σ_b s_b ∘ s_b
                                                    (both from :func:`amref.backprop.fisher_factors`)
    x′  = (x − min x) / (max x − min x + 1e-6)      (min–max normalisation, ±inf → 1/0 first)

Algorithm::

    input   θ_0, β, γ_EMA, λ_F, T_cov, κ;   m_0 = 0
    for k = 0, 1, … (t = k + 1)
        g_t = ∇f(θ_{t−1})                                     (+ κθ for AdaFisher's L2 decay)
        if k mod T_cov = 0:                                    (factors start at ones before the first)
            H_l ← 0.1 γ_EMA H_l + 0.01 γ_EMA Ĥ_l′,   S_l ← 0.1 γ_EMA S_l + 0.01 γ_EMA Ŝ_l′
        F̃_l[i, j] = S_{l,i} H_{l,j} + λ_F      (n_l × (n_{l−1}+1); the last column is the bias's)
        m_t = β m_{t−1} + (1 − β) g_t
        θ_t = θ_{t−1} − γ_t (m_t / (1 − β^t)) ⊘ F̃          (no square root; − γ_t κθ for AdaFisherW)

AdaFisher (coupled L2 decay, ``weight_decay_style="l2"``, default) and AdaFisherW (``"decoupled"``)
differ only in the decay. Blocks without factors (anything that is not an MLP ``[W, b]`` pair, or a
run where ``fisher`` is never passed) use F̃ = 1. The EMA coefficients are the current code's
0.1·γ and 0.01·γ with γ = 0.8 (the original code's 1 − 0.92 and 0.008: the same numbers); the paper's
displayed EMA may be written differently.

Scale pitfall (spec's derivation from the code's constants): the normalised inputs are ≤ 1 and the
EMA weights sum to 0.088, so the factors shrink geometrically; from the third refresh on S H ≲ 8e-5 ≪
λ_F and F̃ ≈ λ_F: AdaFisher then behaves like EMA-momentum SGD with step γ/λ_F (= 1 by default),
modulated by at most ~8% per coordinate. Reproduced faithfully; report it when comparing.

=======  ==================  ================================================
symbol   code                meaning
=======  ==================  ================================================
H_l,S_l  ``factors``         EMA Kronecker diagonals per layer ((S, H) pairs)
m_t      ``mu``              EMA of gradients
λ_F      ``damping``         1e-3
γ_EMA    ``gamma``           0.8
T_cov    ``update_every``    100
=======  ==================  ================================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("adafisher", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.05  0.05]]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from .. import backprop
from ..backend import namespace
from ..options import fraction, number, positive
from .base import GradientTransformation, Tree, tree_zeros_like
from .options import BaselineOptions, DecayStyle
from .train import Baseline, ExtraContext
from .transforms import compose

__all__ = [
    "BASELINES",
    "adafisher",
    "AdaFisherOptions",
    "AdaFisherState",
    "fisher_statistics",
    "minmax_normalise",
    "scale_by_adafisher",
]


@dataclasses.dataclass(frozen=True)
class AdaFisherOptions(BaselineOptions):
    """AdaFisher options (code: lr 1e-3, β = 0.9, λ_F = 1e-3, γ = 0.8, T_cov = 100, L2 decay).

    Attributes
    ----------
    beta : float
        β ∈ [0, 1): decay rate of the gradient average.
    damping : float
        λ_F > 0 added to the Kronecker-factored Fisher diagonal.
    gamma : float
        γ ∈ [0, 1]: scale of the factors' moving-average coefficients (0.1·γ and 0.01·γ).
    update_every : int
        T_cov: refresh the Kronecker factors every this many updates.
    weight_decay_style : {"l2", "decoupled", "fixed", "proximal"}
        ``"l2"``: AdaFisher; ``"decoupled"``: AdaFisherW.
    """

    lr: float = 1e-3
    beta: float = fraction(0.9)
    damping: float = positive(1e-3)
    gamma: float = number(0.8, low=0.0, high=1.0)
    update_every: int = number(100, low=1)
    weight_decay_style: DecayStyle = "l2"


class AdaFisherState(NamedTuple):
    count: int
    mu: list
    factors: list


def minmax_normalise(x):
    """(x − min x)/(max x − min x + 1e-6), after mapping +inf → 1 and −inf → 0."""
    xp = namespace(x)
    x = xp.where(xp.isinf(x) & (x > 0), 1.0, x)
    x = xp.where(xp.isinf(x), 0.0, x)
    lo, hi = xp.min(x), xp.max(x)
    return (x - lo) / (hi - lo + 1e-6)


def scale_by_adafisher(beta: float = 0.9, damping: float = 1e-3, gamma: float = 0.8,
                       update_every: int = 100) -> GradientTransformation:
    """u_t = (m_t/(1 − β^t)) ⊘ F̃; pass ``fisher=[(Ŝ_1, Ĥ_1), …]`` (per layer) on refresh steps."""

    def init(params: Tree) -> AdaFisherState:
        return AdaFisherState(count=0, mu=tree_zeros_like(params), factors=[])

    def update(grads: Tree, state: AdaFisherState, params: Tree | None = None, *, fisher=None, **extras: Any):
        factors = state.factors
        if fisher is not None and state.count % update_every == 0:
            if not factors:
                factors = [(namespace(S).ones_like(S), namespace(H).ones_like(H)) for S, H in fisher]
            factors = [(0.1 * gamma * S + 0.01 * gamma * minmax_normalise(S_new),
                        0.1 * gamma * H + 0.01 * gamma * minmax_normalise(H_new))
                       for (S, H), (S_new, H_new) in zip(factors, fisher)]
        t = state.count + 1
        mu = [beta * m + (1.0 - beta) * g for m, g in zip(state.mu, grads)]
        c = 1.0 - beta**t
        if factors:
            preconditioner = []
            for S, H in factors:
                n_in = H.shape[1] - 1
                preconditioner += [S * H[:, :n_in] + damping, S * H[:, n_in:] + damping]
            direction = [(m / c) / f for m, f in zip(mu, preconditioner)]
        else:
            direction = [m / c for m in mu]
        return direction, AdaFisherState(count=t, mu=mu, factors=factors)

    return GradientTransformation(init, update)


def fisher_statistics(ctx: ExtraContext):
    """The batch's (Ŝ_l, Ĥ_l) on refresh steps (``None`` otherwise, to skip the work)."""
    if ctx.step % ctx.options.update_every != 0:
        return None
    return backprop.fisher_factors(ctx.tape)


def adafisher(options: AdaFisherOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """AdaFisher (or AdaFisherW, by the decay style) with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = AdaFisherOptions() if options is None else options
    rule = scale_by_adafisher(options.beta, options.damping, options.gamma, options.update_every)
    return compose(rule, options, is_bias)


BASELINES = (Baseline("adafisher", AdaFisherOptions, adafisher, extras={"fisher": fisher_statistics}),)
