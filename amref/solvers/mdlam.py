r"""mDLAM — Wang, Li, Zhao, "Accelerated Gradient-free Neural Network Training by Multi-convex Alternating
Optimization", Neurocomputing 2022 (arXiv 1811.04187v3: DLAM = Algorithm 1, mDLAM = Algorithm 2).

Problem 2 of the paper: the activation equalities a_l = f(z_l) become bands of half-width ε, the linear
equalities a quadratic penalty (no duals)::

    min  F(W, b, z, a) = R(z_L; y) + Σ_{l=1}^{L} Ω(W_l) + Σ_{l=1}^{L} (ρ/2)‖z_l − W_l a_{l−1} − b_l‖²
    s.t. f(z_l) − ε ≤ a_l ≤ f(z_l) + ε    (l = 1 … L−1),   a_0 = x

F is convex in each of W, b, z, a separately (multi-convex); ρ → ∞, ε → 0 recovers the MLP.

Algorithm 2 (mDLAM), iteration k: Nesterov weights ``s⁰ = 0, s^{k+1} = (1 + √(1 + 4 s_k²))/2,
ω^k = (s^k − 1)/s^{k+1}``, extrapolation ``X̂ = X^k + ω^k (X^k − X^{k−1})``; one forward sweep::

    for l = 1 … L:
      W_l  Ŵ = W^k + ω(W^k − W^{k−1});  W⁺ = Ŵ − ∇_Wφ(Ŵ)/θ, θ by backtracking (P(W⁺;θ) ≥ φ(W⁺))   (W-step)
           safeguard: if F(W⁺) > F(W^k), redo from Ŵ = W^k
      b_l  exact block minimiser  b⁺ = b + mean_j(z_l − W_l a_{l−1} − b_l)_j      (released code; see below)
      z_l  l < L: z⁺ = clip(W_l a_{l−1} + b_l, B1, B2), [B1, B2] = {z : f(z) − ε ≤ a^k_l ≤ f(z) + ε}  (z-step)
                  ReLU: B2 = a + ε, B1 = a − ε where a > ε, else −∞
           l = L: z⁺ = argmin R(z; y) + (ρ/2)‖z − W_L a_{L−1} − b_L‖²
      a_l  (l < L) â = a^k + ω(a^k − a^{k−1});
           a⁺ = clip(â − ∇_aφ(â)/τ, f(z⁺_l) − ε, f(z⁺_l) + ε), ∇_aφ = −ρ W_{l+1}ᵀ(z_{l+1} − W_{l+1}â − b_{l+1})
           with the **old** W^k_{l+1}, b^k_{l+1}, z^k_{l+1}; τ by backtracking (Q(a⁺;τ) ≥ φ(a⁺))     (a-step)
           safeguard: if F(a⁺) > F(a^k), redo from â = a^k
    after the iteration: ε ← max(ε/2, ε_min)

(The z-step's quadratic model V(z) = φ(ẑ) + ⟨∇φ(ẑ), z − ẑ⟩ + (ρ/2)‖z − ẑ‖² equals φ exactly, so its
extrapolation ẑ has no effect and the step is the exact projection; it is computed directly.)
DLAM (Algorithm 1) is the same without the safeguards (:meth:`MDLAMOptions.dlam`).

=========  ============  ====================================================================================
paper      code          meaning
=========  ============  ====================================================================================
W_l, b_l   ``W, b``      weights ``n_l × n_{l−1}``, bias column ``n_l × 1`` (tuples, index l−1)
z_l        ``z``         pre-activation ``n_l × N``
a_l        ``a``         band-relaxed output ``n_l × N`` for l < L (a_0 = x is the data)
X^{k−1}    ``W_prev``,   previous iterates, for the extrapolation
           ``a_prev``
m_l        ``m``         cache of ``W_l a_{l−1} + b_l 1ᵀ`` (kept current by every step)
ρ, ε       ``rho, eps``  penalty; band half-width (ε⁰ = 100 halving to 1e-3)
s^k, ω^k   ``s``         Nesterov sequence; ω is recomputed from s each iteration
θ, τ       ``theta0``,   start values of the W- and a-backtracking (1 in the code)
           ``tau0``
=========  ============  ====================================================================================

Where amref differs from the paper or the code (``docs/papers/mdlam.md``)
-------------------------------------------------------------------------
* **The extrapolation really extrapolates.** In the released code it is a no-op (``X_old`` is assigned
  before it is used and ``t_old`` is never updated), so the code runs the non-accelerated monotone scheme;
  ``extrapolation=False`` reproduces that. ``safeguard=False`` gives DLAM.
* **The safeguard compares the block's own terms of F**, which is the same test as comparing F (the other
  terms do not change) without the code's 22 full objective evaluations per iteration. The fallback step
  from X^k is a majorise–minimise step, so F is non-increasing for any ρ, ε (Lemma 2) whatever ω is. With
  ``safeguard=True`` the z_L solve is guarded in the same way (an inexact z_L solve that raised F is
  discarded), so the guarantee does not depend on the inner solver's tolerance.
* **Biases.** The paper's network has none; amref's MLP (and the code) has them. They are updated after
  W_l by the exact block minimiser (the code's column mean; the code forgets b_2 and updates b_3 twice,
  fixed here). ``update_bias=False`` keeps b at its initial value (pass zero
  biases for the paper's bias-free model).
* Backtracking on W is closed form (:func:`~amref.solvers.subproblems.doubling_step`); the a-step projects
  onto the band before the test, so it runs the literal doubling loop with the cheap exact test
  ``ρ‖W_{l+1}d‖² ≤ τ‖d‖²`` (d = a⁺ − â; the quadratic identity of φ), bounded by ``max_doublings``
  (code: 10, then the block keeps its value) or ``search_cap``.
* ``weight_decay`` μ is Ω(W) = (μ/2)‖W‖², counted once (the code uses μ = 0.05 and counts it twice in the
  printed objective); ``band_tol`` shrinks the band by the code's 1e-9.
* z_L is solved by FISTA with the safe step 1/H = 2 (code: η = 4, tolerance 1e-4) or exact Newton.
* **Losses.** The paper uses the cross-entropy; the z_L step only needs the prox of R and Lemma 2 only
  convexity of R in z_L, so every output loss of :mod:`amref.losses` is taken (squared and hinge: the
  z_L step in closed form).
* **Activations.** Every activation of :mod:`amref.activations` trains. The paper's Assumption 1 asks for
  quasilinear f; all of amref's are non-decreasing, hence quasilinear, so the z-step's feasible set
  ``{z : a − ε ≤ f(z) ≤ a + ε}`` is an interval (:func:`amref.activations.preimage`) and the z-step the
  exact projection onto it. For the binary step that interval can be open at 0 (the point −tiny is
  returned), and F is no longer continuous in z, so Lemma 2's monotonicity is all that is claimed.
* With the ε schedule the band shrinks between iterations, so the previous a can leave the new band and F
  (which is ``+∞`` outside it) is monotone only for a fixed ε; diagnostics report ``band_violation``.

Examples
--------
>>> import numpy as np
>>> import amref
>>> from amref.solvers.mdlam import MDLAMOptions
>>> data = amref.load_dataset("digits").subset(train_size=200, test_size=100)
>>> problem = amref.MLP((64, 16, 10))
>>> result = amref.minimize(amref.get_solver("mdlam"), problem, data, MDLAMOptions(), max_iter=5)
>>> result.nit, result.success
(5, True)
>>> bool(np.all(np.diff(result.history["objective"]) <= 0))   # the penalised objective F does not increase (Lemma 2)
True
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from .. import kernels
from ..activations import Activation, layer_activations
from ..activations import get as get_activation
from ..activations import preimage
from ..backend import Array, namespace, sum_of_squares
from ..contract import SolverSpec
from ..losses import Loss
from ..losses import get as get_loss
from ..options import Options, nonnegative, number, positive
from ..problem import MLP, Params, join_params, split_params
from .subproblems import ZLOptions, bias_step, linearized_weight_step, loss_prox

__all__ = [
    "SOLVER",
    "band_z",
    "diagnostics",
    "end_iteration",
    "init_state",
    "MDLAMOptions",
    "MDLAMState",
    "nesterov",
    "objective",
    "params",
    "step",
    "update_a",
    "update_b",
    "update_W",
    "update_z_last",
]


@dataclasses.dataclass(frozen=True)
class MDLAMOptions(Options):
    """mDLAM options; defaults are the paper's (Sec 5.1, Table 3: Cora ρ = 1e-3, ε⁰ = 100).

    Attributes
    ----------
    rho : float
        ρ (Table 3: Cora 1e-3, PubMed 1e-2, Citeseer 5e-3, Coauthor CS 1e-4).
    eps0 : float
        Initial band half-width ε⁰ (100).
    eps_schedule : {"halving", "constant"}
        ``"halving"``: ε ← max(ε·eps_factor, eps_min) after every iteration (paper and code).
    eps_factor, eps_min : float
        0.5 and 1e-3.
    extrapolation : bool
        Nesterov extrapolation (paper). False: the released code's effective behaviour.
    safeguard : bool
        The monotone restart of mDLAM; False gives DLAM.
    update_bias : bool
        Update b_l by its exact block minimiser (code); False keeps b fixed.
    weight_decay : float
        μ ≥ 0 of Ω(W) = (μ/2)‖W‖² (code 0.05).
    theta0, tau0 : float
        Backtracking start values (1).
    backtrack_factor : float
        Growth factor (2).
    max_doublings : int or None
        Cap on the growths (code: 10; paper: none).
    search_cap : int
        Bound on the literal projected a-step search when ``max_doublings`` is None.
    band_tol : float
        Shrinks the band by this much on each side (code 1e-9; paper 0).
    zl : ZLOptions
        The z_L solver.
    """

    rho: float = positive(1e-3)
    eps0: float = positive(100.0)
    eps_schedule: Literal["halving", "constant"] = "halving"
    eps_factor: float = number(0.5, low=0.0, high=1.0, low_open=True)
    eps_min: float = positive(1e-3)
    extrapolation: bool = True
    safeguard: bool = True
    update_bias: bool = True
    weight_decay: float = nonnegative(0.0)
    theta0: float = positive(1.0)
    tau0: float = positive(1.0)
    backtrack_factor: float = number(2.0, low=1.0, low_open=True)
    max_doublings: int | None = nonnegative(None)
    search_cap: int = number(64, low=1)
    band_tol: float = nonnegative(0.0)
    zl: ZLOptions = ZLOptions()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.band_tol < min(self.eps0, self.eps_min):
            raise ValueError(f"band_tol must lie in [0, min(eps0, eps_min)), got {self.band_tol!r}")

    @classmethod
    def released_code(cls, rho: float = 1e-3, **overrides) -> "MDLAMOptions":
        """The mDLAM code: no effective extrapolation, μ = 0.05, band shrunk by
        1e-9, at most 10 doublings, FISTA η = 4, tolerance 1e-4, ≤ 500 iterations."""
        values = dict(
            rho=rho, extrapolation=False, weight_decay=0.05, band_tol=1e-9, max_doublings=10,
            zl=ZLOptions(method="fista", fista_step=4.0, fista_max_iter=500, fista_tol=1e-4),
        )
        values.update(overrides)
        return cls(**values)

    @classmethod
    def dlam(cls, **overrides) -> "MDLAMOptions":
        """DLAM (arXiv 1811.04187v3, Algorithm 1): extrapolation without the monotone safeguard."""
        return cls(**{"safeguard": False, **overrides})


@dataclasses.dataclass(frozen=True)
class MDLAMState:
    """mDLAM's variables after an iteration (tuples indexed 0…L−1 for layers 1…L; ``a`` has L−1 entries)."""

    W: tuple
    b: tuple
    z: tuple
    a: tuple
    W_prev: tuple
    a_prev: tuple
    m: tuple
    rho: float
    eps: float
    s: float = 0.0
    iteration: int = 0
    restarts: int = 0
    zl_iterations: int = 0
    loss: str = "cross_entropy"
    activation: str = "relu"


