r"""Closed forms and bounded inner solvers shared by the AM solvers.

==================  ===================================================================================
name                what it solves
==================  ===================================================================================
doubling_step       the backtracking search "t ← t·γ̄ until φ(X⁺) ≤ φ(X₀)+⟨G,X⁺−X₀⟩+t/2‖X⁺−X₀‖²",
                    X⁺ = X₀ − G/t, **in closed form** for a quadratic φ: the test holds
                    exactly when t ≥ ⟨G, H G⟩/‖G‖², so the accepted t is the first t₀γ̄ᵏ above that
                    threshold. No loop, and the caller supplies ⟨G,HG⟩ from a product it needs anyway.
doubling_search     the literal loop above, bounded, kept as the reference the closed form is tested
                    against (and for non-quadratic or projected blocks).
relu_prox           argmin_z α(z−m)² + β(a − relu z)² + δ(z − z_prev)², elementwise: the best point of
                    each branch (z ≤ 0, z ≥ 0), compared on the **full** objective.
activation_prox     the same for any hidden activation: ReLU through relu_prox (and its Numba kernel),
                    every other through :func:`amref.activations.prox` (closed form per linear piece;
                    bounded enumeration of the stationary points for sigmoid and tanh).
linearized_*_step   one prox-linear step on a weight block or an input block of a linear layer, with the
                    closed-form backtracking; bias_step the exact (or paper-literal) bias block.
solve_zl            argmin_z R(z; y) + ρ/2‖z − m‖² (the output-layer z_L subproblem): FISTA with the
                    provably safe step 1/H = 2 (the papers' method), or per-column Newton (exact).
loss_prox           the same subproblem for any output loss of :mod:`amref.losses`: the loss record's
                    closed-form ``prox`` (squared, hinge), :func:`solve_zl` for the cross-entropy.
==================  ===================================================================================

Every loop here is bounded by a named option.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Literal

from .. import kernels
from ..activations import BISECTION_STEPS, Activation
from ..activations import get as get_activation
from ..activations import prox as _activation_prox
from ..backend import Array, eps, namespace, sum_of_squares
from ..losses import (CROSS_ENTROPY, CROSS_ENTROPY_LIPSCHITZ, Loss, cross_entropy_and_grad, cross_entropy_columns,
                      log_softmax)
from ..losses import get as get_loss
from ..options import Options, number, positive

__all__ = [
    "activation_prox",
    "add_scaled_difference",
    "bias_step",
    "doubling_search",
    "doubling_step",
    "fista_zl",
    "linearized_input_step",
    "linearized_weight_step",
    "loss_prox",
    "newton_zl",
    "relu_prox",
    "relu_prox_xp",
    "solve_zl",
    "ZLInfo",
    "ZLOptions",
]


# ----------------------------------------------------------------------------- backtracking
def doubling_step(
    t0: float, curvature: float, grad_sq: float, factor: float = 2.0, max_doublings: int | None = None
) -> tuple[float, bool]:
    """The step constant a doubling backtracking search accepts on a quadratic block, without the loop.

    For X⁺ = X₀ − G/t on a quadratic φ with Hessian H the sufficient-decrease test
    ``φ(X⁺) ≤ φ(X₀) + ⟨G, X⁺−X₀⟩ + t/2‖X⁺−X₀‖²`` reduces to ``⟨G,HG⟩ ≤ t‖G‖²``. The search tries
    t = t₀, t₀γ̄, t₀γ̄², … and stops at the first that passes.

    Parameters
    ----------
    t0
        Initial constant (θ or τ in dlADMM).
    curvature
        ⟨G, H G⟩.
    grad_sq
        ‖G‖².
    factor
        γ̄ > 1, the paper's growth factor (2 in every code).
    max_doublings
        ``None`` (the paper: no cap) or the number of growths allowed after t₀ (mDLAM and pdADMM-G
        code: 10). When the search would need more, the block is left unchanged.

    Returns
    -------
    (t, accepted)
        The accepted constant, and False when the cap was hit (the caller keeps X₀).
    """
    if not (t0 > 0 and math.isfinite(t0)):
        raise ValueError(f"backtracking start must be positive and finite, got {t0}")
    if not factor > 1:
        raise ValueError(f"backtracking factor must be > 1, got {factor}")
    if not (math.isfinite(curvature) and math.isfinite(grad_sq)):
        return t0, False
    if grad_sq <= 0.0 or curvature <= t0 * grad_sq:
        return t0, True
    scale = t0 * grad_sq
    ratio = curvature / scale if scale > 0.0 else math.inf
    if math.isfinite(scale) and math.isfinite(ratio):
        k = max(1, math.ceil(math.log(ratio) / math.log(factor)))
        # correct a possible off-by-one from rounding in the logarithms (at most one step each way)
        if k > 1 and curvature <= t0 * factor ** (k - 1) * grad_sq:
            k -= 1
        if curvature > t0 * factor**k * grad_sq:
            k += 1
    else:  # t0·‖G‖² under- or overflows: count the doublings in logarithms (no product is formed)
        k = _log_doublings(t0, curvature, grad_sq, factor)
    if max_doublings is not None and k > max_doublings:
        return _grown(t0, factor, max_doublings), False
    t = _grown(t0, factor, k)
    if not math.isfinite(t):  # no representable constant passes: leave the block unchanged
        return t0, False
    return t, True


def _grown(t0: float, factor: float, k: int) -> float:
    """t₀·γ̄ᵏ; when γ̄ᵏ alone overflows (a subnormal t₀), in factors that fit (inf if the product does not)."""
    try:
        return t0 * factor**k
    except OverflowError:
        chunk = max(1, int(300.0 / math.log10(factor)))  # γ̄^chunk ≤ 1e300
        t = t0
        while k > 0 and math.isfinite(t):
            t *= factor ** min(k, chunk)
            k -= chunk
        return t


def _log_doublings(t0: float, curvature: float, grad_sq: float, factor: float) -> int:
    """The least k ≥ 1 with log ⟨G,HG⟩ ≤ log t₀ + k log γ̄ + log ‖G‖² (products that would under/overflow)."""
    gap = math.log(curvature) - math.log(t0) - math.log(grad_sq)
    step = math.log(factor)
    k = max(1, math.ceil(gap / step))
    if k > 1 and gap <= (k - 1) * step:
        k -= 1
    if gap > k * step:
        k += 1
    return k


def doubling_search(
    phi: Callable[[Array], float],
    x0: Array,
    grad: Array,
    t0: float,
    factor: float = 2.0,
    max_tests: int = 64,
    project: Callable[[Array], Array] | None = None,
) -> tuple[Array, float, bool]:
    """The literal backtracking loop of the papers (their Algorithms 2–5), bounded by ``max_tests``.

    Tries ``X⁺ = P(X₀ − G/t)`` for t = t₀, t₀γ̄, … and accepts the first with
    ``φ(X⁺) ≤ φ(X₀) + ⟨G, X⁺−X₀⟩ + t/2‖X⁺−X₀‖²``. ``P`` is an optional projection (mDLAM's band).

    Returns
    -------
    (X, t, accepted)
        The accepted point, its t, and whether a test passed within ``max_tests`` (else X₀).
    """
    xp = namespace(x0, grad)
    f0 = phi(x0)
    t = t0
    for _ in range(max_tests):
        x = x0 - grad / t
        if project is not None:
            x = project(x)
        d = x - x0
        if phi(x) <= f0 + float(xp.sum(grad * d)) + 0.5 * t * float(xp.sum(d * d)):
            return x, t, True
        t *= factor
    return x0, t, False


# ----------------------------------------------------------------------------- linear-layer blocks
def linearized_weight_step(
    W: Array,
    a: Array,
    m: Array,
    target: Array,
    weight: float,
    t0: float,
    *,
    decay: float = 0.0,
    factor: float = 2.0,
    max_doublings: int | None = None,
    overwrite_W: bool = False,
    overwrite_m: bool = False,
) -> tuple[Array, Array, float]:
    """One prox-linear step on the weight block ``φ(W) = (w/2)‖t − W a − b1ᵀ‖² + (μ/2)‖W‖²``.

    ``W⁺ = W − G/θ`` with ``G = ∇φ(W) = −w (t − m) aᵀ + μW`` (m = W a + b1ᵀ, kept by the caller) and θ the
    constant the doubling backtracking accepts, in closed form: for this quadratic ⟨G, HG⟩ = w‖G a‖² + μ‖G‖²,
    and the product G a gives both that and the new ``m⁺ = m − G a/θ``. This is the W-step of dlADMM
    (Eqs 9, 11), pdADMM (step 2) and mDLAM; each paper's module documents its own instance.

    ``overwrite_W``, ``overwrite_m``: write W⁺, m⁺ into W, m (only for arrays the caller created itself in
    this iteration, never for a state it was given).

    Returns
    -------
    (W⁺, m⁺, θ)
        W and m unchanged when ``max_doublings`` was hit.
    """
    G = (-weight) * ((target - m) @ a.T)
    if decay:
        G = G + decay * W
    Ga = G @ a
    GG = sum_of_squares(G)
    theta, ok = doubling_step(t0, weight * sum_of_squares(Ga) + decay * GG, GG, factor, max_doublings)
    if not ok:
        return W, m, theta
    return (_sub_div(W, G, theta, overwrite=overwrite_W), _sub_div(m, Ga, theta, reuse=True, overwrite=overwrite_m),
            theta)


def linearized_input_step(
    x: Array,
    g: Array,
    W: Array,
    m: Array,
    weight: float,
    shift: float,
    t0: float,
    *,
    factor: float = 2.0,
    max_doublings: int | None = None,
    overwrite_x: bool = False,
    overwrite_m: bool = False,
    reuse_g: bool = False,
) -> tuple[Array, Array, float]:
    """One prox-linear step ``x⁺ = x − g/τ`` on a block that enters the next layer as ``m = W x + b1ᵀ``.

    The block objective is ``(w/2)‖t − W x − b‖²`` plus a term whose Hessian is ``shift · I`` (dlADMM's
    ``(ν/2)‖a − f(z)‖²``, pdADMM's ``⟨u, p − q⟩ + (ρ/2)‖p − q‖²``); the caller computes the gradient ``g``
    from its paper's equation. ⟨g, Hg⟩ = w‖W g‖² + shift‖g‖², so τ is the closed-form doubling constant and
    ``W g`` also gives ``m⁺ = m − W g/τ``. Returns ``(x⁺, m⁺, τ)`` (unchanged when the cap was hit);
    ``overwrite_x``, ``overwrite_m`` write them into x, m (as in :func:`linearized_weight_step`); ``reuse_g``
    (g is the caller's temporary) lets x⁺ go into g when x is not overwritten.
    """
    Wg = W @ g
    gg = sum_of_squares(g)
    tau, ok = doubling_step(t0, weight * sum_of_squares(Wg) + shift * gg, gg, factor, max_doublings)
    if not ok:
        return x, m, tau
    m = _sub_div(m, Wg, tau, reuse=True, overwrite=overwrite_m)
    del Wg  # freed before x⁺ is allocated (one n × N array less at the peak)
    return _sub_div(x, g, tau, reuse=reuse_g, overwrite=overwrite_x), m, tau


def _sub_div(x: Array, g: Array, t: float, reuse: bool = False, overwrite: bool = False) -> Array:
    """``x − g/t``, bit for bit; for large NumPy arrays the fused kernel (:data:`amref.kernels.FUSED`, one pass).

    ``overwrite``: the result goes into x (the caller created x itself in this iteration; never an array of a
    state it was given). ``reuse``: g is a temporary of the caller's, and the kernel writes into g instead of
    a new array. Without the kernel, ``overwrite`` is ``x -= g / t`` (the same bits) and ``reuse`` is ignored.
    """
    kernel = kernels.fused("sub_div", x, g)
    if kernel is not None:
        return kernel(x, g, t, out=x if overwrite else g if reuse else None)
    if overwrite:
        x -= g / t
        return x
    return x - g / t


def bias_step(b: Array, m: Array, target: Array, rule: str = "exact", *, overwrite_m: bool = False
              ) -> tuple[Array, Array]:
    """The bias block of ``(w/2)‖t − W a − b1ᵀ‖²`` (its minimiser does not depend on w).

    ``"exact"``: ``b⁺ = b + mean_j (t − m)_j``, the block minimiser (the released codes' column mean, and
    the papers' model ``U(b; B)`` with the smallest B = wN that majorises a loss summed over N samples).
    ``"paper-literal"``: ``b⁺ = b − ∇_bφ/B`` with B = w as the papers print it, i.e. ``b + Σ_j (t − m)_j``;
    with summed losses it overshoots by a factor N (it diverges for N > 2) and is kept so that can be checked.
    Returns ``(b⁺, m⁺)``; ``overwrite_m`` writes m⁺ into m (as in :func:`linearized_weight_step`).
    The row means come from the Numba kernel ``row_mean_difference`` (:func:`amref.kernels.fused`) where
    :func:`amref.kernels.use_jit` allows (one pass, no ``t − m`` temporary; summed in float64, so they can
    differ from NumPy's pairwise sum in the last bits).
    """
    if rule not in ("exact", "paper-literal"):
        raise ValueError(f"bias step must be 'exact' or 'paper-literal', got {rule!r}")
    xp = namespace(b, m, target)
    kernel = kernels.fused("row_mean_difference", target, m)
    if kernel is not None:
        delta = kernel(target, m, rule == "exact")
    else:
        r = target - m
        delta = xp.mean(r, axis=1, keepdims=True) if rule == "exact" else xp.sum(r, axis=1, keepdims=True)
    if overwrite_m:
        m += delta
        return b + delta, m
    return b + delta, m + delta


def add_scaled_difference(p: Array, c: float, a: Array, b: Array, *, relu_b: bool = False,
                          overwrite: bool = False) -> Array:
    """``p + c·(a − b)`` (a gradient: a product plus a penalty's term); ``overwrite=True`` writes it into ``p``.

    ``relu_b=True``: ``p + c·(a − relu(b))``, b being a pre-activation z (relu(z) is then never stored).
    ``overwrite`` only for an array the caller created itself; one pass with the Numba kernel (``fused``
    ``"add_scaled_difference"`` of :mod:`amref.kernels`), bit for bit ``p + c * (a - b)`` either way.
    """
    kernel = kernels.fused("add_scaled_difference", p, a, b)
    if kernel is not None:
        return kernel(p, c, a, b, p if overwrite else None, relu_b)
    if relu_b:
        b = get_activation("relu").value(b)
    if overwrite:
        p += c * (a - b)
        return p
    return p + c * (a - b)


# ----------------------------------------------------------------------------- ReLU z-subproblem
def relu_prox(
    m: Array,
    a: Array,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    z_prev: Array | None = None,
    delta: float = 0.0,
    compare: Literal["full", "without_prox"] = "full",
) -> Array:
    r"""Elementwise ``argmin_z α(z − m)² + β(a − relu z)² + δ(z − z_prev)²``.

    Branch z ≤ 0: ``c₁ = min((αm + δz_prev)/(α + δ), 0)``; branch z ≥ 0:
    ``c₂ = max((αm + βa + δz_prev)/(α + β + δ), 0)``; the smaller objective wins (ties → c₁, as in
    the codes). dlADMM Eq 4/14 is α = β = 1, δ = 0; pdADMM's z-step is α = β = δ = 1.

    Parameters
    ----------
    m, a
        Linear target ``W a_{l-1} + b`` and the layer output a_l (same shape).
    alpha, beta, delta
        Positive weights (δ ≥ 0).
    z_prev
        Proximal centre (required when δ > 0).
    compare
        ``"full"`` compares the branches on the whole objective. ``"without_prox"`` reproduces the
        pdADMM / pdADMM-G code, which drops the δ term from the comparison.

    The Numba kernel replaces the array-API code for NumPy arrays as :func:`amref.kernels.use_jit` says.
    """
    if not (alpha > 0 and beta > 0 and delta >= 0):
        raise ValueError(f"relu_prox needs alpha > 0, beta > 0, delta >= 0; got {alpha}, {beta}, {delta}")
    if delta > 0 and z_prev is None:
        raise ValueError("relu_prox: delta > 0 needs z_prev")
    if compare not in ("full", "without_prox"):
        raise ValueError(f"compare must be 'full' or 'without_prox', got {compare!r}")
    xp = namespace(m, a, z_prev)
    if delta == 0:
        z_prev = None
    kernel = kernels.relu_prox(xp, size=math.prod(m.shape))
    if kernel is not None:
        return kernel(m, a, alpha, beta, z_prev, delta, compare == "full")
    return relu_prox_xp(m, a, alpha=alpha, beta=beta, z_prev=z_prev, delta=delta, compare=compare)


def relu_prox_xp(m, a, *, alpha=1.0, beta=1.0, z_prev=None, delta=0.0, compare="full"):
    """Array-API implementation of :func:`relu_prox` (the reference the Numba kernel is tested against)."""
    xp = namespace(m, a, z_prev)
    if z_prev is None or delta == 0:
        c1 = xp.minimum(m, 0.0)
        c2 = xp.maximum((alpha * m + beta * a) / (alpha + beta), 0.0)
        f1 = alpha * (c1 - m) ** 2 + beta * a**2
        f2 = alpha * (c2 - m) ** 2 + beta * (a - c2) ** 2
    else:
        c1 = xp.minimum((alpha * m + delta * z_prev) / (alpha + delta), 0.0)
        c2 = xp.maximum((alpha * m + beta * a + delta * z_prev) / (alpha + beta + delta), 0.0)
        f1 = alpha * (c1 - m) ** 2 + beta * a**2
        f2 = alpha * (c2 - m) ** 2 + beta * (a - c2) ** 2
        if compare == "full":
            f1 = f1 + delta * (c1 - z_prev) ** 2
            f2 = f2 + delta * (c2 - z_prev) ** 2
    return xp.where(f2 < f1, c2, c1)


def activation_prox(
    activation: str | Activation,
    m: Array,
    a: Array,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    z_prev: Array | None = None,
    delta: float = 0.0,
    compare: Literal["full", "without_prox"] = "full",
    steps: int = BISECTION_STEPS,
) -> Array:
    r"""Elementwise global ``argmin_z α(z − m)² + β(a − h(z))² + δ(z − z_prev)²`` for the hidden activation h.

    ReLU: :func:`relu_prox` (the Numba kernel where enabled; bit for bit what every solver computed before
    activations were options). Any other: :func:`amref.activations.prox` — a closed form per linear piece
    (leaky ReLU, hard tanh, linear, step), or the bounded enumeration of the stationary points with
    ``steps`` bisection halvings (sigmoid, tanh; for NumPy arrays the Numba kernel
    :func:`amref.kernels.tanh_prox` runs that enumeration where :func:`amref.kernels.use_jit` allows).
    """
    act = get_activation(activation)
    if act.name == "relu":
        return relu_prox(m, a, alpha=alpha, beta=beta, z_prev=z_prev, delta=delta, compare=compare)
    kernel = None if act.piecewise_linear else kernels.tanh_prox(namespace(m, a, z_prev), size=m.size)
    return _activation_prox(act, m, a, alpha=alpha, beta=beta, z_prev=z_prev, delta=delta, compare=compare,
                            steps=steps, kernel=kernel)


# ----------------------------------------------------------------------------- z_L subproblem
@dataclasses.dataclass(frozen=True)
class ZLOptions(Options):
    """How the output-layer subproblem ``min_z R(z; y) + ρ/2‖z − m‖²`` is solved.

    Attributes
    ----------
    method : {"fista", "newton"}
        ``"fista"`` (the papers' method) or ``"newton"``: per-column Newton with an exact
        Sherman–Morrison solve of ``(diag p − p pᵀ + ρI) d = g`` and an Armijo line search; it reaches
        machine precision in a few iterations and is the fast exact alternative.
    fista_step : float
        FISTA step η. Default 1/H = 2, the largest step the convergence theory allows
        (H = 1/2 is the Lipschitz constant of ∇R). The released codes use η = 4, which is not
        provably safe.
    fista_max_iter : int
        FISTA iteration cap (codes: dlADMM/mDLAM/pdADMM 500, pdADMM-G 50).
    fista_tol : float
        FISTA stops when ``|F(z_k) − F(z_{k−1})| < fista_tol`` (absolute, on the summed objective, as
        in the codes: dlADMM/pdADMM 1e-3, mDLAM 1e-4).
    newton_max_iter : int
        Newton iteration cap.
    newton_tol : float
        Newton stops when every column's gradient has max-norm ≤ ``max(newton_tol, 16·eps·(1 + ρ)·s_j)``
        with ``s_j = 1 + max_i max(|z_ij|, |m_ij|)``: the gradient cannot be evaluated more accurately
        than that (``exp(z − lse)`` and ``ρ(z − m)`` round at the scale of z), so a smaller target would
        only run to the cap in float32 or on saturated columns.
    newton_max_halvings : int
        Cap on the Armijo step halvings per Newton iteration.
    armijo : float
        Armijo sufficient-decrease constant.
    """

    method: Literal["fista", "newton"] = "fista"
    fista_step: float = positive(1.0 / CROSS_ENTROPY_LIPSCHITZ)
    fista_max_iter: int = number(500, low=1)
    fista_tol: float = positive(1e-3)
    newton_max_iter: int = number(50, low=1)
    newton_tol: float = positive(1e-10)
    newton_max_halvings: int = number(40, low=1)
    armijo: float = number(1e-4, low=0.0, high=0.5, low_open=True, high_open=True)


@dataclasses.dataclass(frozen=True)
class ZLInfo:
    """Diagnostics of one z_L solve."""

    iterations: int
    converged: bool


def solve_zl(
    m: Array, y: Array, rho: float, z0: Array, options: ZLOptions = ZLOptions()
) -> tuple[Array, ZLInfo]:
    """``argmin_z R(z; y) + ρ/2‖z − m‖²`` for the summed softmax cross-entropy R, warm-started at ``z0``."""
    if not (rho > 0 and math.isfinite(rho)):
        raise ValueError(f"the z_L subproblem needs rho > 0, got {rho}")
    if options.method == "newton":
        return newton_zl(m, y, rho, z0, options)
    return fista_zl(m, y, rho, z0, options)


def fista_zl(m, y, rho, z0, options: ZLOptions = ZLOptions()):
    r"""FISTA (Beck & Teboulle) on ``F(z) = R(z; y) + ρ/2‖z − m‖²``: R linearised, the quadratic exact.

    ``x_k = argmin_ζ ⟨∇R(v_k), ζ − v_k⟩ + ‖ζ − v_k‖²/(2η) + ρ/2‖ζ − m‖² = (v_k − η∇R(v_k) + ρηm)/(1 + ρη)``,
    ``λ_{k+1} = (1 + √(1 + 4λ_k²))/2``, ``v_{k+1} = x_k + (λ_k − 1)/λ_{k+1} · (x_k − x_{k−1})``, v_1 = x_0 = z0.

    As in the codes, F is evaluated where the gradient is taken (v_k, one fused pass gives both) and
    the loop stops when ``|F(v_k) − F(v_{k−1})| < fista_tol`` or after ``fista_max_iter`` steps. The
    prox point x_k is returned (the codes return the extrapolated v_k, which is not a FISTA iterate).
    """
    xp = namespace(m, y, z0)
    eta = options.fista_step
    lam = 1.0
    x_prev = v = z0
    f_prev = math.inf
    for k in range(1, options.fista_max_iter + 1):
        g, r = cross_entropy_and_grad(v, y)
        f = float(r) + 0.5 * rho * float(xp.sum((v - m) ** 2))
        if abs(f - f_prev) < options.fista_tol:
            return x_prev, ZLInfo(k - 1, True)
        x = (v - eta * g + (rho * eta) * m) / (1.0 + rho * eta)
        lam_next = (1.0 + math.sqrt(1.0 + 4.0 * lam * lam)) / 2.0
        v = x + ((lam - 1.0) / lam_next) * (x - x_prev)
        x_prev, f_prev, lam = x, f, lam_next
    return x_prev, ZLInfo(options.fista_max_iter, False)


def newton_zl(m, y, rho, z0, options: ZLOptions = ZLOptions()):
    r"""Per-column damped Newton on ``F_j(z) = R(z_j; y_j) + ρ/2‖z_j − m_j‖²``.

    Column Hessian ``H = diag(p) − p pᵀ + ρI`` (p = softmax z_j); with ``D = diag(p) + ρI`` the
    Sherman–Morrison formula gives ``H⁻¹g = D⁻¹g + D⁻¹p · (pᵀD⁻¹g)/(1 − pᵀD⁻¹p)``, where the denominator
    is computed cancellation-free as ``ρ Σ_i p_i/(p_i + ρ)``. Each column takes the Armijo step
    ``z_j ← z_j − α_j d_j`` with the largest α_j ∈ {1, ½, ¼, …} that passes.
    """
    xp = namespace(m, y, z0)
    e = eps(z0)
    m_scale = xp.max(xp.abs(m), axis=0, keepdims=True)

    def gradient_and_precision(z):
        """log p, p, the gradient g, the column scales s_j, and whether every column has converged."""
        logp = log_softmax(z)
        p = xp.exp(logp)
        g = p - y + rho * (z - m)
        scale = 1.0 + xp.maximum(m_scale, xp.max(xp.abs(z), axis=0, keepdims=True))  # s_j
        tol = xp.maximum(16 * e * (1.0 + rho) * scale, xp.full_like(scale, options.newton_tol))
        return logp, p, g, scale, bool(xp.all(xp.max(xp.abs(g), axis=0, keepdims=True) <= tol))

    z = z0
    for k in range(1, options.newton_max_iter + 1):
        logp, p, g, scale, converged = gradient_and_precision(z)
        if converged:
            return z, ZLInfo(k - 1, True)
        dinv = 1.0 / (p + rho)
        s = dinv * g
        w = dinv * p
        denom = rho * xp.sum(w, axis=0, keepdims=True)
        d = s + w * (xp.sum(p * s, axis=0, keepdims=True) / denom)
        slope = xp.sum(g * d, axis=0, keepdims=True)
        f0 = -xp.sum(y * logp, axis=0, keepdims=True) + 0.5 * rho * xp.sum((z - m) ** 2, axis=0, keepdims=True)
        # F is evaluated to ≈ eps·(|F| + s_j): log-sum-exp carries an absolute error at the scale of z
        slack = 16 * e * (xp.abs(f0) + scale)
        step = xp.ones_like(slope)
        done = xp.zeros(slope.shape, dtype=xp.bool)
        z_new = z
        for _ in range(options.newton_max_halvings):
            trial = z - step * d
            f_trial = cross_entropy_columns(trial, y) + 0.5 * rho * xp.sum((trial - m) ** 2, axis=0, keepdims=True)
            ok = (f_trial <= f0 - options.armijo * step * slope + slack) & ~done
            z_new = xp.where(ok, trial, z_new)
            done = done | ok
            if bool(xp.all(done)):
                break
            step = xp.where(done, step, 0.5 * step)
        if not bool(xp.any(done)):
            return z, ZLInfo(k, False)  # no column can decrease F any more: rounding level
        z = z_new
    return z, ZLInfo(options.newton_max_iter, gradient_and_precision(z)[-1])


# ----------------------------------------------------------------------------- any output loss
def loss_prox(
    loss: str | Loss,
    c: Array,
    y: Array,
    rho: float,
    z0: Array | None = None,
    options: ZLOptions = ZLOptions(),
) -> tuple[Array, ZLInfo]:
    r"""``argmin_z R(z; y) + ρ/2‖z − c‖²`` for the output loss ``loss`` (a name or a :class:`~amref.losses.Loss`).

    The loss's closed-form ``prox`` where it has one (squared, hinge; ``info.iterations`` is 0);
    otherwise (the cross-entropy) :func:`solve_zl`, warm-started at ``z0`` (default ``c``).
    """
    record = get_loss(loss)
    if not (rho > 0 and math.isfinite(rho)):
        raise ValueError(f"loss_prox needs rho > 0, got {rho}")
    if record.prox is not None:
        return record.prox(c, y, rho), ZLInfo(0, True)
    if record is not CROSS_ENTROPY:
        raise ValueError(f"loss {record.name!r} has neither a closed-form prox nor an inner solver")
    return solve_zl(c, y, rho, c if z0 is None else z0, options)
