r"""dlADMM — Wang, Yu, Chen, Zhao, "ADMM for Efficient Deep Learning with Global Convergence", KDD 2019.

Problem 2 of the paper (the relaxed problem; only the output layer keeps a hard constraint)::

    min  R(z_L; y) + (ν/2) Σ_{l<L} ( ‖z_l − W_l a_{l−1} − b_l‖² + ‖a_l − f(z_l)‖² )
    s.t. z_L = W_L a_{L−1} + b_L

    L_ρ = R(z_L; y) + φ,   φ = (ν/2) Σ_{l<L}(…) + ⟨u, z_L − W_L a_{L−1} − b_L⟩ + (ρ/2)‖z_L − W_L a_{L−1} − b_L‖²

Algorithm 1, one iteration (Gauss–Seidel: every update uses the newest value of every other block)::

    backward  l = L      z̄_L (Eq 5) → b̄_L (Eq 7) → W̄_L (Eq 9)
              l = L−1…1  ā_l (Eq 3) → z̄_l (Eq 4) → b̄_l (Eq 6) → W̄_l (Eq 9)
    forward   l = 1…L−1  W_l (Eq 11) → b_l (Eq 12) → z_l (Eq 14) → a_l (Eq 16)
              l = L      W_L (Eq 11) → b_L (Eq 13) → z_L (Eq 15)
    dual      u ← u + ρ (z_L − W_L a_{L−1} − b_L)

=========  ==============  ==========================================================================
paper      code            meaning
=========  ==============  ==========================================================================
W_l, b_l   ``W[l-1]``,     weights ``n_l × n_{l−1}`` and bias column ``n_l × 1``
           ``b[l-1]``
z_l        ``z[l-1]``      pre-activation ``n_l × N``; z_L is the output
a_l        ``a[l-1]``      hidden output ``n_l × N`` for l < L (a_0 = x is the data)
u          ``u``           dual of the output constraint ``n_L × N``
ν, ρ       ``nu, rho``     penalty on the hidden relaxations; augmented-Lagrangian penalty
θ, τ       ``theta, tau``  backtracking constants of the W- and a-blocks (start values θ₀, τ₀)
m_l        ``m[l-1]``      ``W_l a_{l−1} + b_l 1ᵀ``, kept up to date by every update (a cache, not a
                           variable of the paper: each step that changes W_l, b_l or a_{l−1} updates
                           it with a product it computes anyway, so no product is done twice)
=========  ==============  ==========================================================================

Each layer's linear term enters φ as ``(w/2)‖t − W a − b‖²`` with weight w = ν and target t = z_l for
l < L, and w = ρ, t = z_L + u/ρ for l = L (the dual term completes the square). The W-, b- and a-updates
are therefore one function each for every layer.

Choices where the paper and the released code differ (``docs/papers/dladmm.md``; defaults follow the paper):

* ``nu`` and ``rho`` are separate; ``nu_equals_rho=True`` is the code's single parameter.
* ``rho_schedule="paper"`` multiplies ρ by 10 every 100 iterations; ``"cost"`` is the code's rule
  (×10, capped at ``rho_max`` = 0.1, after three consecutive rises of the training loss, also
  multiplying θ₀, τ₀ by 10 when the hidden layers have ≥ 100 units).
* The backtracking searches (Algorithms 2–5) are computed in closed form
  (:func:`~amref.solvers.subproblems.doubling_step`); they return what the literal doubling loop
  returns, and no loop can run away (the released code's loops are unbounded).
* ``bias_step="exact"`` (default) is the paper's b-model ``U(b;B)`` with the smallest B that
  majorises the *summed* penalty, B = wN; it is the exact block minimiser, i.e. the code's column
  mean. ``"paper-literal"`` takes B = ν (ρ for the last layer) as printed; with losses summed over N
  samples that model is not an upper bound and the step overshoots by a factor N (it diverges for N > 2).
  It is kept so that this can be checked.
* z_L is solved by FISTA with the safe step 1/H = 2 (code: η = 4) or by exact per-column Newton.

**Losses.** The paper's R is the softmax cross-entropy; amref takes every output loss whose gradient is
Lipschitz, i.e. ``"cross_entropy"`` (H = 1/2) and ``"squared"`` (H = 1; z_L in closed form), because
Properties 1–2 (ρ > 2H) and the optimality identity ∇R(z_L) + u = 0 need one. The hinge is refused
at :func:`init_state` (its z_L step would run, but nothing the paper proves would hold).

**Activations.** Every activation of :mod:`amref.activations` trains (``MLP(activation=...)``); the
z̄_l/z_l steps (Eqs 4, 14) stay exact global minimisers (a closed form per linear piece; sigmoid and tanh
by the bounded enumeration of :func:`amref.activations.smooth_prox`). The paper's convergence
assumptions ask for a closed-form z-step (ReLU, leaky ReLU): hard tanh, linear and the step have one
too, sigmoid and tanh have an exact but iterative one; for the binary step, whose f is discontinuous,
the paper's bounds on ‖a − f(z)‖ no longer follow from the z-step and none of its results is claimed.

Use :meth:`DlADMMOptions.released_code` for all of the code's choices at once.

Examples
--------
>>> import numpy as np
>>> import amref
>>> from amref.solvers.dladmm import DlADMMOptions
>>> data = amref.load_dataset("digits").subset(train_size=200, test_size=100)
>>> problem = amref.MLP((64, 16, 10))
>>> result = amref.minimize(amref.get_solver("dladmm"), problem, data, DlADMMOptions(rho=1.0, nu=1.0), max_iter=5)
>>> result.nit, result.success
(5, True)
>>> bool(np.all(np.diff(result.history["objective"]) <= 0))   # ρ > 2H: L_ρ never increases (Property 2)
True
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from ..activations import BISECTION_STEPS, Activation, layer_activations
from ..activations import get as get_activation
from ..backend import Array, inner, namespace, sum_of_squares
from ..contract import SolverSpec
from ..losses import Loss
from ..losses import get as get_loss
from ..options import Options, nonnegative, number, positive
from ..problem import MLP, Params, join_params, split_params
from .subproblems import (ZLOptions, activation_prox, add_scaled_difference, bias_step, linearized_input_step,
                          linearized_weight_step, loss_prox)

__all__ = [
    "SOLVER",
    "augmented_lagrangian",
    "diagnostics",
    "DlADMMOptions",
    "DlADMMState",
    "end_iteration",
    "init_state",
    "params",
    "required_rho",
    "step",
    "update_a",
    "update_b",
    "update_u",
    "update_W",
    "update_z_hidden",
    "update_z_last",
]


@dataclasses.dataclass(frozen=True)
class DlADMMOptions(Options):
    """dlADMM options; defaults are the paper's (Sec 5.1).

    Attributes
    ----------
    rho : float
        Initial ρ (paper: 1e-6).
    nu : float
        ν (paper: 1e-6). Ignored when ``nu_equals_rho``.
    nu_equals_rho : bool
        Released code: one parameter for both, so ν follows ρ's schedule.
    rho_schedule : {"paper", "cost", "constant"}
        ``"paper"``: ρ ← min(ρ·rho_factor, rho_max) every ``rho_every`` iterations. ``"cost"``: the
        released code's rule, triggered when the training loss rose ``cost_patience`` times in a row.
    rho_factor : float
        Growth factor of ρ (10 in paper and code).
    rho_every : int
        Period of the paper schedule (100).
    rho_max : float or None
        Cap on ρ (paper: None, no cap; code: 0.1).
    cost_patience : int
        Consecutive training-loss rises that trigger the code schedule (3).
    step_scale_on_rho : float
        Factor applied to θ₀ and τ₀ when the code schedule fires (code: 10; 1 = no change).
    step_scale_min_width : int
        The code scales θ₀, τ₀ only when the hidden layers have at least this many units (100).
    theta0, tau0 : float
        Start values of the W- and a-backtracking constants (1 in the code).
    backtrack_factor : float
        Growth factor γ̄ = η̄ > 1 of the backtracking (2 in every code).
    max_doublings : int or None
        Cap on the number of growths (paper and dlADMM code: none, which the closed form makes safe).
    bias_step : {"exact", "paper-literal"}
        ``"exact"``: the exact block minimiser (code); ``"paper-literal"``: B = ν as printed (module docstring).
    zl : ZLOptions
        The z_L solver.
    activation_steps : int
        Bisection halvings of the hidden z-step for sigmoid and tanh
        (:func:`amref.activations.smooth_prox`); piecewise-linear activations need none.
    """

    rho: float = positive(1e-6)
    nu: float = positive(1e-6)
    nu_equals_rho: bool = False
    rho_schedule: Literal["paper", "cost", "constant"] = "paper"
    rho_factor: float = number(10.0, low=1.0)
    rho_every: int = number(100, low=1)
    rho_max: float | None = positive(None)
    cost_patience: int = number(3, low=1)
    step_scale_on_rho: float = number(1.0, low=1.0)
    step_scale_min_width: int = nonnegative(100)
    theta0: float = positive(1.0)
    tau0: float = positive(1.0)
    backtrack_factor: float = number(2.0, low=1.0, low_open=True)
    max_doublings: int | None = nonnegative(None)
    bias_step: Literal["exact", "paper-literal"] = "exact"
    zl: ZLOptions = ZLOptions()
    activation_steps: int = number(BISECTION_STEPS, low=1)

    @property
    def rho_cap(self) -> float:
        """``rho_max``, or ``inf`` when there is no cap."""
        return float("inf") if self.rho_max is None else self.rho_max

    @classmethod
    def released_code(cls, rho: float = 1e-6, **overrides) -> "DlADMMOptions":
        """The authors' released code: ν = ρ, cost-triggered schedule capped at
        0.1 with θ₀, τ₀ ×10, exact bias step, FISTA η = 4, tolerance 1e-3, 500 iterations."""
        values = dict(
            rho=rho,
            nu=rho,
            nu_equals_rho=True,
            rho_schedule="cost",
            rho_max=0.1,
            step_scale_on_rho=10.0,
            bias_step="exact",
            zl=ZLOptions(method="fista", fista_step=4.0, fista_max_iter=500, fista_tol=1e-3),
        )
        values.update(overrides)
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class DlADMMState:
    """All of dlADMM's variables after an iteration (tuples are indexed 0…L−1 for layers 1…L)."""

    W: tuple
    b: tuple
    z: tuple
    a: tuple
    u: Array
    m: tuple
    rho: float
    nu: float
    theta0: float
    tau0: float
    iteration: int = 0
    costs: tuple = ()
    zl_iterations: int = 0
    loss: str = "cross_entropy"
    activation: str = "relu"