# ----------------------------------------------------------------------------- subproblems
def update_W(W, W_prev, a_prev, m, z, b, omega, theta0, rho, options):
    """W-step of Algorithm 2: ``W⁺ = Ŵ − ∇_Wφ(Ŵ)/θ``, Ŵ = W + ω(W − W^{k−1}), with the safeguard.

    φ(W) = (ρ/2)‖z − W a − b‖² + (μ/2)‖W‖²; G = −ρ(z − Ŵa − b)aᵀ + μŴ, ⟨G,HG⟩ = ρ‖Ga‖² + μ‖G‖²
    (closed-form backtracking). ``m`` is the current ``W a + b``. Returns ``(W⁺, m⁺, restarted)``.
    """
    mu = options.weight_decay

    def local(Wx, mx):
        value = 0.5 * rho * _sq_dist(z, mx)
        return value + 0.5 * mu * sum_of_squares(Wx) if mu else value

    def prox_linear(W0, m0):
        return linearized_weight_step(W0, a_prev, m0, z, rho, theta0, decay=mu, factor=options.backtrack_factor,
                                      max_doublings=options.max_doublings)[:2]

    if omega != 0.0:
        W_hat = _extrapolate(W, W_prev, omega)
        m_hat = W_hat @ a_prev
        m_hat += b  # m_hat is new: in place, the same sum without a second N-column array
        W_new, m_new = prox_linear(W_hat, m_hat)
        if not options.safeguard or local(W_new, m_new) <= local(W, m):
            return W_new, m_new, False
        W_new, m_new = prox_linear(W, m)
        return W_new, m_new, True
    W_new, m_new = prox_linear(W, m)
    return W_new, m_new, False


