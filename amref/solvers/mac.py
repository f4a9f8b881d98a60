r"""MAC — Carreira-Perpiñán & Wang, "Distributed Optimization of Deeply Nested Systems", AISTATS 2014
(arXiv 1212.5921): the method of auxiliary coordinates.

The nested problem ``min_W R(f(x; W); y)`` with f = f_L ∘ … ∘ f_1, ``f_k(z) = h(W_k z + b_k 1ᵀ)`` for the
K = L − 1 hidden layers and a linear output layer, is rewritten with one **auxiliary coordinate** per
hidden layer and training point, the layer's output z_k (``n_k × N``, columns are points; z_0 = x)::

    min_{W, Z}  R(W_L z_K + b_L 1ᵀ; y)   s.t.   z_k = h(W_k z_{k−1} + b_k 1ᵀ),  k = 1 … K

and solved by the **quadratic-penalty** path (M1) for μ → ∞::

    (M1)  E_Q(W, Z; μ) = R(W_L z_K + b_L; y) + (μ/2) Σ_{k=1}^{K} ‖c_k‖² + (λ_W/2) Σ_{k=1}^{L} ‖W_k‖²,
          c_k = z_k − h(W_k z_{k−1} + b_k)

where the last term, a ridge (weight decay) on the weights and not on the biases, is amref's option
``weight_decay`` = λ_W: the paper's objective has no regulariser, so the default λ_W = 0 is the paper's
E_Q. With λ_W > 0 every W-step below adds its own layer's (λ_W/2)‖W_k‖² (for a unit, (λ_W/2)‖w_j‖²);
the Z-step does not see it.

or, with ``variant="augmented-lagrangian"``, the augmented Lagrangian
``E_A = E_Q + Σ_k ⟨λ_k, c_k⟩ = R + (μ/2) Σ_k ‖c_k + λ_k/μ‖² − Σ_k ‖λ_k‖²/(2μ)``, so every step below is
the penalty step with the targets z_k shifted by s_k = λ_k/μ (s_k = 0 for the penalty method).

Algorithm (MAC, quadratic-penalty version; one driver iteration = one W-step and one Z-step)::

    Z ← forward pass of the initial W (a feasible start), μ ← μ_0, λ ← 0
    repeat                                          (one μ stage, at most iters_per_mu alternations)
        (M2) W-step, hidden layer k = 1 … K, each unit j on its own:
                 min_{w_j, b_j} (μ/2) Σ_n (z_{k,jn} + s_{k,jn} − h(w_jᵀ z_{k−1,n} + b_j))² + (λ_W/2)‖w_j‖²
        (M3) W-step, output layer:  min_{W_L, b_L} R(W_L z_K + b_L; y) + (λ_W/2)‖W_L‖²
        (M4) Z-step, hidden layer k = 1 … K (Gauss–Seidel over layers), each point n on its own:
                 min_{z_{k,n}} (μ/2)‖z_{k,n} + s_{k,n} − h(W_k z_{k−1,n} + b_k)‖²
                              + { (μ/2)‖z_{k+1,n} + s_{k+1,n} − h(W_{k+1} z_{k,n} + b_{k+1})‖²   k < K
                                { R(W_L z_{K,n} + b_L; y_n)                                     k = K
    until E_Q stops decreasing (relative decrease ≤ stage_tol) or iters_per_mu alternations
    if ‖Z − F(Z, W)‖²/N ≤ feasibility_tol and the stage converged: stop (the nested model is W)
    (M5) augmented Lagrangian only:  λ_k ← λ_k + μ c_k
    (M6) μ ← min(mu_factor · μ, mu_max)

The labels M1–M6 are ours: the paper's PDF was not re-read for this implementation (the scheme, E_Q,
the W/Z split, the path μ → ∞, the stopping rule and the augmented-Lagrangian variant are restated from
memory of the paper and of ParMAC, Carreira-Perpiñán & Alizadeh 2016), so its equation numbers and its
experimental μ values are not quoted (``docs/papers/mac.md``: the problem, every step, the claims and
the latest measurement). The paper's experiments use sigmoid units and the squared loss;
``SOLVER.paper_loss`` is therefore ``"squared"``, and every amref loss and activation works. For the
binary step h′ = 0 wherever it exists, so M2 (a derivative-based descent) cannot move a hidden layer's
weights and M4 sees only the coordinates' own term: MAC runs, but its descent says nothing about the
step network (only the output layer and the coordinates learn).

**Inner solver.** Each of M2–M4 is a smooth (or piecewise smooth) least-squares-like block solved by a
bounded **Levenberg–Marquardt** iteration (:func:`lm_descent`) whose curvature is a *majorised*
Gauss–Newton matrix that does not depend on the unit or the point: with |h′| ≤ β_h,

* M2: the unit's Gauss–Newton matrix ``μ Σ_n h′(u_jn)² x̃_n x̃_nᵀ ⪯ μβ_h² X̃X̃ᵀ`` (x̃ = [z_{k−1}; 1]);
* M3: ``∇²_W R ⪯ H_R · X̃X̃ᵀ`` (H_R = the loss's Lipschitz constant; ``nonsmooth_curvature`` for the hinge);
* M4: ``μI + μ W_{k+1}ᵀ D_n W_{k+1} ⪯ μ(I + β_h² W_{k+1}ᵀW_{k+1})`` (or ``μI + H_R W_LᵀW_L`` for k = K).

One eigendecomposition ``QΛQᵀ`` of the shared matrix per layer and step then gives every unit's (every
point's) damped step ``−Q diag(1/(cΛ + ν)) Qᵀ g`` at the cost of two matrix products, with its own
damping ν (per unit in M2, per output unit or for the whole layer in M3, per point in M4). A trial is
accepted for a unit (point) only if that unit's (point's) objective does not increase; ν is divided by
``lm_factor`` after a success and multiplied by it after a failure (kept in the state between steps).
Hence **E_Q never increases for a fixed μ** (each accepted change lowers the only terms of E_Q it
touches). Where the block is quadratic (a linear unit; M3 with the squared loss; M4 at k = K with the
squared loss) the majoriser is exact and the first trial is the exact block minimiser (up to the
damping, 1e-9 relative by default); with ReLU (or any non-linear h) M2/M4 are non-convex and the
iteration is a monotone descent, not a global minimisation. Per-unit Gauss–Newton matrices would cost
n_k·n_{k−1}²·N per layer and per-point ones N·n_k³ (N systems), which is why the shared majoriser is used.

**The ridge** (λ_W > 0) adds λ_W to every curvature eigenvalue of M2/M3: ``cX̃X̃ᵀ + λ_W I``, which
majorises the exact ``cX̃X̃ᵀ + λ_W P`` (P: the identity on the weights, 0 on the bias). So the first trial
of a quadratic block is no longer exact in its bias direction; each further trial shrinks that error by
about λ_W/(cN + λ_W), and the acceptance test keeps the descent monotone.

**Wide inputs** (d + 1 > N, e.g. Cora's 5,732 GA-MLP features for 140 training nodes): X̃X̃ᵀ has rank
r ≤ N, and :func:`gram_basis` then returns the thin basis ``(U, S²)`` of the SVD ``X̃ = U S Vᵀ`` (U is
(d+1) × r; cost (d+1)·N² once, against (d+1)³ for the eigendecomposition). The curvature on the
complement of span(U) is 0, or λ_W with the ridge, and :func:`lm_descent` steps there by
``(I − UUᵀ)g/(λ_W + ν)``; without the ridge that part of g = X̃ dᵀ is 0 (g lies in span(U)) and is not
formed. The steps are those of the full eigenbasis, without its zero eigenvalues' rounding noise, and each
costs (d+1)·r·n_k instead of (d+1)²·n_k.

**Parallelism.** M2 is independent over the layers and, within a layer, over the units (rows of [W_k
b_k]); M4 is independent over the points (columns of Z) within a layer. Here both are single batched
array operations (no loop over units or points): a damped step for all units is ``((G Q)/(Λ + ν)) Qᵀ``,
and for all points ``Q((Qᵀ G)/(μ + cΛ + ν))`` with ν a row vector. On P workers (as in ParMAC): shard the
points (columns of x, y and every z_k) over the workers; the Z-step then runs locally on each shard with
no communication given W; the W-step of a unit needs sums over all points (the Gram matrix X̃X̃ᵀ, an
all-reduce of an (n_{k−1}+1)² matrix, and the gradient rows and the per-unit objective values, all-reduces
of n_k × (n_{k−1}+1) and n_k numbers per LM trial), after which every worker can fit a disjoint set of
units (or all of them redundantly) and broadcast the new rows. Only W and these sums travel; Z stays put.

=========  ==================  ======================================================================
paper      code                meaning
=========  ==================  ======================================================================
W_k, b_k   ``W[k-1], b[k-1]``  weights ``n_k × n_{k−1}`` and bias ``n_k × 1`` (k = 1 … L; L = K + 1)
z_{k,n}    ``Z[k-1][:, n]``    auxiliary coordinate: the output of hidden layer k for point n
                               (``Z[k-1]`` is ``n_k × N``, k = 1 … K; z_0 = x)
h          ``activation``      hidden activation (:class:`~amref.activations.Activation`: value, derivative
                               h′, Lipschitz bound β_h), the same for every hidden layer
R          ``problem.loss``    summed output loss (squared in the paper; cross-entropy, hinge)
μ          ``mu``              penalty parameter, increased along the path (M6)
λ_k        ``lam[k-1]``        multipliers ``n_k × N`` (augmented-Lagrangian variant; empty otherwise)
c_k        ``gaps[k-1]``       constraint gap ``z_k − h(W_k z_{k−1} + b_k)`` (cached after each step)
ν          ``w_damping``,      LM damping relative to the mean curvature eigenvalue, per unit / point
           ``z_damping``
λ_W        ``weight_decay``    ridge on the weights (not the biases); amref's, 0 (none) in the paper
=========  ==================  ======================================================================

``diagnostics`` reports ``objective`` = E_Q(W, Z; μ) (E_A for the augmented-Lagrangian variant, the
quantity then decreased; both include the ridge term), ``residual`` = Σ_k ‖c_k‖² (the constraint
violation), ``penalty_objective`` = E_Q, ``fit_loss`` = R(W_L z_K + b_L; y), ``mu`` and ``converged``.
The driver's ``train_loss`` is the nested (forward-pass) error.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Literal

from .. import activations as _core_activations
from ..activations import Activation
from ..backend import Array, namespace
from ..backend import device as device_of
from ..contract import SolverSpec
from ..losses import cross_entropy_columns
from ..losses import get as get_loss
from ..options import Options, nonnegative, number, positive
from ..problem import MLP, Params, join_params, split_params

__all__ = [
    "ACTIVATIONS", "MACOptions", "MACState", "SOLVER", "constraint_gaps", "diagnostics", "end_iteration",
    "get_activation", "gram_basis", "init_state", "lm_descent", "loss_columns", "loss_entries", "loss_rows",
    "next_mu", "params", "step", "stop_when_converged", "update_W_hidden", "update_W_output", "update_lam",
    "update_z",
]


# ----------------------------------------------------------------------------- activation and loss pieces
#: The activation names MAC takes: all of :mod:`amref.activations`.
ACTIVATIONS = _core_activations.ACTIVATIONS


def get_activation(name: str | Activation) -> Activation:
    """The :class:`~amref.activations.Activation` record called ``name`` (one for every hidden layer).

    MAC's Z-step couples layer k with layer k + 1, so one h serves all hidden layers: a per-layer spec
    whose names differ raises ``ValueError``.
    """
    if isinstance(name, Activation):
        return name
    parts = set(_core_activations.canonical(name).split(","))
    if len(parts) != 1:
        raise ValueError(f"MAC takes one activation for every hidden layer, got {name!r}")
    return _core_activations.get(parts.pop())


def _slope_bound(act: Activation) -> float:
    """β_h ≥ sup |h′|: the record's Lipschitz constant; 0 for the step (h′ = 0 wherever it exists)."""
    return 0.0 if act.lipschitz is None else float(act.lipschitz)