# ----------------------------------------------------------------------------- subproblems
def update_W(W, a_prev, m, target, weight, theta0, options, *, overwrite_W=False, overwrite_m=False):
    """Eq 9 (backward) / Eq 11 (forward): ``W⁺ = W − ∇_Wφ/θ``, θ by backtracking (Algorithms 3, 4).

    φ(W) = (w/2)‖t − W a_{l−1} − b‖², ``∇_Wφ = −w (t − m) a_{l−1}ᵀ``; the backtracking is closed form
    (:func:`~amref.solvers.subproblems.linearized_weight_step`). Returns ``(W⁺, m⁺, θ)``; ``overwrite_*``
    writes them into W, m (arrays :func:`step` created itself in this iteration).
    """
    return linearized_weight_step(W, a_prev, m, target, weight, theta0, factor=options.backtrack_factor,
                                  max_doublings=options.max_doublings, overwrite_W=overwrite_W, overwrite_m=overwrite_m)


def update_b(b, m, target, options, *, overwrite_m=False):
    """Eq 6 / Eq 12 (l < L) and Eq 7 / Eq 13 (l = L): the bias block of φ(b) = (w/2)‖t − W a − b1ᵀ‖².

    ``"exact"``: b⁺ = b + mean_j(t − m)_j (the minimiser). ``"paper-literal"``: b⁺ = b − ∇_bφ/B with
    B = w as printed (ν, or ρ for the last layer), i.e. b + Σ_j (t − m)_j
    (:func:`~amref.solvers.subproblems.bias_step`). Returns ``(b⁺, m⁺)``; ``overwrite_m`` as in :func:`update_W`.
    """
    return bias_step(b, m, target, options.bias_step, overwrite_m=overwrite_m)