def update_b(b, m, z, options):
    """Bias block (released code; not in the paper): ``b⁺ = b + mean_j(z − m)_j``, the exact minimiser of
    (ρ/2)‖z − W a − b1ᵀ‖². Returns ``(b⁺, m⁺)``."""
    if not options.update_bias:
        return b, m
    return bias_step(b, m, z, "exact")


def band_z(m, a, eps, options, *, activation: str | Activation = "relu", z_prev=None):
    """z-step, l < L: ``argmin_z (ρ/2)‖z − m‖²`` over ``{z : f(z) − ε ≤ a ≤ f(z) + ε}``.

    ReLU: the set is the interval ``[B1, B2]``, B2 = a + ε, B1 = a − ε where a > ε and −∞ elsewhere, so the
    minimiser is ``clip(m, B1, B2)`` (both shrunk by ``band_tol``). Any other (non-decreasing) f: the set is
    the preimage ``{z : a − ε ≤ f(z) ≤ a + ε}`` (:func:`amref.activations.preimage`), again an interval,
    and the minimiser is the same clip. Where that set is empty (the band missed f's range after ε
    shrank) there is no feasible z and ``z_prev`` (z^k) is kept.
    """
    xp = namespace(m, a)
    tol = options.band_tol
    act = get_activation(activation)
    if act.name != "relu":
        lower, upper = preimage(act, a - (eps - tol), a + (eps - tol))
        z = xp.maximum(xp.minimum(m, upper), lower)
        feasible = (lower <= upper) & (lower < math.inf) & (upper > -math.inf)
        return z if z_prev is None else xp.where(feasible, z, z_prev)
    kernel = kernels.fused("band_clip", m, a)
    if kernel is not None:
        return kernel(m, a, eps, tol)
    upper = a + (eps - tol)
    lower = xp.where(a - eps > tol, a - (eps - tol), -math.inf)
    return xp.maximum(xp.minimum(m, upper), lower)