def loss_entries(loss: str, z: Array, y: Array) -> Array:
    """Entrywise terms of a loss that is separable over entries (squared, hinge); they sum to R(z; y)."""
    xp = namespace(z, y)
    if loss == "squared":
        return 0.5 * (z - y) ** 2
    if loss == "hinge":
        return y * xp.maximum(1.0 - z, 0.0) + (1.0 - y) * xp.maximum(z, 0.0)
    raise ValueError(f"MAC: loss {loss!r} is not separable over entries")


def loss_columns(loss: str, z: Array, y: Array) -> Array:
    """Per-point output loss, shape ``(1, N)`` (the columns of R(z; y), which sum to it).

    The loss record of :mod:`amref.losses` has only the summed value; the Z-step accepts a trial per
    point, so it needs the per-column terms.
    """
    xp = namespace(z, y)
    if loss == "cross_entropy":
        return cross_entropy_columns(z, y)
    return xp.sum(loss_entries(loss, z, y), axis=0, keepdims=True)


def loss_rows(loss: str, z: Array, y: Array) -> Array:
    """Per-output-unit loss, shape ``(C, 1)``, for the losses separable over outputs (squared, hinge);
    ``(1, 1)`` (the total) for the cross-entropy, whose softmax couples the outputs."""
    xp = namespace(z, y)
    if loss == "cross_entropy":
        return xp.reshape(xp.sum(cross_entropy_columns(z, y)), (1, 1))
    return xp.sum(loss_entries(loss, z, y), axis=1, keepdims=True)