def update_a(a, f_z, W_next, m_next, target_next, weight_next, nu, tau0, options, *, activation=None,
             overwrite_a=False, overwrite_m=False):
    """Eq 3 (backward) / Eq 16 (forward): ``a⁺ = a − ∇_aφ/τ``, τ by backtracking (Algorithms 2, 5).

    φ(a) = (w_{l+1}/2)‖t_{l+1} − W_{l+1} a − b_{l+1}‖² + (ν/2)‖a − f(z_l)‖², so
    ``∇_aφ = −w_{l+1} W_{l+1}ᵀ(t_{l+1} − m_{l+1}) + ν(a − f(z_l))`` and the Hessian is
    ``w_{l+1} W_{l+1}ᵀW_{l+1} + νI`` (:func:`~amref.solvers.subproblems.linearized_input_step`).
    Returns ``(a⁺, m_{l+1}⁺, τ)``; ``overwrite_*`` as in :func:`update_W`. The gradient is the product
    plus ``ν(a − f(z_l))`` added into it (:func:`~amref.solvers.subproblems.add_scaled_difference`).

    ``f_z`` is f(z_l); with ``activation`` (f's name or record) it is z_l itself, and f(z_l) is formed here
    after the product, so that no n × N array more is held while it runs (for ReLU it is never stored: the
    gradient pass takes max(z_l, 0) as it goes).
    """
    P = ((-weight_next) * W_next).T @ (target_next - m_next)
    if activation is None:
        g = add_scaled_difference(P, nu, a, f_z, overwrite=True)
    elif get_activation(activation).name == "relu":
        g = add_scaled_difference(P, nu, a, f_z, relu_b=True, overwrite=True)
    else:
        g = add_scaled_difference(P, nu, a, get_activation(activation).value(f_z), overwrite=True)
    return linearized_input_step(a, g, W_next, m_next, weight_next, nu, tau0, factor=options.backtrack_factor,
                                 max_doublings=options.max_doublings, overwrite_x=overwrite_a, overwrite_m=overwrite_m,
                                 reuse_g=True)