def update_z_last(m, z, y, rho, options, *, loss: str | Loss = "cross_entropy"):
    """z-step, l = L: ``argmin_z R(z; y) + (ρ/2)‖z − W_L a_{L−1} − b_L‖²``, the prox of the loss
    (:func:`~amref.solvers.subproblems.loss_prox`; warm start z^k when it needs an inner solver).

    With the safeguard an inexact solve that raised this objective is discarded (z^k kept).
    Returns ``(z_L, inner_iterations, restarted)``.
    """
    record = get_loss(loss)
    z_new, info = loss_prox(record, m, y, rho, z, options.zl)
    if options.safeguard:
        def value(v):
            return float(record.value(v, y)) + 0.5 * rho * sum_of_squares(v - m)
        if value(z_new) > value(z):
            return z, info.iterations, True
    return z_new, info.iterations, False


def update_a(a, a_prev_iter, z_cur, W_next, b_next, z_next, m_next, omega, eps, tau0, rho, options, *,
             activation: str | Activation = "relu"):
    """a-step of Algorithm 2 (l < L): projected prox-linear step on φ(a) = (ρ/2)‖z_{l+1} − W_{l+1}a − b_{l+1}‖².

    â = a + ω(a − a^{k−1}); ``a⁺ = clip(â − g/τ, f(z_l) − ε, f(z_l) + ε)`` with
    ``g = −ρW_{l+1}ᵀ(z_{l+1} − W_{l+1}â − b_{l+1})``; τ = τ₀, 2τ₀, … until ``φ(a⁺) ≤ Q(a⁺; τ)``, i.e.
    ``ρ‖W_{l+1}d‖² ≤ τ‖d‖²`` with d = a⁺ − â (bounded loop; on failure a keeps its value).
    ``m_next`` is the current ``W_{l+1}a + b_{l+1}`` (old layer l+1). Returns ``(a⁺, m_next⁺, restarted)``.
    """
    xp = namespace(a, z_cur, W_next, z_next, m_next)
    act = get_activation(activation)
    cap = options.search_cap if options.max_doublings is None else options.max_doublings
    kernel = kernels.fused("band_trial", a, z_cur) if act.name == "relu" else None
    if kernel is None:
        fz = act.value(z_cur)
        lo = fz - (eps - options.band_tol)
        hi = fz + (eps - options.band_tol)

    def local(mx):
        return 0.5 * rho * _sq_dist(z_next, mx)

    def trial(a0, T, tau, buffers):
        """(candidate, d, ‖d‖²) for this τ; the fused kernel computes the same arrays in one pass, into the
        rejected trial's ``buffers`` when there was one."""
        if kernel is not None:
            return kernel(a0, T, rho, tau, z_cur, eps, options.band_tol, out=buffers)
        cand = xp.clip(a0 - (-rho * T) / tau, lo, hi)
        d = cand - a0
        return cand, d, sum_of_squares(d)

    def projected_step(a0, m0):
        T = W_next.T @ (z_next - m0)  # g = −ρ T
        tau, buffers = tau0, None
        for _ in range(cap + 1):
            cand, d, dd = trial(a0, T, tau, buffers)
            Wd = W_next @ d
            if rho * sum_of_squares(Wd) <= tau * dd:
                Wd += m0  # m0 + Wd, in place on the new product
                return cand, Wd, True
            tau *= options.backtrack_factor
            buffers = (cand, d)  # rejected: the next trial overwrites them
        return a0, m0, False

    if omega != 0.0:
        a_hat = _extrapolate(a, a_prev_iter, omega)
        m_hat = W_next @ a_hat
        m_hat += b_next  # in place on the new array (same sum)
        a_new, m_new, ok = projected_step(a_hat, m_hat)
        if ok and (not options.safeguard or local(m_new) <= local(m_next)):
            return a_new, m_new, False
        if not options.safeguard and not ok:
            return a, m_next, False
        a_new, m_new, _ = projected_step(a, m_next)
        return a_new, m_new, True
    a_new, m_new, _ = projected_step(a, m_next)
    return a_new, m_new, False


