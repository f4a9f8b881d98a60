r"""LAMB (You et al., "Training BERT in 76 minutes", ICLR 2020), the paper's Algorithm 2 as in optax.

Rule and references: ``docs/optimizers/adam.md``.

Algorithm (moments per coordinate, trust ratio per block l)::

    input   θ_0, β_1, β_2, ε, λ, φ;   m_0 = v_0 = 0
    for t = 1, 2, …
        g_t = ∇f(θ_{t−1})
        m_t = β_1 m_{t−1} + (1 − β_1) g_t,    v_t = β_2 v_{t−1} + (1 − β_2) g_t²
        r_t = m̂_t / (sqrt(v̂_t) + ε)              (m̂, v̂ bias-corrected as in Adam)
        u_t = r_t + λ θ_{t−1}
        for every block l:  θ_l ← θ_l − γ_t φ(‖θ_l‖) / ‖u_l‖ · u_l        (ratio 1 if either norm is 0)

φ(z) = min(max(z, φ_min), φ_max); the paper leaves it generic, optax uses the identity (the default
here: φ_min = 0, no φ_max); GluonNLP clamps to [1e-3, 10], cybertronai/jettify at 10. λ sits inside
the ratio (``weight_decay_style="direction"``, the default). GluonNLP and kozistr drop the bias
correction ("latest version of LAMB removed it"); amref keeps the paper's. First step with λ = 0 and
φ = identity on a block of d nonzero gradient entries: −γ ‖θ‖/sqrt(d) · sign(g).

=======  =====================  =====================================
symbol   code                   meaning
=======  =====================  =====================================
m_t,v_t  ``mu``, ``nu``         Adam's moments
φ        ``norm_clip_min/max``  clamp of ‖θ_l‖ in the ratio
=======  =====================  =====================================

Examples
--------
The first step from θ = (1, −2) with the gradient g = (0.5, −0.5):

>>> import numpy as np
>>> from amref import optim
>>> params = [np.array([[1.0, -2.0]])]
>>> grads = [np.array([[0.5, -0.5]])]
>>> opt = optim.optimizer("lamb", lr=0.1)
>>> deltas, state = opt.update(grads, opt.init(params), params)
>>> print(np.round(deltas[0], 4))
[[-0.1573  0.1589]]
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple, Sequence

from ..backend import namespace
from ..options import fraction, nonnegative
from .base import GradientTransformation, Tree, block_norm, resolve_mask, tree_zeros_like
from .lars import trust_ratio
from .options import BaselineOptions, TrustDecayStyle
from .train import Baseline
from .transforms import compose, masks

__all__ = ["BASELINES", "lamb", "LAMBOptions", "LAMBState", "scale_by_lamb"]


@dataclasses.dataclass(frozen=True)
class LAMBOptions(BaselineOptions):
    """LAMB options (paper: β = (0.9, 0.999), ε = 1e-6, λ = 0.01 inside the ratio; lr 1e-3 as optax's examples).

    Attributes
    ----------
    b1, b2 : float
        β₁, β₂ ∈ [0, 1): decay rates of Adam's moments.
    eps : float
        ε ≥ 0 added to the root of the second moment.
    weight_decay_style : {"direction", "l2", "decoupled", "fixed", "proximal"}
        ``"direction"`` (the paper's): λθ joins the Adam direction inside the trust ratio.
    norm_clip_min : float
        φ_min ≥ 0: lower clamp of ‖θ_l‖ in the trust ratio.
    norm_clip_max : float or None
        φ_max > φ_min: upper clamp of ‖θ_l‖ (None: none).
    trust_biases : bool
        Apply the trust ratio to bias blocks too (False: ratio 1 for them).
    """

    lr: float = 1e-3
    b1: float = fraction(0.9)
    b2: float = fraction(0.999)
    eps: float = nonnegative(1e-6)
    weight_decay: float = 0.01
    weight_decay_style: TrustDecayStyle = "direction"
    norm_clip_min: float = nonnegative(0.0)
    norm_clip_max: float | None = None
    trust_biases: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.norm_clip_max is not None and not self.norm_clip_max > self.norm_clip_min:
            raise ValueError(f"norm_clip_max must be > norm_clip_min = {self.norm_clip_min!r}, "
                             f"got {self.norm_clip_max!r}")


class LAMBState(NamedTuple):
    count: int
    mu: list
    nu: list


def scale_by_lamb(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-6, weight_decay: float = 0.0,
                  norm_clip_min: float = 0.0, norm_clip_max: float | None = None,
                  decay_mask: Sequence[bool] | None = None, adapt_mask: Sequence[bool] | None = None
                  ) -> GradientTransformation:
    """u_l scaled by φ(‖θ_l‖)/‖u_l‖ (module docstring)."""
    upper = math.inf if norm_clip_max is None else norm_clip_max

    def init(params: Tree) -> LAMBState:
        return LAMBState(count=0, mu=tree_zeros_like(params), nu=tree_zeros_like(params))

    def update(grads: Tree, state: LAMBState, params: Tree | None = None, **extras: Any):
        if params is None:
            raise ValueError("LAMB needs the parameters: call update(grads, state, params)")
        xp = namespace(*grads)
        decay = resolve_mask(decay_mask, len(grads))
        adapt = resolve_mask(adapt_mask, len(grads))
        t = state.count + 1
        mu = [b1 * m + (1.0 - b1) * g for m, g in zip(state.mu, grads)]
        nu = [b2 * v + (1.0 - b2) * g * g for v, g in zip(state.nu, grads)]
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        direction = []
        for m, v, w, dec, ada in zip(mu, nu, params, decay, adapt):
            u = (m / c1) / (xp.sqrt(v / c2) + eps)
            if dec and weight_decay:
                u = u + weight_decay * w
            if ada:
                phi = xp.clip(block_norm(w), norm_clip_min, upper)
                u = trust_ratio(xp, phi, block_norm(u)) * u
            direction.append(u)
        return direction, LAMBState(count=t, mu=mu, nu=nu)

    return GradientTransformation(init, update)


def lamb(options: LAMBOptions | None = None, is_bias: list[bool] | None = None) -> GradientTransformation:
    """LAMB with the add-ons of :func:`~amref.optim.transforms.compose`."""
    options = LAMBOptions() if options is None else options
    m = masks(options, is_bias)
    inner = options.weight_decay if options.weight_decay_style == "direction" else 0.0
    rule = scale_by_lamb(options.b1, options.b2, options.eps, inner, options.norm_clip_min, options.norm_clip_max,
                         m.decay, m.adapt)
    return compose(rule, options, is_bias)


BASELINES = (Baseline("lamb", LAMBOptions, lamb),)