def update_z_hidden(m, a, options, *, activation: str | Activation = "relu"):
    """Eq 4 (backward) / Eq 14 (forward): ``argmin_z (ν/2)‖z − m_l‖² + (ν/2)‖a_l − f(z)‖²``, elementwise
    and global for every activation (:func:`~amref.solvers.subproblems.activation_prox`)."""
    return activation_prox(activation, m, a, alpha=1.0, beta=1.0, steps=options.activation_steps)


def update_z_last(m, u, y, rho, z_prev, options, *, loss: str | Loss = "cross_entropy"):
    """Eq 5 (backward) / Eq 15 (forward): ``argmin_z R(z; y) + ⟨u, z − m_L⟩ + (ρ/2)‖z − m_L‖²``.

    Completing the square: ``argmin_z R(z; y) + (ρ/2)‖z − (m_L − u/ρ)‖²``, the prox of the loss
    (:func:`~amref.solvers.subproblems.loss_prox`), warm-started at z_prev when it needs an inner solver.
    Returns ``(z_L, inner_iterations)``.
    """
    z, info = loss_prox(loss, m - u / rho, y, rho, z_prev, options.zl)
    return z, info.iterations


def update_u(u, z_last, m_last, rho):
    """Dual step (Algorithm 1, last line): ``u ← u + ρ (z_L − W_L a_{L−1} − b_L)``."""
    return u + rho * (z_last - m_last)