# ----------------------------------------------------------------------------- options and state
@dataclasses.dataclass(frozen=True)
class MACOptions(Options):
    """MAC options. The paper's μ path values could not be checked (see the module docstring); the
    defaults are amref's, chosen so that the digits run (100-100 ReLU, squared loss, 50 iterations)
    reaches the accuracy of a gradient method.

    Attributes
    ----------
    mu0 : float
        μ_0, the first penalty.
    mu_factor : float
        Geometric schedule (M6): μ ← mu_factor · μ at the end of each stage (≥ 1; 1 keeps μ fixed).
    mu_max : float
        Cap on μ.
    iters_per_mu : int
        Most alternations (driver iterations) at one μ.
    stage_tol : float
        A stage ends early when E_Q decreased by at most ``stage_tol`` (relative) in an alternation.
    feasibility_tol : float
        Stopping rule: the path stops (further steps leave the state unchanged) at the end of a stage
        that ended because E_Q stopped decreasing and whose violation Σ_k‖c_k‖²/N is ≤ this.
    variant : {"quadratic-penalty", "augmented-lagrangian"}
        E_Q (the paper's main method) or the augmented Lagrangian with the multiplier step M5.
    w_iters : int
        LM trials per layer in each W-step (M2, M3).
    z_iters : int
        LM trials per layer in each Z-step (M4).
    z_sweeps : int
        Sweeps over the hidden layers in each Z-step.
    lm_damping : float
        Initial LM damping ν, relative to the mean eigenvalue of the curvature matrix.
    lm_factor : float
        ν ÷ lm_factor after an accepted trial, × lm_factor after a rejected one (> 1).
    lm_damping_min, lm_damping_max : float
        Bounds on the relative damping (keep it from under- or overflowing).
    nonsmooth_curvature : float
        Curvature used in place of the Lipschitz constant of ∇R for a non-smooth loss (hinge) in M3/M4.
    weight_decay : float
        λ_W, a ridge (λ_W/2)‖W_k‖² on every layer's weights (not the biases) in the W-step and in E_Q.
        The paper has no regulariser: 0 (the default) is its objective. A step activation's hidden
        layers do not move in M2 (h′ = 0), so there the ridge acts on the output layer only.
    """

    mu0: float = positive(1.0)
    mu_factor: float = number(2.0, low=1.0)
    mu_max: float = positive(1e6)
    iters_per_mu: int = number(3, low=1)
    stage_tol: float = nonnegative(1e-3)
    feasibility_tol: float = nonnegative(1e-8)
    variant: Literal["quadratic-penalty", "augmented-lagrangian"] = "quadratic-penalty"
    w_iters: int = number(3, low=1)
    z_iters: int = number(3, low=1)
    z_sweeps: int = number(1, low=1)
    lm_damping: float = positive(1e-9)
    lm_factor: float = number(10.0, low=1.0, low_open=True)
    lm_damping_min: float = positive(1e-12)
    lm_damping_max: float = positive(1e12)
    nonsmooth_curvature: float = positive(1.0)
    weight_decay: float = nonnegative(0.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mu0 > self.mu_max:
            raise ValueError(f"mu0 must not exceed mu_max, got mu0={self.mu0!r} > mu_max={self.mu_max!r}")
        if not self.lm_damping_min <= self.lm_damping <= self.lm_damping_max:
            raise ValueError(f"lm_damping must lie in [lm_damping_min, lm_damping_max], got {self.lm_damping!r}")


@dataclasses.dataclass(frozen=True)
class MACState:
    """All variables after an iteration (tuples indexed 0… for layers 1…; ``Z``, ``lam``, ``gaps`` have
    one entry per hidden layer)."""

    W: tuple
    b: tuple
    Z: tuple
    lam: tuple
    gaps: tuple
    mu: float
    w_damping: tuple
    z_damping: tuple
    x_basis: tuple  # (Q, Λ) of [x; 1][x; 1]ᵀ, fixed data: computed once
    loss: str
    activation: str
    iteration: int = 0
    stage_iters: int = 0
    stage_objective: float = math.inf
    converged: bool = False


# ----------------------------------------------------------------------------- the inner solver
def lm_descent(
    x: Array,
    value_and_grad: Callable[[Array], tuple[Array, Array]],
    basis: Array,
    curvature: Array,
    damping: Array,
    max_iter: int,
    options: MACOptions,
    rest: float = 0.0,
) -> tuple[Array, Array]:
    r"""Bounded Levenberg–Marquardt on independent column problems sharing one curvature matrix.

    Minimises ``Σ_groups f_g(x)`` where the columns of ``x`` (``d × m``) are independent problems
    (``value_and_grad`` returns per-column values ``(1, m)``) or one coupled problem (values ``(1, 1)``)
    and their gradient ``d × m``. The curvature is ``M = Q diag(D) Qᵀ + rest·(I − QQᵀ)`` (``basis`` Q,
    ``d × r`` with orthonormal columns, r ≤ d; ``curvature`` D, ``r × 1``; ``rest``, the curvature on the
    complement of span(Q), counts only when r < d). With the relative damping ν (``damping``, one per
    value) and s the mean eigenvalue of M, a trial is ``x − (M + νs·I)⁻¹ g``; it is kept where it does
    not increase the value. Returns ``(x, ν)`` after ``max_iter`` trials; the value never increases in
    any group.
    """
    xp = namespace(x, basis, curvature)
    d, r = basis.shape
    if r == d:
        scale = xp.mean(curvature) + xp.max(curvature) * options.lm_damping_min  # > 0 unless D ≡ 0
    else:  # the d − r eigenvalues `rest` of the complement count in the mean and the max
        top = xp.maximum(xp.max(curvature), rest)
        scale = (xp.sum(curvature) + (d - r) * rest) / d + top * options.lm_damping_min
    f, g = value_and_grad(x)
    nu = damping
    for _ in range(max_iter):
        trial = x - _damped_solve(g, basis, curvature, rest, nu * scale)
        f_trial, g_trial = value_and_grad(trial)
        ok = f_trial <= f
        x = xp.where(ok, trial, x)
        g = xp.where(ok, g_trial, g)
        f = xp.where(ok, f_trial, f)
        nu = xp.clip(xp.where(ok, nu / options.lm_factor, nu * options.lm_factor),
                     options.lm_damping_min, options.lm_damping_max)
    return x, nu


def _damped_solve(g: Array, Q: Array, D: Array, rest: float, shift: Array) -> Array:
    """``(Q diag(D) Qᵀ + rest·(I − QQᵀ) + shift·I)⁻¹ g`` with ``shift`` per column (``1 × m``).

    For a square Q the complement is empty. For a thin Q and ``rest = 0`` the complement part of g is
    taken as 0 (true of a W-step's gradient without the ridge, which lies in span(Q)) and not formed.
    """
    Qg = Q.T @ g
    step = Q @ (Qg / (D + shift))
    if Q.shape[0] > Q.shape[1] and rest > 0.0:
        step = step + (g - Q @ Qg) / (rest + shift)
    return step


def _eig(M: Array) -> tuple[Array, Array]:
    """``(Q, Λ)`` of a symmetric positive semidefinite M, Λ as a clipped column ``d × 1``."""
    xp = namespace(M)
    lam, Q = xp.linalg.eigh(M)
    return Q, xp.reshape(xp.maximum(lam, 0.0), (-1, 1))


def gram_basis(a: Array) -> tuple[Array, Array]:
    """Eigenbasis ``(Q, Λ)`` of ``ã ãᵀ`` with ``ã = [a; 1ᵀ]`` (the design of a layer with a bias).

    For a wide input (``a`` is ``d × N`` with d + 1 > N) the thin basis: Q = U, ``(d+1) × N``, and Λ = S²
    from the SVD ``ã = U S Vᵀ`` (the other d + 1 − N eigenvalues are 0; see the module docstring).
    """
    xp = namespace(a)
    if a.shape[0] + 1 > a.shape[1]:
        ones = xp.ones((1, a.shape[1]), dtype=a.dtype, device=device_of(a))
        U, S, _ = xp.linalg.svd(xp.concat([a, ones], axis=0), full_matrices=False)
        return U, xp.reshape(S * S, (-1, 1))
    s = xp.sum(a, axis=1, keepdims=True)
    n = xp.full((1, 1), float(a.shape[1]), dtype=a.dtype, device=device_of(a))
    G = xp.concat([xp.concat([a @ a.T, s], axis=1), xp.concat([s.T, n], axis=1)], axis=0)
    return _eig(G)


def _split_wb(V: Array) -> tuple[Array, Array]:
    """``Vᵀ = [W b]`` → (W, b)."""
    return V[:-1, :].T, V[-1:, :].T


def _join_wb(W: Array, b: Array) -> Array:
    """(W, b) → ``V = [W b]ᵀ``, the LM variable of a W-step (one column per unit)."""
    xp = namespace(W, b)
    return xp.concat([W, b], axis=1).T


def _wb_grad(a: Array, dz: Array) -> Array:
    """∂/∂V of a layer objective whose gradient wrt ``u = W a + b`` is ``dz``: ``[a; 1] dzᵀ``."""
    xp = namespace(a, dz)
    return xp.concat([a @ dz.T, xp.sum(dz, axis=1, keepdims=True).T], axis=0)


def _with_ridge(value_and_grad: Callable[[Array], tuple[Array, Array]],
                weight_decay: float) -> Callable[[Array], tuple[Array, Array]]:
    """A W-step's ``value_and_grad`` of ``V = [W b]ᵀ`` plus the ridge ``(λ_W/2)‖W‖²`` (not the bias row).

    The ridge is added per unit (column of V) to per-unit values, or in total to a layer's single value
    (the cross-entropy's ``(1, 1)``); its gradient is ``λ_W [Wᵀ; 0]``. ``weight_decay = 0``: unchanged.
    """
    if weight_decay == 0.0:
        return value_and_grad

    def ridged(V):
        xp = namespace(V)
        f, g = value_and_grad(V)
        Wt = V[:-1, :]
        sq = xp.sum(Wt * Wt, axis=0, keepdims=True)
        if f.shape[1] != sq.shape[1]:
            sq = xp.sum(sq, axis=1, keepdims=True)
        return f + (0.5 * weight_decay) * sq, g + weight_decay * xp.concat([Wt, xp.zeros_like(V[-1:, :])], axis=0)

    return ridged


def _w_curvature(c: float, basis: tuple[Array, Array], options: MACOptions) -> tuple[Array, Array, float]:
    """``(Q, cΛ + λ_W, λ_W)``: a W-step's basis, its curvature and the curvature off a thin basis."""
    Q, lam = basis
    wd = options.weight_decay
    return Q, (c * lam + wd) if wd > 0.0 else c * lam, wd


# ----------------------------------------------------------------------------- subproblems
def update_W_hidden(W: Array, b: Array, z_prev: Array, target: Array, mu: float, damping: Array,
                    basis: tuple[Array, Array], act: Activation, options: MACOptions) -> tuple[Array, Array, Array]:
    r"""M2: ``min_{W,b} (μ/2)‖target − h(W z_{k−1} + b)‖²``, target = z_k + s_k, every unit separately.

    With ``options.weight_decay`` λ_W > 0 each unit's objective adds ``(λ_W/2)‖w_j‖²``. ``basis`` is the
    eigenbasis of ``[z_{k−1}; 1][z_{k−1}; 1]ᵀ`` (:func:`gram_basis`); curvature ``μβ_h²Λ + λ_W``, one
    damping per unit (``damping`` is ``1 × n_k``). Returns ``(W, b, damping)``.
    """
    xp = namespace(W, z_prev, target)
    if _slope_bound(act) == 0.0:  # h′ = 0 wherever it exists (the step): the gradient and the step are 0
        return W, b, damping

    def value_and_grad(V):
        Wv, bv = _split_wb(V)
        u = Wv @ z_prev + bv
        r = target - act.value(u)
        f = (0.5 * mu) * xp.sum(r * r, axis=1, keepdims=True).T
        return f, _wb_grad(z_prev, (-mu) * (act.derivative(u) * r))

    Q, curvature, rest = _w_curvature(mu * _slope_bound(act)**2, basis, options)
    V, nu = lm_descent(_join_wb(W, b), _with_ridge(value_and_grad, options.weight_decay), Q, curvature,
                       damping, options.w_iters, options, rest)
    return (*_split_wb(V), nu)


def update_W_output(W: Array, b: Array, z_prev: Array, y: Array, loss: str, damping: Array,
                    basis: tuple[Array, Array], options: MACOptions) -> tuple[Array, Array, Array]:
    r"""M3: ``min_{W_L, b_L} R(W_L z_K + b_L; y)`` (a linear least-squares fit for the squared loss, a
    multinomial logistic regression for the cross-entropy), plus ``(λ_W/2)‖W_L‖²`` with the ridge.
    Curvature ``H_R Λ + λ_W``; one damping per output unit for the squared and hinge losses, one for the
    layer for the cross-entropy. Returns ``(W, b, damping)``.
    """
    ell = get_loss(loss)

    def value_and_grad(V):
        Wv, bv = _split_wb(V)
        z = Wv @ z_prev + bv
        return loss_rows(loss, z, y).T, _wb_grad(z_prev, ell.grad(z, y))

    c = options.nonsmooth_curvature if ell.lipschitz is None else ell.lipschitz
    Q, curvature, rest = _w_curvature(c, basis, options)
    V, nu = lm_descent(_join_wb(W, b), _with_ridge(value_and_grad, options.weight_decay), Q, curvature,
                       damping, options.w_iters, options, rest)
    return (*_split_wb(V), nu)


def update_z(z: Array, a: Array, shift: Array, W_next: Array, b_next: Array, target_next: Array | None,
             y: Array | None, loss: str, mu: float, damping: Array, act: Activation,
             options: MACOptions) -> tuple[Array, Array]:
    r"""M4: the Z-step of one hidden layer, every point (column) separately, batched.

    ``min_z (μ/2)‖z + s_k − a_k‖² + next(z)`` with ``a_k = h(W_k z_{k−1} + b_k)`` fixed (``a``), and
    ``next(z) = (μ/2)‖target_next − h(W_{k+1} z + b_{k+1})‖²`` (target_next = z_{k+1} + s_{k+1}) for k < K,
    ``R(W_L z + b_L; y)`` per point for k = K (``target_next=None``). Curvature ``μ + cΛ(W_{k+1}ᵀW_{k+1})``
    with c = μβ_h² or H_R; one damping per point (``1 × N``). Returns ``(z, damping)``.
    """
    xp = namespace(z, a, W_next)
    ell = get_loss(loss)
    base = a - shift  # the first term is (μ/2)‖z − base‖²

    def value_and_grad(v):
        e = v - base
        u = W_next @ v + b_next
        if target_next is None:
            f_next, du = loss_columns(loss, u, y), ell.grad(u, y)
        else:
            r = target_next - act.value(u)
            f_next, du = (0.5 * mu) * xp.sum(r * r, axis=0, keepdims=True), (-mu) * (act.derivative(u) * r)
        return (0.5 * mu) * xp.sum(e * e, axis=0, keepdims=True) + f_next, mu * e + W_next.T @ du

    if target_next is None:
        c = options.nonsmooth_curvature if ell.lipschitz is None else ell.lipschitz
    else:
        c = mu * _slope_bound(act)**2
    Q, lam = _eig(W_next.T @ W_next)
    return lm_descent(z, value_and_grad, Q, mu + c * lam, damping, options.z_iters, options)


def update_lam(lam: tuple, gaps: tuple, mu: float) -> tuple:
    """M5 (augmented Lagrangian): ``λ_k ← λ_k + μ c_k``."""
    return tuple(l + mu * c for l, c in zip(lam, gaps))


def next_mu(mu: float, options: MACOptions) -> float:
    """M6: ``μ ← min(mu_factor · μ, mu_max)``."""
    return min(mu * options.mu_factor, options.mu_max)


# ----------------------------------------------------------------------------- objective pieces
def constraint_gaps(W: tuple, b: tuple, Z: tuple, x: Array, act: Activation) -> tuple:
    """``c_k = z_k − h(W_k z_{k−1} + b_k)`` for the hidden layers (z_0 = x)."""
    inputs = (x, *Z[:-1])
    return tuple(z - act.value(Wk @ a + bk) for z, Wk, bk, a in zip(Z, W, b, inputs))


def _terms(fit: float, state: MACState, xp, weight_decay: float = 0.0) -> dict[str, float]:
    violation = sum(float(xp.sum(c * c)) for c in state.gaps)
    e_q = fit + 0.5 * state.mu * violation
    if weight_decay > 0.0:
        e_q += 0.5 * weight_decay * sum(float(xp.sum(Wk * Wk)) for Wk in state.W)
    e_a = e_q + sum(float(xp.sum(l * c)) for l, c in zip(state.lam, state.gaps))
    return {"fit_loss": fit, "violation": violation, "penalty_objective": e_q, "objective": e_a if state.lam else e_q}


# ----------------------------------------------------------------------------- the iteration
def init_state(problem: MLP, data, params: Params, options: MACOptions) -> MACState:
    """Z from a forward pass of the initial weights (feasible: c = 0), μ = μ_0, λ = 0, dampings at ``lm_damping``."""
    act = get_activation(problem.activation)
    xp = namespace(data.x_train)
    W, b = split_params(params)
    _, acts = problem.hidden(params, data.x_train)
    Z = tuple(acts[1:])
    n = data.x_train.shape[1]

    def ones(m):
        return xp.full((1, m), options.lm_damping, dtype=data.x_train.dtype, device=device_of(data.x_train))

    w_damp = tuple(ones(Wk.shape[0]) for Wk in W[:-1])
    w_damp += (ones(1 if problem.loss == "cross_entropy" else W[-1].shape[0]),)
    lam = tuple(xp.zeros_like(z) for z in Z) if options.variant == "augmented-lagrangian" else ()
    return MACState(
        W=tuple(W), b=tuple(b), Z=Z, lam=lam, gaps=constraint_gaps(W, b, Z, data.x_train, act), mu=float(options.mu0),
        w_damping=w_damp, z_damping=tuple(ones(n) for _ in Z), x_basis=gram_basis(data.x_train),
        loss=problem.loss, activation=problem.activation,
    )


def step(state: MACState, data, options: MACOptions) -> MACState:
    """One alternation: the W-step (M2 for every hidden layer, M3) then the Z-step (M4, layers 1 … K).

    A state whose path has stopped (``converged``) is returned unchanged but for the iteration count.
    """
    if state.converged:
        return dataclasses.replace(state, iteration=state.iteration + 1)
    x, y, mu = data.x_train, data.y_train, state.mu
    act = get_activation(state.activation)
    W, b, Z = list(state.W), list(state.b), list(state.Z)
    w_damp, z_damp = list(state.w_damping), list(state.z_damping)
    shifts = [l / mu for l in state.lam] or [None] * len(Z)
    K = len(Z)
    inputs = lambda k: x if k == 0 else Z[k - 1]  # noqa: E731  z_{k} for 0-based layer k (its input)
    target = lambda k: Z[k] if shifts[k] is None else Z[k] + shifts[k]  # noqa: E731
    for k in range(K):  # M2, independent over layers and units
        basis = state.x_basis if k == 0 else gram_basis(inputs(k))
        W[k], b[k], w_damp[k] = update_W_hidden(W[k], b[k], inputs(k), target(k), mu, w_damp[k], basis, act, options)
    basis = state.x_basis if K == 0 else gram_basis(Z[K - 1])
    W[K], b[K], w_damp[K] = update_W_output(W[K], b[K], inputs(K), y, state.loss, w_damp[K], basis, options)  # M3
    for _ in range(options.z_sweeps):  # M4, Gauss–Seidel over layers, independent over points
        for k in range(K):
            a = act.value(W[k] @ inputs(k) + b[k])
            shift = 0.0 if shifts[k] is None else shifts[k]
            nxt = target(k + 1) if k + 1 < K else None
            Z[k], z_damp[k] = update_z(Z[k], a, shift, W[k + 1], b[k + 1], nxt, y, state.loss, mu, z_damp[k],
                                       act, options)
    return dataclasses.replace(
        state, W=tuple(W), b=tuple(b), Z=tuple(Z), gaps=constraint_gaps(W, b, Z, x, act),
        w_damping=tuple(w_damp), z_damping=tuple(z_damp), iteration=state.iteration + 1,
    )


def diagnostics(state: MACState, data, options: MACOptions) -> dict:
    """``objective`` (E_Q; E_A for the augmented Lagrangian; both with the ridge term), ``residual`` =
    Σ_k‖c_k‖², ``penalty_objective``, ``fit_loss`` = R(W_L z_K + b_L), ``mu`` (the μ this iteration used)
    and ``converged`` (0/1)."""
    xp = namespace(data.x_train)
    last_in = state.Z[-1] if state.Z else data.x_train
    fit = float(get_loss(state.loss).value(state.W[-1] @ last_in + state.b[-1], data.y_train))
    terms = _terms(fit, state, xp, options.weight_decay)
    return {
        "objective": terms["objective"],
        "residual": terms["violation"],
        "penalty_objective": terms["penalty_objective"],
        "fit_loss": fit,
        "mu": state.mu,
        "converged": float(state.converged),
    }


def end_iteration(state: MACState, row: dict, options: MACOptions) -> MACState:
    """The μ path: end the stage after ``iters_per_mu`` alternations or when E_Q stopped decreasing;
    then stop if feasible (see ``feasibility_tol``), else M5 (augmented Lagrangian) and M6."""
    if state.converged:
        return state
    objective = float(row["objective"])
    previous = state.stage_objective  # E_Q after the previous alternation at this μ (inf at a stage's start)
    stalled = math.isfinite(previous) and previous - objective <= options.stage_tol * abs(previous)
    stage_iters = state.stage_iters + 1
    if not stalled and stage_iters < options.iters_per_mu:
        return dataclasses.replace(state, stage_iters=stage_iters, stage_objective=objective)
    n = state.gaps[0].shape[1] if state.gaps else 1
    if stalled and float(row["residual"]) / n <= options.feasibility_tol:
        return dataclasses.replace(state, converged=True, stage_iters=stage_iters, stage_objective=objective)
    lam = update_lam(state.lam, state.gaps, state.mu) if state.lam else state.lam
    return dataclasses.replace(state, lam=lam, mu=next_mu(state.mu, options), stage_iters=0,
                               stage_objective=math.inf)


def params(state: MACState) -> Params:
    """Current weights ``[W_1, b_1, …, W_L, b_L]`` (the nested model)."""
    return join_params(state.W, state.b)


def stop_when_converged(info) -> None:
    """A :func:`~amref.driver.minimize` callback that ends the run once the path has stopped."""
    if getattr(info.state, "converged", False):
        raise StopIteration


SOLVER = SolverSpec(
    name="mac",
    options_class=MACOptions,
    init_state=init_state,
    step=step,
    diagnostics=diagnostics,
    params=params,
    end_iteration=end_iteration,
    paper_loss="squared",
)