def _extrapolate(x, x_prev, omega):
    """``x + ω(x − x_prev)`` with one new array: the difference, scaled and added in place (same bits)."""
    out = x - x_prev
    out *= omega
    out += x
    return out


def _sq_dist(x, y) -> float:
    """``‖x − y‖²`` (``sum_of_squares(x - y)``; for large NumPy arrays one fused pass without the temporary)."""
    kernel = kernels.fused("sq_dist", x, y)
    return sum_of_squares(x - y) if kernel is None else kernel(x, y)


# ----------------------------------------------------------------------------- the iteration
def init_state(problem: MLP, data, params: Params, options: MDLAMOptions) -> MDLAMState:
    """z_l, a_l from a forward pass (a_l = f(z_l) lies in every band), z_L = ±1 from the labels, s⁰ = 0."""
    get_loss(problem.loss)  # every loss has the prox the z_L step needs; this only rejects an unknown name
    W, b = split_params(params)
    zs, acts = problem.hidden(params, data.x_train)
    z = tuple(zs[:-1]) + (problem.output_targets(data.y_train),)
    a = tuple(acts[1:])
    return MDLAMState(W=tuple(W), b=tuple(b), z=z, a=a, W_prev=tuple(W), a_prev=a, m=tuple(zs),
                      rho=float(options.rho), eps=float(options.eps0), loss=problem.loss,
                       activation=problem.activation)


def nesterov(s: float) -> tuple[float, float]:
    """``(s^{k+1}, ω^k)`` from s^k: s^{k+1} = (1 + √(1 + 4s²))/2, ω^k = (s^k − 1)/s^{k+1}."""
    s_next = (1.0 + math.sqrt(1.0 + 4.0 * s * s)) / 2.0
    return s_next, (s - 1.0) / s_next