# ----------------------------------------------------------------------------- the iteration
def init_state(problem: MLP, data, params: Params, options: DlADMMOptions) -> DlADMMState:
    """Initial variables (as in the released codes): z_l, a_l from a forward pass, z_L = ±1 from the labels, u = 0.

    Raises ``ValueError`` for a loss without a Lipschitz gradient (the hinge).
    """
    if not get_loss(problem.loss).smooth:
        raise ValueError(f"dlADMM needs a loss with a Lipschitz gradient (cross_entropy, squared), "
                         f"not {problem.loss!r}")
    xp = namespace(data.x_train)
    W, b = split_params(params)
    zs, acts = problem.hidden(params, data.x_train)
    z = tuple(zs[:-1]) + (problem.output_targets(data.y_train),)
    return DlADMMState(
        W=tuple(W),
        b=tuple(b),
        z=z,
        a=tuple(acts[1:]),
        u=xp.zeros_like(z[-1]),
        m=tuple(zs),
        rho=float(options.rho),
        nu=float(options.rho if options.nu_equals_rho else options.nu),
        theta0=float(options.theta0),
        tau0=float(options.tau0),
        loss=problem.loss,
        activation=problem.activation,
    )


def step(state: DlADMMState, data, options: DlADMMOptions) -> DlADMMState:
    """One iteration of Algorithm 1 (backward sweep, forward sweep, dual step); returns a new state.

    The arrays of ``state`` are never written. An array this step created (an m_l after its first update
    in the iteration, a W_l or a_l in the forward sweep) is updated in place (``overwrite_*``): the new
    state then holds one array per variable and no second copy is built beside it.
    """
    x, y = data.x_train, data.y_train
    W, b, z, a, m = list(state.W), list(state.b), list(state.z), list(state.a), list(state.m)
    given = {id(v) for v in (*W, *b, *z, *a, *m, state.u)}
    mine = lambda v: id(v) not in given  # noqa: E731  created by this step: may be written in place
    u, rho, nu = state.u, state.rho, state.nu
    L = len(W)
    last = L - 1
    inputs = lambda i: x if i == 0 else a[i - 1]  # noqa: E731  a_{l-1}
    weight = lambda i: rho if i == last else nu  # noqa: E731
    target = lambda i: z[i] + u / rho if i == last else z[i]  # noqa: E731
    zl_iters = 0
    f = layer_activations(state.activation, last)

    # backward sweep, output layer: z̄_L (Eq 5), b̄_L (Eq 7), W̄_L (Eq 9)
    z[last], k = update_z_last(m[last], u, y, rho, z[last], options, loss=state.loss)
    zl_iters += k
    b[last], m[last] = update_b(b[last], m[last], target(last), options, overwrite_m=mine(m[last]))
    W[last], m[last], _ = update_W(W[last], inputs(last), m[last], target(last), rho, state.theta0, options,
                                   overwrite_W=mine(W[last]), overwrite_m=mine(m[last]))
    # backward sweep, hidden layers l = L−1 … 1: ā_l (Eq 3), z̄_l (Eq 4), b̄_l (Eq 6), W̄_l (Eq 9)
    for i in range(last - 1, -1, -1):
        a[i], m[i + 1], _ = update_a(a[i], z[i], W[i + 1], m[i + 1], target(i + 1), weight(i + 1), nu, state.tau0,
                                     options, activation=f[i], overwrite_a=mine(a[i]), overwrite_m=mine(m[i + 1]))
        z[i] = update_z_hidden(m[i], a[i], options, activation=f[i])
        b[i], m[i] = update_b(b[i], m[i], target(i), options, overwrite_m=mine(m[i]))
        W[i], m[i], _ = update_W(W[i], inputs(i), m[i], target(i), nu, state.theta0, options,
                                 overwrite_W=mine(W[i]), overwrite_m=mine(m[i]))
    # forward sweep, hidden layers l = 1 … L−1: W_l (Eq 11), b_l (Eq 12), z_l (Eq 14), a_l (Eq 16)
    for i in range(last):
        W[i], m[i], _ = update_W(W[i], inputs(i), m[i], target(i), nu, state.theta0, options,
                                 overwrite_W=mine(W[i]), overwrite_m=mine(m[i]))
        b[i], m[i] = update_b(b[i], m[i], target(i), options, overwrite_m=mine(m[i]))
        z[i] = update_z_hidden(m[i], a[i], options, activation=f[i])
        a[i], m[i + 1], _ = update_a(a[i], z[i], W[i + 1], m[i + 1], target(i + 1), weight(i + 1), nu, state.tau0,
                                     options, activation=f[i], overwrite_a=mine(a[i]), overwrite_m=mine(m[i + 1]))
    # forward sweep, output layer: W_L (Eq 11), b_L (Eq 13), z_L (Eq 15)
    W[last], m[last], _ = update_W(W[last], inputs(last), m[last], target(last), rho, state.theta0, options,
                                   overwrite_W=mine(W[last]), overwrite_m=mine(m[last]))
    b[last], m[last] = update_b(b[last], m[last], target(last), options, overwrite_m=mine(m[last]))
    z[last], k = update_z_last(m[last], u, y, rho, z[last], options, loss=state.loss)
    zl_iters += k
    # dual step
    u = update_u(u, z[last], m[last], rho)
    return dataclasses.replace(
        state, W=tuple(W), b=tuple(b), z=tuple(z), a=tuple(a), m=tuple(m), u=u,
        iteration=state.iteration + 1, zl_iterations=zl_iters,
    )


