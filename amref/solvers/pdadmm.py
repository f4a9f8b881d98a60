r"""pdADMM — Wang, Chai, Cheng, Zhao, "Toward Model Parallelism for Deep Neural Network based on
Gradient-free ADMM Framework", ICDM 2020 — and, with options, pdADMM-G / pdADMM-G-Q (Wang, Li, Chai,
Wang, Cheng, Zhao, "Towards Quantized Model Parallelism for Graph-Augmented MLPs Based on Gradient-Free
ADMM Framework", TNNLS 2022; :mod:`amref.solvers.pdadmm_g`).

Each layer's input p_l is split from the previous layer's output q_{l−1}; only the splitting
constraints p_{l+1} = q_l carry duals (Problem 2)::

    min  F = R(z_L; y) + (ν/2) ( Σ_{l=1}^{L} ‖z_l − W_l p_l − b_l‖² + Σ_{l=1}^{L−1} ‖q_l − f(z_l)‖² )
    s.t. p_{l+1} = q_l   (l = 1 … L−1),   p_1 = x

    L_ρ = F + Σ_{l=1}^{L−1} ( ⟨u_l, p_{l+1} − q_l⟩ + (ρ/2)‖p_{l+1} − q_l‖² )

pdADMM-G is the same problem on GA-MLP features (p_1 = [X; ÂX; Â²X; …], :func:`amref.data.graphs.graph_dataset`).
pdADMM-G-Q (Problem 3) adds p_l ∈ Δ (a finite set) for l = 2 … L: ``β_ρ = L_ρ + Σ_l I_Δ(p_l)``.

Algorithm 1, iteration k (every block type for all layers "in parallel", i.e. Jacobi across layers,
Gauss–Seidel across block types; m_l = W_l p_l + b_l 1ᵀ)::

    p_l  (l ≥ 2)  p⁺ = p − ∇_pφ/τ,  ∇_pφ = −ν W_lᵀ(z_l − m_l) + u_{l−1} + ρ(p_l − q_{l−1})      (step 1)
                  uses W^k_l, b^k_l, z^k_l and the left neighbour's q^k_{l−1}, u^k_{l−1};
                  G-Q: p⁺ = Proj_Δ(p − ∇_pφ/τ)                                   (Appendix B of -G-Q)
    W_l           W⁺ = W + (ν/θ)(z^k_l − W p^{k+1}_l − b^k_l) p^{k+1ᵀ}_l                          (step 2)
    b_l           b⁺ = the b-block of (ν/2)‖z^k_l − W^{k+1} p^{k+1} − b‖²  (see ``bias_step``)     (step 3)
    z_l  (l < L)  argmin (ν/2)‖z − m^{k+1}_l‖² + (ν/2)‖q^k_l − f(z)‖² + (ν/2)‖z − z^k_l‖²          (step 4)
    z_L           argmin R(z; y) + (ν/2)‖z − m^{k+1}_L‖²                                           (step 4)
    q_l  (l < L)  q⁺ = (ρ p^{k+1}_{l+1} + u^k_l + ν f(z^{k+1}_l)) / (ρ + ν)                        (step 5)
                  uses the right neighbour's **new** p^{k+1}_{l+1}
    u_l  (l < L)  u⁺ = u + ρ(p^{k+1}_{l+1} − q^{k+1}_l)                                            (step 6)

("step n" is the n-th update of Algorithm 1 in the order above; the
displayed-equation numbers of the paper were not recorded for this implementation. pdADMM-G's Appendix A has the
same formulas; pdADMM-G-Q's Appendix B changes only step 1.)

=========  ==================  ========================================================================
paper      code                meaning
=========  ==================  ========================================================================
p_l        ``blocks[l-1].p``   input of layer l, ``n_{l−1} × N`` (``None`` for l = 1: p_1 = x is fixed)
W_l, b_l   ``.W``, ``.b``      weights ``n_l × n_{l−1}``, bias column ``n_l × 1``
z_l        ``.z``              pre-activation ``n_l × N``; z_L is the output
q_l        ``.q``              output of layer l < L, ``n_l × N`` (``None`` for l = L)
u_l        ``.u``              dual of p_{l+1} = q_l, ``n_l × N`` (``None`` for l = L)
m_l        ``.m``              cache of ``W_l p_l + b_l 1ᵀ``, kept current by every step that changes it
ν, ρ       ``nu``, ``rho``     penalty of the relaxed layer equations; ADMM penalty of p_{l+1} = q_l
τ, θ       ``p_step0``,        start values of the p- and W-backtracking (pdADMM code: 10;
           ``W_step0``         pdADMM-G code: 20)
Δ          ``levels``          quantization set of pdADMM-G-Q (:class:`amref.quantize.Grid`)
=========  ==================  ========================================================================

Layer-local seam (for the layer-parallel runner)
-------------------------------------------------
One iteration is written as two pure per-layer functions; a runner may place each layer on its own
worker and only exchange the boundary arrays between neighbours::

    primal:  block_l ← update_layer_primal(block_l, q_prev=q^k_{l−1}, u_prev=u^k_{l−1}, …)   # p, W, b, z
             (layer 1 takes ``x`` instead, the last layer takes ``y``)
    send:    p^{k+1}_l  → layer l − 1
    dual:    block_l ← update_layer_dual(block_l, p_next=p^{k+1}_{l+1}, …)                   # q, u
    send:    q^{k+1}_l, u^{k+1}_l → layer l + 1  (used in iteration k + 1)
    scalars: layer_diagnostics(block_l, p_next, …) → {objective, residual, …}; the sums over layers
             are the solver's diagnostics

:func:`step` is exactly that, mapped over the layers serially: every primal update reads the q, u of
the previous iteration (the primal half never changes them), every dual update reads the new p. The
hyperparameters that change during a run (ρ, ν) are passed as arguments, not stored in the blocks.

Choices where the paper and the code differ (``docs/papers/pdadmm.md``; defaults are the paper's)
-------------------------------------------------------------------------------------------------
* ``nu`` and ``rho`` are separate (paper); ``nu_equals_rho=True`` is the code's single parameter. The
  papers' accuracy experiments use ρ = ν = 1e-4 (the default), which violates Lemma 1's ρ > 4ν; the
  convergence experiments use ν = ρ = 0.1 (pdADMM) and ν = 0.01, ρ = 1 (pdADMM-G).
* Backtracking (p and W) is computed in closed form (:func:`~amref.solvers.subproblems.doubling_step`):
  the same constants a literal doubling loop accepts, without the code's unbounded loops. The quantized
  p-step has no closed form (the projection depends on τ) and runs the literal loop, bounded by
  ``max_doublings`` or, when that is None (the paper), by ``search_cap``.
* ``bias_step="exact"`` (default) is the exact block minimiser (the code's column mean). The paper's
  printed step b − ∇_bφ/ν uses a summed gradient with weight ν and overshoots by a factor N (it is not a
  majoriser for N > 1 samples and diverges for N > 2); ``"paper-literal"`` keeps it for checking
  (the same resolution as dlADMM's ``bias_step``).
* ``z_compare="full"`` picks the ReLU branch on the full z-objective including the proximal term; the
  code drops the proximal term from the comparison (``"without_prox"``),
  which breaks the descent argument of Lemma 1.
* z_L is solved by FISTA with the safe step 1/H = 2 (code: η = 4) or exact per-column Newton.
* **Losses.** The papers use the cross-entropy; the z_L step only needs the prox of R and Lemma 1 asks no
  smoothness of R, so every output loss of :mod:`amref.losses` is taken (squared and hinge: z_L in
  closed form). The output layer's block carries the loss's name.
* **Activations.** Every activation of :mod:`amref.activations` trains; each layer's block carries its f,
  and the z-step stays exact and global (:func:`~amref.solvers.subproblems.activation_prox`). Lemma 1 and
  the convergence theorem assume f Lipschitz with constant S and bounded subgradients: leaky ReLU
  (S = max(1, slope)), hard tanh, linear, tanh (S = 1) and sigmoid (S = 1/4) keep them (use
  :func:`lemma1_condition` with that S); the binary step is discontinuous, so none of the papers'
  results is claimed for it (the solver still runs).
* ``weight_decay`` μ adds Ω(W) = (μ/2)‖W‖² to every W-block and to the objective (pdADMM-G code; paper 0).
* ``rho_schedule="cost"``: the pdADMM-G code's rule, ρ ← min(10ρ, 1) when the training loss failed to
  drop by 1e-3 twice in a row (paper: constant). The code checks it with a 0-based loop counter ``i > 2``,
  so it can first fire after the 4th iteration (``cost_start``). The -G-Q code's 10-layer stage changes
  the rule (:meth:`amref.solvers.pdadmm_g.PdADMMGQOptions.released_code` with ``stage="deep"``): it fires
  only in iterations 22–50 with cap 0.01 and from iteration 52 on with cap 1e-3 (which can *lower* ρ),
  and its earlier comparison has no tolerance (``rho_windows``, ``cost_tol_first``); with 0.001 on both
  comparisons (``cost_tol_first=None``) the Cora -G-Q row of Table III comes out within a point.
* ``carry_state`` (greedy hand-over, :func:`amref.solvers.greedy.train_greedy` with
  ``handover="state"``): the layers a deeper stage keeps start from the shallower stage's p, z, q (the
  codes' protocol), the new layers from a forward pass of the last kept q; all duals start at 0.
* ``zl_init``: z_L starts at ±1 from the labels (papers, both codes' deep stages); the pdADMM-G code's
  2-layer stage starts it at 0.
* Quantization (pdADMM-G-Q): ``quantize="p"`` (paper) projects the p gradient step onto Δ;
  ``"q"`` (the released code) solves the q-step exactly over Δ (q is separable: the nearest level of the
  unconstrained minimiser) and leaves p continuous; ``"pq"`` does both. Δ defaults to the paper's
  integers −1…20 (:data:`~amref.quantize.PAPER_LEVELS`); the code's grid is
  :data:`~amref.quantize.CODE_LEVELS`. With ``"q"`` the identity u_l = ν(q_l − f(z_l)) no longer holds.
* The initial p_l (a forward pass) is not in Δ; the first quantized p-step projects it. β_ρ is finite
  (and, for ρ > 4ν, non-increasing) from the first iteration on. Diagnostics report L_ρ as
  ``objective`` (= β_ρ whenever ``off_grid`` is 0).

Examples
--------
>>> import numpy as np
>>> import amref
>>> from amref.solvers.pdadmm import PdADMMOptions
>>> data = amref.load_dataset("digits").subset(train_size=200, test_size=100)
>>> problem = amref.MLP((64, 16, 10))
>>> result = amref.minimize(amref.get_solver("pdadmm"), problem, data, PdADMMOptions(rho=0.5, nu=0.1), max_iter=5)
>>> result.nit, result.success
(5, True)
>>> bool(np.all(np.diff(result.history["objective"]) <= 0))   # ρ > 4ν: L_ρ never increases (Lemma 1)
True
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace
from typing import Literal

from .. import kernels
from ..activations import BISECTION_STEPS, Activation, get as get_activation, layer_activations
from ..backend import Array, dtype_name, inner, namespace, sum_of_squares
from ..contract import SolverSpec
from ..losses import Loss
from ..losses import get as get_loss
from ..options import Options, nonnegative, number, positive
from ..problem import MLP, Params, join_params
from ..quantize import PAPER_LEVELS, Grid, as_grid, boundary_bytes, count_off_grid, levels_like, project
from .subproblems import ZLOptions, activation_prox, bias_step, linearized_input_step, linearized_weight_step, loss_prox

__all__ = [
    "LAYER_FUNCTIONS",
    "SOLVER",
    "carry_state",
    "diagnostics",
    "diagnostics_row",
    "end_iteration",
    "identity_holds",
    "init_state",
    "layer_diagnostics",
    "LayerBlock",
    "lemma1_condition",
    "params",
    "PdADMMOptions",
    "PdADMMState",
    "Quantize",
    "step",
    "sum_layer_diagnostics",
    "update_b",
    "update_layer_dual",
    "update_layer_primal",
    "update_p",
    "update_q",
    "update_u",
    "update_W",
    "update_z_hidden",
    "update_z_last",
]

Quantize = Literal["p", "q", "pq"]


def _rho_windows(value) -> tuple:
    """``rho_windows`` as a tuple of ``(first, last, cap)`` triples (lists accepted); raises on anything else."""
    def integer(v):
        return isinstance(v, int) and not isinstance(v, bool)

    try:
        windows = tuple(tuple(w) for w in value)
    except TypeError:
        windows = None
    ok = windows is not None and all(
        len(w) == 3 and integer(w[0]) and w[0] >= 1 and (w[1] is None or (integer(w[1]) and w[1] >= w[0]))
        and isinstance(w[2], (int, float)) and not isinstance(w[2], bool) and math.isfinite(w[2]) and w[2] > 0
        for w in windows)
    if not ok:
        raise ValueError(f"rho_windows must hold (first >= 1, last >= first or None, cap > 0) triples, got {value!r}")
    return tuple((w[0], w[1], float(w[2])) for w in windows)


@dataclasses.dataclass(frozen=True)
class PdADMMOptions(Options):
    """pdADMM options; defaults are the paper's (ICDM 2020, Sec IV).

    Attributes
    ----------
    rho, nu : float
        ADMM penalty ρ and relaxation penalty ν (paper accuracy runs: both 1e-4; Lemma 1 needs ρ > 4ν).
    nu_equals_rho : bool
        Released code: one parameter for both (ν follows ρ's schedule).
    p_step0, W_step0 : float
        Start values of the τ (p) and θ (W) backtracking (pdADMM code: 10; pdADMM-G code: 20).
    backtrack_factor : float
        Growth factor of the backtracking (2 in every code).
    max_doublings : int or None
        Cap on the growths; when hit, the block keeps its value (pdADMM-G code: 10; paper and pdADMM
        code: none).
    search_cap : int
        Bound on the literal doubling loop of the quantized p-step when ``max_doublings`` is None.
    bias_step : {"exact", "paper-literal"}
        ``"exact"``: the exact block minimiser (code); ``"paper-literal"``: the step as printed (module docstring).
    z_compare : {"full", "without_prox"}
        How the hidden z-step picks its ReLU branch (module docstring).
    weight_decay : float
        μ ≥ 0 of Ω(W) = (μ/2)‖W‖² (paper 0; pdADMM-G code e.g. 0.01 for the 10-layer Cora stage).
    quantize : {None, "p", "q", "pq"}
        Which boundary variables are constrained to ``levels`` (pdADMM-G-Q); None for pdADMM / -G.
    levels : Grid or str
        Δ (paper: integers −1…20); a name of :data:`amref.quantize.NAMED_GRIDS` (``"paper"``, ``"code"``,
        ``"flickr"``, ``"arxiv"``) is accepted and stored as its grid.
    zl : ZLOptions
        The z_L solver.
    zl_init : {"labels", "zeros", "forward"}
        Initial z_L: ±1 from the labels (paper), 0 (pdADMM-G code's 2-layer stage) or the forward pass.
    rho_schedule : {"constant", "cost"}
        ``"constant"`` (paper) or ``"cost"``: ρ ← min(ρ·rho_factor, rho_max) when the training loss failed to
        drop by ``cost_tol`` ``cost_patience`` times in a row (pdADMM-G code).
    rho_factor : float
        Growth factor of ρ under the ``"cost"`` schedule (code: 10).
    rho_max : float
        Cap on ρ under the ``"cost"`` schedule (code: 1).
    cost_tol : float
        The training loss must drop by more than this to count as a drop (code: 1e-3).
    cost_patience : int
        Consecutive iterations without a drop that trigger the ``"cost"`` schedule (code: 2).
    activation_steps : int
        Bisection halvings of the hidden z-step for sigmoid and tanh (:func:`amref.activations.smooth_prox`).
    cost_start : int
        First iteration (1-based) after which the ``"cost"`` schedule may fire (code: 4; its 0-based
        loop counter must exceed 2).
    cost_tol_first : float or None
        Tolerance of the earlier comparisons of the ``"cost"`` test (all but the last pair of losses);
        None: ``cost_tol`` (pdADMM-G code). The -G-Q code's 10-layer stage: 0 (``c_{i−1} > c_{i−2}``).
    rho_windows : tuple
        ``(first, last, cap)`` triples of 1-based iterations (``last`` None: open-ended): when not
        empty the ``"cost"`` schedule fires only inside a window, with that window's cap in place of
        ``rho_max``; ρ ← min(ρ·rho_factor, cap) can then lower ρ. ``()`` (default): every iteration,
        cap ``rho_max``. -G-Q code's 10-layer stage: ``((22, 50, 0.01), (52, None, 0.001))``.
    """

    rho: float = positive(1e-4)
    nu: float = positive(1e-4)
    nu_equals_rho: bool = False
    p_step0: float = positive(10.0)
    W_step0: float = positive(10.0)
    backtrack_factor: float = number(2.0, low=1.0, low_open=True)
    max_doublings: int | None = nonnegative(None)
    search_cap: int = number(64, low=1)
    bias_step: Literal["exact", "paper-literal"] = "exact"
    z_compare: Literal["full", "without_prox"] = "full"
    weight_decay: float = nonnegative(0.0)
    quantize: Quantize | None = None
    levels: Grid = number(PAPER_LEVELS, convert=as_grid)
    zl: ZLOptions = ZLOptions()
    zl_init: Literal["labels", "zeros", "forward"] = "labels"
    activation_steps: int = number(BISECTION_STEPS, low=1)
    rho_schedule: Literal["constant", "cost"] = "constant"
    rho_factor: float = number(10.0, low=1.0)
    rho_max: float = positive(1.0)
    cost_tol: float = nonnegative(1e-3)
    cost_patience: int = number(2, low=1)
    cost_start: int = number(4, low=1)
    cost_tol_first: float | None = nonnegative(None)
    rho_windows: tuple = number((), convert=_rho_windows)

    @property
    def quantize_p(self) -> bool:
        """True when p_l is constrained to Δ."""
        return self.quantize in ("p", "pq")

    @property
    def quantize_q(self) -> bool:
        """True when q_l is constrained to Δ."""
        return self.quantize in ("q", "pq")

    @classmethod
    def released_code(cls, rho: float = 1e-4, **overrides) -> "PdADMMOptions":
        """The pdADMM code: ν = ρ = 1e-4 fixed, τ₀ = θ₀ = 10 (uncapped), exact
        bias step, z branch chosen without the proximal term, FISTA η = 4, tol 1e-3, ≤ 500 iterations."""
        values = dict(
            rho=rho, nu=rho, nu_equals_rho=True, p_step0=10.0, W_step0=10.0, max_doublings=None,
            bias_step="exact", z_compare="without_prox",
            zl=ZLOptions(method="fista", fista_step=4.0, fista_max_iter=500, fista_tol=1e-3),
        )
        values.update(overrides)
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class LayerBlock:
    """Layer l's variables (everything one worker of the layer-parallel runner owns).

    ``p`` is None for the first layer (p_1 = x is the data); ``q`` and ``u`` are None for the output
    layer. ``m`` caches ``W p + b``. ``zl_iterations`` is the inner iteration count of the last z_L
    solve and ``loss`` the name of the output loss R (both used by the output layer only);
    ``activation`` is the layer's f (hidden layers only).
    """

    p: Array | None
    W: Array
    b: Array
    z: Array
    q: Array | None
    u: Array | None
    m: Array
    zl_iterations: int = 0
    loss: str = "cross_entropy"
    activation: str = "relu"


@dataclasses.dataclass(frozen=True)
class PdADMMState:
    """All of pdADMM's variables after an iteration; ``blocks[l-1]`` is layer l."""

    blocks: tuple
    rho: float
    nu: float
    iteration: int = 0
    costs: tuple = ()


# ----------------------------------------------------------------------------- subproblems
def update_p(p, W, m, z, q_prev, u_prev, rho, nu, options):
    """Algorithm 1 step 1 (pdADMM-G-Q: its quantized form, Appendix B): one prox-linear step on p_l, τ by backtracking.

    φ(p) = (ν/2)‖z − W p − b‖² + ⟨u_{l−1}, p − q_{l−1}⟩ + (ρ/2)‖p − q_{l−1}‖², a quadratic with Hessian
    ``νWᵀW + ρI``; ``g = −νWᵀ(z − m) + u_{l−1} + ρ(p − q_{l−1})`` and ⟨g,Hg⟩ = ν‖Wg‖² + ρ‖g‖², so the
    backtracking is closed form. Quantized: ``p⁺ = Proj_Δ(p − g/τ)`` and the test
    ``φ(p⁺) ≤ φ(p) + ⟨g, d⟩ + τ/2‖d‖²`` (d = p⁺ − p), which for this quadratic reads
    ``ν‖Wd‖² + ρ‖d‖² ≤ τ‖d‖²``, is run literally for τ = τ₀, 2τ₀, … (bounded); if no τ passes, p⁺ =
    Proj_Δ(p) (the code's fallback). Returns ``(p⁺, m⁺, τ)``.
    """
    T = W.T @ (z - m)
    kernel = kernels.fused("pdadmm_p_grad", T, u_prev, p, q_prev)
    g = -nu * T + u_prev + rho * (p - q_prev) if kernel is None else kernel(T, u_prev, p, q_prev, nu, rho)
    if options.quantize_p:
        return _quantized_p_step(p, g, W, m, rho, nu, options)
    return linearized_input_step(p, g, W, m, nu, rho, options.p_step0, factor=options.backtrack_factor,
                                 max_doublings=options.max_doublings)


def _quantized_p_step(p, g, W, m, rho, nu, options):
    """The projected backtracking loop of pdADMM-G-Q's p-step (see :func:`update_p`)."""
    cap = options.search_cap if options.max_doublings is None else options.max_doublings
    grid = options.levels
    kernel = kernels.fused("grid_trial", p, g) if grid.kind == "uniform" and grid.count > 1 else None
    tau, buffers = options.p_step0, None
    for _ in range(cap + 1):
        if kernel is None:
            cand = project(p - g / tau, grid)
            d = cand - p
            dd = sum_of_squares(d)
        else:  # the same three in one pass (into the rejected trial's arrays, when there was one)
            cand, d, dd = kernel(p, g, tau, levels_like(grid, p), grid.start, grid.step, out=buffers)
            buffers = (cand, d)
        Wd = W @ d
        if nu * sum_of_squares(Wd) + rho * dd <= tau * dd:
            Wd += m  # m + Wd, in place on the new product
            return cand, Wd, tau
        tau *= options.backtrack_factor
    cand = project(p, options.levels)
    return cand, m + W @ (cand - p), tau


def update_W(W, p, m, z, nu, options):
    """Algorithm 1 step 2: ``W⁺ = W − G/θ`` with ``G = −ν(z − m)pᵀ + μW``, θ by backtracking (closed form).

    φ(W) = (ν/2)‖z − W p − b‖² + (μ/2)‖W‖²; ⟨G,HG⟩ = ν‖Gp‖² + μ‖G‖², and Gp also updates m
    (:func:`~amref.solvers.subproblems.linearized_weight_step`). Returns ``(W⁺, m⁺, θ)``.
    """
    return linearized_weight_step(W, p, m, z, nu, options.W_step0, decay=options.weight_decay,
                                  factor=options.backtrack_factor, max_doublings=options.max_doublings)


def update_b(b, m, z, options):
    """Algorithm 1 step 3: the b-block of (ν/2)‖z − W p − b1ᵀ‖².

    ``"exact"``: ``b⁺ = b + mean_j(z − m)_j`` (the minimiser; the code's column mean). ``"paper-literal"``:
    ``b⁺ = b − ∇_bφ/ν = b + Σ_j (z − m)_j`` (:func:`~amref.solvers.subproblems.bias_step`). Returns ``(b⁺, m⁺)``.
    """
    return bias_step(b, m, z, options.bias_step)


def update_z_hidden(m, q, z_prev, options, *, activation: str | Activation = "relu"):
    """Algorithm 1 step 4 (l < L): ``argmin_z (ν/2)‖z − m‖² + (ν/2)‖q − f(z)‖² + (ν/2)‖z − z^k‖²``.

    ReLU, elementwise and exact (:func:`~amref.solvers.subproblems.relu_prox` with α = β = δ = 1):
    branches ``min((m + z^k)/2, 0)`` and ``max((m + q + z^k)/3, 0)``, compared per ``z_compare``. Any
    other activation: :func:`~amref.solvers.subproblems.activation_prox` (one point per linear piece,
    compared per ``z_compare``; sigmoid and tanh have one branch and ``z_compare`` does not apply).
    """
    return activation_prox(activation, m, q, alpha=1.0, beta=1.0, z_prev=z_prev, delta=1.0,
                           compare=options.z_compare, steps=options.activation_steps)


def update_z_last(m, y, nu, z_prev, options, *, loss: str | Loss = "cross_entropy"):
    """Algorithm 1 step 4 (l = L): ``argmin_z R(z; y) + (ν/2)‖z − m_L‖²``, the prox of the loss
    (:func:`~amref.solvers.subproblems.loss_prox`), warm-started at z_prev when it needs an inner solver.

    Returns ``(z_L, inner_iterations)``.
    """
    z, info = loss_prox(loss, m, y, nu, z_prev, options.zl)
    return z, info.iterations


def update_q(p_next, u, z, rho, nu, options, *, activation: str | Activation = "relu"):
    """Algorithm 1 step 5: ``q⁺ = (ρ p_{l+1} + u_l + ν f(z_l)) / (ρ + ν)``, the exact minimiser of
    ``(ν/2)‖q − f(z)‖² − ⟨u, q⟩ + (ρ/2)‖p_{l+1} − q‖²``.

    With q constrained to Δ (``quantize`` ``"q"``/``"pq"``) the objective is ``((ρ+ν)/2)‖q − q*‖² + const``
    elementwise, so the nearest level of q* is the exact constrained minimiser.
    """
    q = (rho * p_next + u + nu * get_activation(activation).value(z)) / (rho + nu)
    return project(q, options.levels) if options.quantize_q else q


def update_u(u, p_next, q, rho):
    """Algorithm 1 step 6: ``u⁺ = u + ρ(p_{l+1} − q_l)``.

    Without quantized q, :func:`update_layer_dual` computes steps 5 and 6 together, in one pass for large
    NumPy arrays (the fused kernel ``"pdadmm_dual"`` of :mod:`amref.kernels`, the same bits as these two).
    """
    return u + rho * (p_next - q)


# ----------------------------------------------------------------------------- per-layer functions
def update_layer_primal(
    block: LayerBlock,
    q_prev: Array | None,
    u_prev: Array | None,
    *,
    rho: float,
    nu: float,
    options: PdADMMOptions,
    x: Array | None = None,
    y: Array | None = None,
) -> LayerBlock:
    """Layer l's primal half of one iteration: p_l (step 1) → W_l (step 2) → b_l (step 3) → z_l (step 4).

    Parameters
    ----------
    block
        Layer l's variables after iteration k.
    q_prev, u_prev
        The left neighbour's q^k_{l−1}, u^k_{l−1} (None for the first layer).
    rho, nu
        Current penalties.
    options
        Solver options.
    x
        The input data p_1 (first layer only).
    y
        One-hot labels (output layer only).

    Returns
    -------
    LayerBlock
        New block with p^{k+1}, W^{k+1}, b^{k+1}, z^{k+1} (q, u unchanged).
    """
    first, last = block.p is None, block.q is None
    if first:
        if x is None:
            raise ValueError("the first layer's primal update needs the input data x")
        p, m = x, block.m
    else:
        if q_prev is None or u_prev is None:
            raise ValueError("layers l >= 2 need the left neighbour's q and u")
        p, m, _ = update_p(block.p, block.W, block.m, block.z, q_prev, u_prev, rho, nu, options)
    W, m, _ = update_W(block.W, p, m, block.z, nu, options)
    b, m = update_b(block.b, m, block.z, options)
    zl_iterations = 0
    if last:
        if y is None:
            raise ValueError("the output layer's primal update needs the labels y")
        z, zl_iterations = update_z_last(m, y, nu, block.z, options, loss=block.loss)
    else:
        z = update_z_hidden(m, block.q, block.z, options, activation=block.activation)
    return dataclasses.replace(block, p=None if first else p, W=W, b=b, z=z, m=m, zl_iterations=zl_iterations)


def update_layer_dual(
    block: LayerBlock, p_next: Array | None, *, rho: float, nu: float, options: PdADMMOptions
) -> LayerBlock:
    """Layer l's dual half: q_l (step 5) → u_l (step 6), from the right neighbour's new p^{k+1}_{l+1}.

    The output layer has neither (returned unchanged; ``p_next`` must be None).
    """
    if block.q is None:
        return block
    if p_next is None:
        raise ValueError("a hidden layer's dual update needs the right neighbour's p")
    kernel = None if options.quantize_q else kernels.fused("pdadmm_dual", p_next, block.u, block.z)
    if kernel is not None:  # steps 5 and 6 in one pass (the same arrays as update_q, update_u)
        relu = block.activation == "relu"
        fz = block.z if relu else get_activation(block.activation).value(block.z)
        q, u = kernel(p_next, block.u, fz, rho, nu, relu)
        return dataclasses.replace(block, q=q, u=u)
    q = update_q(p_next, block.u, block.z, rho, nu, options, activation=block.activation)
    u = update_u(block.u, p_next, q, rho)
    return dataclasses.replace(block, q=q, u=u)


def layer_diagnostics(
    block: LayerBlock,
    p_next: Array | None,
    *,
    rho: float,
    nu: float,
    options: PdADMMOptions,
    y: Array | None = None,
) -> dict:
    """Layer l's additive share of the diagnostics (a runner sums every key over the layers).

    ``objective``: (ν/2)‖z_l − m_l‖² + (μ/2)‖W_l‖², plus R(z_L; y) for the output layer, plus
    (ν/2)‖q_l − f(z_l)‖² + ⟨u_l, p_{l+1} − q_l⟩ + (ρ/2)‖p_{l+1} − q_l‖² for l < L — their sum over l is
    L_ρ. ``residual``: ‖p_{l+1} − q_l‖²; ``residual_norm``: ‖p_{l+1} − q_l‖; ``off_grid``: entries of
    p_l outside Δ (quantized p only).
    """
    r = block.z - block.m
    obj = 0.5 * nu * sum_of_squares(r)
    if options.weight_decay:
        obj += 0.5 * options.weight_decay * sum_of_squares(block.W)
    res = 0.0
    out: dict = {}
    if block.q is None:
        if y is None:
            raise ValueError("the output layer's diagnostics need the labels y")
        obj += float(get_loss(block.loss).value(block.z, y))
    else:
        if p_next is None:
            raise ValueError("a hidden layer's diagnostics need the right neighbour's p")
        gap = block.q - get_activation(block.activation).value(block.z)
        d = p_next - block.q
        res = sum_of_squares(d)
        obj += 0.5 * nu * sum_of_squares(gap) + inner(block.u, d) + 0.5 * rho * res
    out.update(objective=obj, residual=res, residual_norm=math.sqrt(res))
    if options.quantize_p:
        out["off_grid"] = float(count_off_grid(block.p, options.levels)) if block.p is not None else 0.0
    return out


# ----------------------------------------------------------------------------- the iteration
def init_state(problem: MLP, data, params: Params, options: PdADMMOptions) -> PdADMMState:
    """Initial variables (as in the released codes): z_l, q_l = f(z_l), p_{l+1} = q_l from a forward pass,
    z_L per ``zl_init`` (±1 from the labels by default), u = 0."""
    get_loss(problem.loss)  # every loss has the prox the z_L step needs; this only rejects an unknown name
    if problem.n_layers < 1:
        raise ValueError("pdADMM needs at least one layer")
    xp = namespace(data.x_train)
    zs, acts = problem.hidden(params, data.x_train)
    L = problem.n_layers
    if options.zl_init == "labels":
        z_last = problem.output_targets(data.y_train)
    elif options.zl_init == "zeros":
        z_last = xp.zeros_like(zs[-1])
    else:
        z_last = zs[-1]
    blocks = []
    hs = layer_activations(problem.activation, L - 1) + (get_activation("relu"),)  # the output layer has none
    for i in range(L):
        last = i == L - 1
        blocks.append(LayerBlock(
            p=None if i == 0 else acts[i],
            W=params[2 * i],
            b=params[2 * i + 1],
            z=z_last if last else zs[i],
            q=None if last else acts[i + 1],
            u=None if last else xp.zeros_like(acts[i + 1]),
            m=zs[i],
            loss=problem.loss,
            activation=hs[i].name,
        ))
    nu = options.rho if options.nu_equals_rho else options.nu
    return PdADMMState(blocks=tuple(blocks), rho=float(options.rho), nu=float(nu))


def step(state: PdADMMState, data, options: PdADMMOptions) -> PdADMMState:
    """One iteration of Algorithm 1: the primal half of every layer, then the dual half of every layer."""
    blocks, L = state.blocks, len(state.blocks)
    kw = dict(rho=state.rho, nu=state.nu, options=options)
    primal = tuple(
        update_layer_primal(
            blocks[i],
            blocks[i - 1].q if i else None,
            blocks[i - 1].u if i else None,
            x=data.x_train if i == 0 else None,
            y=data.y_train if i == L - 1 else None,
            **kw,
        )
        for i in range(L)
    )
    new = tuple(update_layer_dual(primal[i], primal[i + 1].p if i < L - 1 else None, **kw) for i in range(L))
    return dataclasses.replace(state, blocks=new, iteration=state.iteration + 1)


def sum_layer_diagnostics(parts: list[dict]) -> dict:
    """Key-wise sum over layers of :func:`layer_diagnostics` reports (what any runner adds up)."""
    total: dict = {}
    for part in parts:
        for k, v in part.items():
            total[k] = total.get(k, 0.0) + v
    return total


def diagnostics_row(total: dict, *, rho: float, nu: float, zl_iterations: int, bytes_sent: float) -> dict:
    """The history row of an iteration from the layer sums (shared by the serial and the dask runner)."""
    return {
        "objective": total["objective"],
        "residual": total["residual"],
        "residual_norm_sum": total["residual_norm"],
        "rho": rho,
        "nu": nu,
        "zl_iterations": zl_iterations,
        "bytes_sent": bytes_sent,
        **({"off_grid": total["off_grid"]} if "off_grid" in total else {}),
    }


def diagnostics(state: PdADMMState, data, options: PdADMMOptions) -> dict:
    """Sums of :func:`layer_diagnostics`: ``objective`` = L_ρ (β_ρ when p ∈ Δ), ``residual`` =
    Σ‖p_{l+1} − q_l‖² (the pdADMM-G code's ``linear_r``), ``residual_norm_sum`` = Σ‖p_{l+1} − q_l‖
    (pdADMM Fig 4), ρ, ν, z_L inner iterations and ``bytes_sent``, the bytes the boundary arrays p, q, u
    take per iteration in the working dtype (quantized variables as integer codes)."""
    blocks, L = state.blocks, len(state.blocks)
    parts = [layer_diagnostics(block, blocks[i + 1].p if i < L - 1 else None, rho=state.rho, nu=state.nu,
                               options=options, y=data.y_train if i == L - 1 else None)
             for i, block in enumerate(blocks)]
    widths = [blocks[0].W.shape[1]] + [blk.W.shape[0] for blk in blocks]
    sent = boundary_bytes(widths, data.x_train.shape[1], dtype=dtype_name(data.x_train),
                          quantize=options.quantize, grid=options.levels)
    return diagnostics_row(sum_layer_diagnostics(parts), rho=state.rho, nu=state.nu,
                           zl_iterations=blocks[-1].zl_iterations, bytes_sent=sent["total"])


def end_iteration(state: PdADMMState, row: dict, options: PdADMMOptions) -> PdADMMState:
    """ρ schedule (``"cost"``: the pdADMM-G codes' rule), applied after iteration ``state.iteration``.

    With the last ``cost_patience + 1`` training losses c_0 … c_P, ρ ← min(ρ·rho_factor, cap) when
    ``state.iteration ≥ cost_start`` and c_{j+1} > c_j − tol for every pair (tol = ``cost_tol`` for the
    last pair, ``cost_tol_first`` for the earlier ones when set); the cap is ``rho_max`` or, with
    ``rho_windows``, the cap of the window holding the iteration (no window: no change).
    """
    if options.rho_schedule != "cost":
        return state
    costs = (state.costs + (float(row["train_loss"]),))[-(options.cost_patience + 1):]
    rho, k = state.rho, state.iteration
    cap = options.rho_max
    if options.rho_windows:
        cap = next((c for first, last, c in options.rho_windows if first <= k and (last is None or k <= last)),
                   None)
    tols = [options.cost_tol if options.cost_tol_first is None else options.cost_tol_first] * (len(costs) - 2)
    tols.append(options.cost_tol)
    if (cap is not None and k >= options.cost_start and len(costs) == options.cost_patience + 1
            and all(c1 > c0 - tol for c0, c1, tol in zip(costs, costs[1:], tols))):
        rho = min(rho * options.rho_factor, cap)
    nu = rho if options.nu_equals_rho else state.nu
    return dataclasses.replace(state, rho=rho, nu=nu, costs=costs)


def carry_state(previous: PdADMMState, problem: MLP, data, params: Params, options: PdADMMOptions) -> PdADMMState:
    """Initial state of a deeper network that continues ``previous`` (the greedy hand-over of the codes).

    ``params`` are the grown weights (:func:`amref.solvers.greedy.grow_params`): the first L_s − 1 layers
    are ``previous``'s hidden layers. Those layers keep their p, z, q (and m); the new layers L_s … L start
    from a forward pass of the last kept q (p_{L_s} = q_{L_s−1}, z = m = W p + b, q = f(z), p_{l+1} = q_l);
    z_L follows ``zl_init``; every dual is 0 and ρ, ν start from ``options`` — what the pdADMM-G code does
    between its stages. (The pdADMM code also carries p_{L_s}, which differs from q_{L_s−1} by the
    residual of the previous run.)
    """
    state = init_state(problem, data, params, options)
    kept = len(previous.blocks) - 1
    if not 0 <= kept < len(state.blocks):
        raise ValueError(f"cannot continue a {len(previous.blocks)}-layer state with {len(state.blocks)} layers")
    if kept == 0:
        return state
    xp = namespace(data.x_train)
    blocks = list(state.blocks)
    for i in range(kept):
        old = previous.blocks[i]
        if old.W.shape != blocks[i].W.shape:
            raise ValueError(f"layer {i + 1}: the previous state's W has shape {old.W.shape}, "
                             f"the new network's {blocks[i].W.shape}")
        blocks[i] = dataclasses.replace(blocks[i], p=old.p, z=old.z, q=old.q, u=xp.zeros_like(old.q), m=old.m)
    a = blocks[kept - 1].q
    for i in range(kept, len(blocks)):
        blk = blocks[i]
        m = blk.W @ a + blk.b
        if blk.q is None:  # the output layer: z_L as init_state chose it
            blocks[i] = dataclasses.replace(blk, p=a, m=m, z=m if options.zl_init == "forward" else blk.z)
        else:
            q = get_activation(blk.activation).value(m)
            blocks[i] = dataclasses.replace(blk, p=a, m=m, z=m, q=q, u=xp.zeros_like(q))
            a = q
    return dataclasses.replace(state, blocks=tuple(blocks))


def params(state: PdADMMState) -> Params:
    """Current weights ``[W_1, b_1, …, W_L, b_L]``."""
    return join_params([blk.W for blk in state.blocks], [blk.b for blk in state.blocks])


def identity_holds(state: PdADMMState) -> float:
    """max_l ‖u_l − ν(q_l − f(z_l))‖_∞ — zero up to rounding after every iteration (Appendix Lemma 4)."""
    worst = 0.0
    for blk in state.blocks[:-1]:
        xp = namespace(blk.u)
        f = get_activation(blk.activation).value
        worst = max(worst, float(xp.max(xp.abs(blk.u - state.nu * (blk.q - f(blk.z))))))
    return worst


def lemma1_condition(rho: float, nu: float, lipschitz: float = 1.0) -> bool:
    """Lemma 1's ρ > max(4νS², (√17 + 1)ν/2) (S = 1 for ReLU, so ρ > 4ν)."""
    return rho > max(4 * nu * lipschitz**2, (math.sqrt(17) + 1) * nu / 2)


LAYER_FUNCTIONS = SimpleNamespace(
    init_state=init_state, state_class=PdADMMState, update_layer_primal=update_layer_primal,
    update_layer_dual=update_layer_dual, update_u=update_u, layer_diagnostics=layer_diagnostics,
    sum_layer_diagnostics=sum_layer_diagnostics, diagnostics_row=diagnostics_row,
)
"""What a layer-parallel runner calls (:attr:`~amref.contract.SolverSpec.layer_functions`): the same
per-layer functions :func:`step` and :func:`diagnostics` map over the layers."""

SOLVER = SolverSpec(
    name="pdadmm",
    options_class=PdADMMOptions,
    init_state=init_state,
    step=step,
    diagnostics=diagnostics,
    params=params,
    end_iteration=end_iteration,
    needs_train_loss=lambda options: options.rho_schedule == "cost",
    layer_functions=LAYER_FUNCTIONS,
    carry_state=carry_state,
)