def step(state: MDLAMState, data, options: MDLAMOptions) -> MDLAMState:
    """One iteration of Algorithm 2 (forward sweep W → b → z → a per layer); returns a new state."""
    x, y = data.x_train, data.y_train
    W, b, z, a, m = list(state.W), list(state.b), list(state.z), list(state.a), list(state.m)
    rho, eps = state.rho, state.eps
    s_next, omega = nesterov(state.s)
    if not options.extrapolation or state.iteration == 0:
        omega = 0.0  # at k = 0, X^{−1} = X^0: ω⁰ multiplies a zero difference
    L = len(W)
    restarts = zl_iters = 0
    h = layer_activations(state.activation, L - 1)
    for i in range(L):
        inp = x if i == 0 else a[i - 1]
        W[i], m[i], r = update_W(W[i], state.W_prev[i], inp, m[i], z[i], b[i], omega, options.theta0, rho, options)
        restarts += r
        b[i], m[i] = update_b(b[i], m[i], z[i], options)
        if i == L - 1:
            z[i], zl_iters, r = update_z_last(m[i], z[i], y, rho, options, loss=state.loss)
            restarts += r
        else:
            z[i] = band_z(m[i], a[i], eps, options, activation=h[i], z_prev=z[i])
            a[i], m[i + 1], r = update_a(a[i], state.a_prev[i], z[i], W[i + 1], b[i + 1], z[i + 1], m[i + 1],
                                         omega, eps, options.tau0, rho, options, activation=h[i])
            restarts += r
    return dataclasses.replace(
        state, W=tuple(W), b=tuple(b), z=tuple(z), a=tuple(a), m=tuple(m), W_prev=state.W, a_prev=state.a,
        s=s_next, iteration=state.iteration + 1, restarts=restarts, zl_iterations=zl_iters,
    )


def objective(state: MDLAMState, y: Array, options: MDLAMOptions) -> float:
    """F(W, b, z, a) of Problem 2 (without the band's indicator; see ``band_violation``)."""
    total = float(get_loss(state.loss).value(state.z[-1], y))
    for zl, ml in zip(state.z, state.m):
        total += 0.5 * state.rho * sum_of_squares(zl - ml)
    if options.weight_decay:
        total += 0.5 * options.weight_decay * sum(sum_of_squares(Wl) for Wl in state.W)
    return total


def diagnostics(state: MDLAMState, data, options: MDLAMOptions) -> dict:
    """``objective`` = F; ``residual`` = Σ_l ‖z_l − W_l a_{l−1} − b_l‖²; ``gap`` = Σ_l ‖a_l − f(z_l)‖² (the
    code's); ``band_violation`` = max_l max(|a_l − f(z_l)| − ε, 0); ε, ρ, safeguard restarts, z_L iterations."""
    xp = namespace(state.z[-1])
    residual = sum(sum_of_squares(zl - ml) for zl, ml in zip(state.z, state.m))
    gap = 0.0
    violation = 0.0
    for al, zl, h in zip(state.a, state.z[:-1], layer_activations(state.activation, len(state.a))):
        d = al - h.value(zl)
        gap += sum_of_squares(d)
        violation = max(violation, float(xp.max(xp.abs(d))) - state.eps)
    return {
        "objective": objective(state, data.y_train, options),
        "residual": residual,
        "gap": gap,
        "band_violation": max(violation, 0.0),
        "eps": state.eps,
        "rho": state.rho,
        "restarts": state.restarts,
        "zl_iterations": state.zl_iterations,
    }


def end_iteration(state: MDLAMState, row: dict, options: MDLAMOptions) -> MDLAMState:
    """The ε schedule: ε ← max(ε·eps_factor, eps_min) after every iteration."""
    if options.eps_schedule == "constant":
        return state
    return dataclasses.replace(state, eps=max(state.eps * options.eps_factor, options.eps_min))


def params(state: MDLAMState) -> Params:
    """Current weights ``[W_1, b_1, …, W_L, b_L]``."""
    return join_params(state.W, state.b)


SOLVER = SolverSpec(
    name="mdlam",
    options_class=MDLAMOptions,
    init_state=init_state,
    step=step,
    diagnostics=diagnostics,
    params=params,
    end_iteration=end_iteration,
)