def augmented_lagrangian(state: DlADMMState, y: Array) -> float:
    """L_ρ(W, b, z, a, u) of Problem 2 (the quantity Property 2 proves non-increasing for ρ > 2H)."""
    r = state.z[-1] - state.m[-1]
    total = float(get_loss(state.loss).value(state.z[-1], y)) + inner(state.u, r) + 0.5 * state.rho * sum_of_squares(r)
    hs = layer_activations(state.activation, len(state.a))
    for zl, ml, al, h in zip(state.z[:-1], state.m[:-1], state.a, hs):
        total += 0.5 * state.nu * (sum_of_squares(zl - ml) + sum_of_squares(al - h.value(zl)))
    return total


def diagnostics(state: DlADMMState, data, options: DlADMMOptions) -> dict:
    """``objective`` = L_ρ, ``residual`` = ‖z_L − W_L a_{L−1} − b_L‖², plus ρ, ν and z_L inner iterations."""
    return {
        "objective": augmented_lagrangian(state, data.y_train),
        "residual": sum_of_squares(state.z[-1] - state.m[-1]),
        "rho": state.rho,
        "nu": state.nu,
        "zl_iterations": state.zl_iterations,
    }


def end_iteration(state: DlADMMState, row: dict, options: DlADMMOptions) -> DlADMMState:
    """The ρ schedule, applied after iteration ``state.iteration`` (so it acts from the next one)."""
    rho, theta0, tau0, costs = state.rho, state.theta0, state.tau0, state.costs
    if options.rho_schedule == "paper" and state.iteration % options.rho_every == 0:
        rho = min(rho * options.rho_factor, options.rho_cap)
    elif options.rho_schedule == "cost":
        costs = (costs + (float(row["train_loss"]),))[-(options.cost_patience + 1):]
        rising = len(costs) == options.cost_patience + 1 and all(c1 > c0 for c0, c1 in zip(costs, costs[1:]))
        if rising:
            rho = min(rho * options.rho_factor, options.rho_cap)
            hidden = [w.shape[0] for w in state.W[:-1]] or [state.W[-1].shape[0]]
            if min(hidden) >= options.step_scale_min_width:
                theta0 *= options.step_scale_on_rho
                tau0 *= options.step_scale_on_rho
    nu = rho if options.nu_equals_rho else state.nu
    return dataclasses.replace(state, rho=rho, nu=nu, theta0=theta0, tau0=tau0, costs=costs)


def params(state: DlADMMState) -> Params:
    """Current weights ``[W_1, b_1, …, W_L, b_L]``."""
    return join_params(state.W, state.b)


def required_rho(loss: str | Loss = "cross_entropy") -> float:
    """Properties 1–2 need ρ > 2H, H the Lipschitz constant of ∇R: ρ > 1 for the summed softmax
    cross-entropy (H = 1/2), ρ > 2 for the squared loss (H = 1)."""
    record = get_loss(loss)
    if not record.smooth:
        raise ValueError(f"dlADMM needs a loss with a Lipschitz gradient, not {record.name!r}")
    return 2 * record.lipschitz


SOLVER = SolverSpec(
    name="dladmm",
    options_class=DlADMMOptions,
    init_state=init_state,
    step=step,
    diagnostics=diagnostics,
    params=params,
    end_iteration=end_iteration,
    needs_train_loss=lambda options: options.rho_schedule == "cost",
)
