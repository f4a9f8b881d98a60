r"""BCD — Zeng, Lau, Lin, Yao, "Global Convergence of Block Coordinate Descent in Deep Learning",
ICML 2019 (arXiv 1803.00225).

The 3-splitting lifted problem (U_i pre-activations, V_i post-activations, V_0 = x, the last layer
linear: σ_L = identity, σ_i = ReLU for i < L in the paper's experiments; any activation of
:mod:`amref.activations` here — the paper covers ReLU, sigmoid and linear units and more)::

    min  F = R(V_L; Y) + (γ/2) Σ_{i=1}^{L} ‖V_i − σ_i(U_i)‖² + (ρ/2) Σ_{i=1}^{L} ‖U_i − W_i V_{i−1} − b_i 1ᵀ‖²

One iteration is a **backward Gauss–Seidel sweep** (i = L → 1). Blocks whose subproblem is not
strongly convex get a proximal term (α/2)‖· − ·^{k−1}‖²; every block is then a closed form::

    (B1) V_L ← argmin_V R(V; Y) + (γ/2)‖V − U_L‖² + (α/2)‖V − V_L^{k−1}‖²
              squared loss: (Y + γU_L + αV_L^{k−1}) / (1 + γ + α)
    (B2) U_L ← argmin_U (γ/2)‖V_L − U‖² + (ρ/2)‖U − W_L V_{L−1} − b_L‖²  =  (γV_L + ρ m_L)/(γ + ρ)
    (B3) W_i ← argmin_W (ρ/2)‖U_i − W V_{i−1} − b_i‖² + (α/2)‖W − W_i^{k−1}‖²
              solve (αI + ρ V_{i−1}V_{i−1}ᵀ) Wᵀ = αW_i^{k−1 ᵀ} + ρ V_{i−1}(U_i − b_i)ᵀ
         b_i ← argmin_b (ρ/2)‖U_i − W_i V_{i−1} − b 1ᵀ‖² + (α/2)‖b − b_i^{k−1}‖²
              = (α b_i^{k−1} + ρ Σ_cols(U_i − W_i V_{i−1})) / (ρN + α)
    for i = L−1 … 1:
    (B4) V_i ← argmin_V (γ/2)‖V − σ(U_i)‖² + (ρ/2)‖U_{i+1} − W_{i+1} V − b_{i+1}‖²
              solve (ρ W_{i+1}ᵀW_{i+1} + γI) V = ρ W_{i+1}ᵀ(U_{i+1} − b_{i+1}) + γ σ(U_i)
    (B5) U_i ← argmin_U (γ/2)‖V_i − σ(U)‖² + (ρ/2)‖U − m_i‖² + (α/2)‖U − U_i^{k−1}‖²   elementwise (ReLU prox)
    (B6) W_i, b_i as in B3

where m_i = W_i V_{i−1} + b_i 1ᵀ with the newest values. The labels B1–B6 are ours: the paper's PDF
body could not be read for this implementation, so its equation numbers are not quoted. The scheme
and every closed form above were checked against the PyTorch code of the
paper's second author, ``timlautk/BCD-for-DNNs-PyTorch`` (``bcd_dnn_mlp_mnist.ipynb``: ``V4 = (y +
γU4 + αV4)/(1+γ+α)``, ``U4 = (γV4 + ρ(W4V3 + b4))/(γ+ρ)``, ``updateWb_js``, ``updateV_js``,
``relu_prox``; γ = ρ = 1, α = 5). The biases are that code's (the paper's model may have none; not
verified).

=========  ================  ==============================================================================
paper      code              meaning
=========  ================  ==============================================================================
W_i, b_i   ``W[i-1]``,       weights ``n_i × n_{i−1}``, bias ``n_i × 1`` (zero and fixed when ``bias=False``)
           ``b[i-1]``
U_i        ``U[i-1]``        pre-activation ``n_i × N``
V_i        ``V[i-1]``        post-activation ``n_i × N`` (V_L is the output estimate, V_0 = x)
R          ``problem.loss``  ½‖V_L − Y‖² (``"squared"``, the paper's experiments) or any other loss of
                             :mod:`amref.losses` (B1 only needs its prox: cross-entropy / hinge)
γ, ρ, α    ``gamma, rho,``   penalties on V_i = σ(U_i) and on U_i = W_iV_{i−1} + b_i; proximal weight
           ``alpha``
m_i        ``m[i-1]``        ``W_i V_{i−1} + b_i 1ᵀ`` at the end of the previous sweep (a cache)
=========  ================  ==============================================================================

**Monotone quantity.** Every step is an exact minimisation of F (plus a proximal term) in its block
with the others fixed, so F never increases, and (sufficient descent, the first step of the paper's
Kurdyka–Łojasiewicz argument) ``F^{k−1} − F^k ≥ (α/2)(‖ΔV_L‖² + Σ_i ‖ΔW_i‖² + ‖Δb_i‖² + Σ_{i<L} ‖ΔU_i‖²)``.
This holds for the Gauss–Seidel (W_i then b_i with the new W_i) order used by default. The code
updates W_i and b_i together from the old pair (``wb_update="jacobi"``, in
:meth:`BCDOptions.released_code`), for which neither statement is guaranteed.

**Activations.** B5 stays an exact global minimiser for every activation of :mod:`amref.activations`
(:func:`~amref.solvers.subproblems.activation_prox`), so the monotone decrease and the sufficient descent
hold for each. The convergence of the whole sequence (the Kurdyka–Łojasiewicz step) needs σ Lipschitz
continuous (ReLU, leaky ReLU, hard tanh, linear, sigmoid, tanh are); for the discontinuous binary step it is
not claimed.

**Cost.** B3/B6 form ``V Vᵀ`` (O(n_{i−1}² N)) and solve an n_{i−1} × n_{i−1} system (O(n_{i−1}³));
B4 factors the n_i × n_i matrix ``ρWᵀW + γI`` and solves for N right-hand sides (O(n_i³ + n_i² N)).
Solves only, never an explicit inverse (the code uses ``torch.inverse``).

Initial values (the code's): U_i, V_i from a forward pass of the initial weights, V_L = U_L. The code
draws W ~ N(0, 0.01²) and b = 0.1 (:func:`released_code_init`).

Examples
--------
>>> import numpy as np
>>> import amref
>>> from amref.solvers.bcd import BCDOptions
>>> data = amref.load_dataset("digits").subset(train_size=200, test_size=100)
>>> problem = amref.MLP((64, 16, 10), loss="squared")
>>> result = amref.minimize(amref.get_solver("bcd"), problem, data, BCDOptions(), max_iter=5)
>>> result.nit, result.success
(5, True)
>>> bool(np.all(np.diff(result.history["objective"]) <= 0))   # every block step is exact: F never increases
True
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, Literal

import numpy as np

from ..activations import BISECTION_STEPS, Activation, layer_activations
from ..backend import Array, from_host, get_namespace, namespace, solve_spd
from ..backend import device as device_of
from ..contract import SolverSpec
from ..losses import get as get_loss
from ..options import Options, number, positive
from ..problem import MLP, Params, join_params, split_params
from .subproblems import ZLOptions, activation_prox, loss_prox

__all__ = [
    "SOLVER",
    "BCDOptions",
    "BCDState",
    "diagnostics",
    "init_state",
    "lifted_objective",
    "params",
    "released_code_init",
    "step",
    "update_U",
    "update_U_last",
    "update_V",
    "update_V_last",
    "update_Wb",
]


@dataclasses.dataclass(frozen=True)
class BCDOptions(Options):
    """Zeng et al. BCD options; defaults are those of the authors' PyTorch code (the paper's
    experimental values were not re-read in the PDF).

    Attributes
    ----------
    gamma : float
        γ, penalty on ``V_i = σ_i(U_i)`` (code: 1).
    rho : float
        ρ, penalty on ``U_i = W_i V_{i−1} + b_i`` (code: 1).
    alpha : float
        α > 0, weight of the proximal terms (code: 5).
    bias : bool
        Biases as in the code (True) or held at zero (False).
    wb_update : {"gauss-seidel", "jacobi"}
        ``"gauss-seidel"``: b_i uses the new W_i (each block an exact prox step, F monotone).
        ``"jacobi"``: the code's ``updateWb_js``, both from the old pair.
    zl : ZLOptions
        Solver of B1 when the loss is the cross-entropy (exact per-column Newton by default).
    activation_steps : int
        Bisection halvings of B5 for sigmoid and tanh (:func:`amref.activations.smooth_prox`).
    """

    gamma: float = positive(1.0)
    rho: float = positive(1.0)
    alpha: float = positive(5.0)
    bias: bool = True
    wb_update: Literal["gauss-seidel", "jacobi"] = "gauss-seidel"
    zl: ZLOptions = ZLOptions(method="newton")
    activation_steps: int = number(BISECTION_STEPS, low=1)

    @classmethod
    def released_code(cls, **overrides) -> "BCDOptions":
        """``timlautk/BCD-for-DNNs-PyTorch``: γ = ρ = 1, α = 5, W_i and b_i updated from the old pair."""
        values: dict[str, Any] = dict(gamma=1.0, rho=1.0, alpha=5.0, bias=True, wb_update="jacobi")
        values.update(overrides)
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class BCDState:
    """All variables after an iteration (tuples are indexed 0…L−1 for layers 1…L)."""

    W: tuple
    b: tuple
    U: tuple
    V: tuple
    m: tuple
    loss: str
    iteration: int = 0
    zl_iterations: int = 0
    activation: str = "relu"


# ----------------------------------------------------------------------------- subproblems
def update_V_last(V: Array, U: Array, y: Array, loss: str, options: BCDOptions) -> tuple[Array, int]:
    """B1: ``V_L = argmin_V R(V; Y) + (γ/2)‖V − U_L‖² + (α/2)‖V − V_L^{k−1}‖²``.

    The two quadratics merge into ``((γ+α)/2)‖V − (γU_L + αV_L^{k−1})/(γ+α)‖²``, so this is the prox of
    R with weight γ + α (:func:`~amref.solvers.subproblems.loss_prox`; for the squared loss
    ``(Y + γU_L + αV_L^{k−1})/(1 + γ + α)``). Returns ``(V_L, inner_iterations)``.
    """
    w = options.gamma + options.alpha
    c = (options.gamma * U + options.alpha * V) / w
    z, info = loss_prox(loss, c, y, w, V, options.zl)
    return z, info.iterations


def update_U_last(V_last: Array, m_last: Array, options: BCDOptions) -> Array:
    """B2: ``U_L = argmin_U (γ/2)‖V_L − U‖² + (ρ/2)‖U − m_L‖² = (γV_L + ρm_L)/(γ + ρ)`` (no proximal term)."""
    return (options.gamma * V_last + options.rho * m_last) / (options.gamma + options.rho)


def update_Wb(W: Array, b: Array, U: Array, V_prev: Array, options: BCDOptions) -> tuple[Array, Array]:
    """B3 / B6: the proximal least-squares steps of W_i and b_i.

    ``W⁺``: solve ``(αI + ρ V Vᵀ) W⁺ᵀ = αWᵀ + ρ V (U − b1ᵀ)ᵀ`` (V = V_{i−1}).
    ``b⁺ = (αb + ρ Σ_cols(U − W̃ V))/(ρN + α)`` with W̃ = W⁺ (``"gauss-seidel"``) or W (``"jacobi"``);
    ``Σ_cols(W̃V) = W̃ (V 1)`` costs one matrix–vector product. Returns ``(W⁺, b⁺)``.
    """
    xp = namespace(W, b, U, V_prev)
    alpha, rho = options.alpha, options.rho
    n = V_prev.shape[0]
    M = rho * (V_prev @ V_prev.T) + alpha * xp.eye(n, dtype=W.dtype, device=device_of(W))
    W_new = xp.linalg.solve(M, alpha * W.T + rho * (V_prev @ (U - b).T)).T
    if not options.bias:
        return W_new, b
    W_used = W_new if options.wb_update == "gauss-seidel" else W
    col_sum = xp.sum(U, axis=1, keepdims=True) - W_used @ xp.sum(V_prev, axis=1, keepdims=True)
    b_new = (alpha * b + rho * col_sum) / (rho * U.shape[1] + alpha)
    return W_new, b_new


def update_V(U: Array, W_next: Array, b_next: Array, U_next: Array, options: BCDOptions, *,
             activation: str | Activation = "relu") -> Array:
    """B4: ``V_i = argmin_V (γ/2)‖V − σ(U_i)‖² + (ρ/2)‖U_{i+1} − W_{i+1}V − b_{i+1}‖²`` (strongly convex, no prox).

    Solves ``(ρ W_{i+1}ᵀW_{i+1} + γI) V = ρ W_{i+1}ᵀ(U_{i+1} − b_{i+1}) + γ σ(U_i)``.
    """
    xp = namespace(U, W_next, b_next, U_next)
    gamma, rho = options.gamma, options.rho
    M = rho * (W_next.T @ W_next) + gamma * xp.eye(W_next.shape[1], dtype=W_next.dtype, device=device_of(W_next))
    h = layer_activations(activation, 1)[0]
    # M's eigenvalues are ≥ γ: a Cholesky solve (float32 stays float32 on NumPy); the right-hand side is ours
    return solve_spd(M, rho * (W_next.T @ (U_next - b_next)) + gamma * h.value(U), overwrite_b=True)


def update_U(U: Array, V: Array, m: Array, options: BCDOptions, *, activation: str | Activation = "relu") -> Array:
    """B5: ``U_i = argmin_U (γ/2)‖V_i − σ(U)‖² + (ρ/2)‖U − m_i‖² + (α/2)‖U − U_i^{k−1}‖²``, elementwise.

    :func:`~amref.solvers.subproblems.relu_prox` with weights (ρ, γ, α) compares the best point of each
    ReLU branch on the full objective (the code's ``relu_prox`` is the same minimiser written as a case
    split). Any other activation: :func:`~amref.solvers.subproblems.activation_prox`, exact and global.
    """
    return activation_prox(activation, m, V, alpha=options.rho, beta=options.gamma, z_prev=U, delta=options.alpha,
                           steps=options.activation_steps)


# ----------------------------------------------------------------------------- the iteration
def init_state(problem: MLP, data, params: Params, options: BCDOptions) -> BCDState:
    """U_i, V_i from a forward pass (biases zeroed when ``bias=False``), V_L = U_L (the code's start)."""
    xp = namespace(data.x_train)
    W, b = split_params(params)
    if not options.bias:
        b = [xp.zeros_like(bl) for bl in b]
    zs, acts = problem.hidden(join_params(W, b), data.x_train)
    V = tuple(acts[1:]) + (zs[-1],)
    return BCDState(W=tuple(W), b=tuple(b), U=tuple(zs), V=V, m=tuple(zs), loss=problem.loss,
                    activation=problem.activation)


def step(state: BCDState, data, options: BCDOptions) -> BCDState:
    """One backward sweep B1–B6 (i = L → 1); returns a new state with m refreshed for the next sweep."""
    x, y = data.x_train, data.y_train
    W, b, U, V = list(state.W), list(state.b), list(state.U), list(state.V)
    last = len(W) - 1
    inputs = lambda i: x if i == 0 else V[i - 1]  # noqa: E731  V_{i-1}, the newest value
    h = layer_activations(state.activation, last)
    V[last], k = update_V_last(V[last], U[last], y, state.loss, options)  # B1
    U[last] = update_U_last(V[last], state.m[last], options)  # B2
    W[last], b[last] = update_Wb(W[last], b[last], U[last], inputs(last), options)  # B3
    for i in range(last - 1, -1, -1):
        V[i] = update_V(U[i], W[i + 1], b[i + 1], U[i + 1], options, activation=h[i])  # B4
        U[i] = update_U(U[i], V[i], state.m[i], options, activation=h[i])  # B5 (m_i: W_i, b_i, V_{i-1} not yet touched)
        W[i], b[i] = update_Wb(W[i], b[i], U[i], inputs(i), options)  # B6
    m = tuple(W[i] @ inputs(i) + b[i] for i in range(last + 1))
    return dataclasses.replace(
        state, W=tuple(W), b=tuple(b), U=tuple(U), V=tuple(V), m=m, iteration=state.iteration + 1, zl_iterations=k
    )


def lifted_objective(state: BCDState, y: Array, options: BCDOptions) -> float:
    """F(W, b, U, V) of the module docstring."""
    xp = namespace(y, state.V[-1])
    total = float(get_loss(state.loss).value(state.V[-1], y))
    return total + 0.5 * options.gamma * _act_gap(state, xp) + 0.5 * options.rho * _lin_gap(state, xp)


def _act_gap(state: BCDState, xp: ModuleType) -> float:
    last = len(state.U) - 1
    h = layer_activations(state.activation, last)
    return sum(float(xp.sum((Vi - (Ui if i == last else h[i].value(Ui))) ** 2))
               for i, (Ui, Vi) in enumerate(zip(state.U, state.V)))


def _lin_gap(state: BCDState, xp: ModuleType) -> float:
    return sum(float(xp.sum((Ui - mi) ** 2)) for Ui, mi in zip(state.U, state.m))


def diagnostics(state: BCDState, data, options: BCDOptions) -> dict:
    """``objective`` = F; ``residual`` = Σ_i ‖U_i − W_iV_{i−1} − b_i‖² + ‖V_i − σ_i(U_i)‖² (how far the
    lifted variables are from a network's forward pass; BCD has no hard constraint); ``fit_loss`` =
    R(V_L; Y) (the code's logged ``sq_loss`` for γ = 1); B1 inner iterations."""
    xp = namespace(state.V[-1])
    act, lin = _act_gap(state, xp), _lin_gap(state, xp)
    fit = float(get_loss(state.loss).value(state.V[-1], data.y_train))
    return {
        "objective": fit + 0.5 * options.gamma * act + 0.5 * options.rho * lin,
        "residual": act + lin,
        "fit_loss": fit,
        "zl_iterations": state.zl_iterations,
    }


def params(state: BCDState) -> Params:
    """Current weights ``[W_1, b_1, …, W_L, b_L]``."""
    return join_params(state.W, state.b)


def released_code_init(
    problem: MLP,
    seed: int = 0,
    *,
    xp: ModuleType | None = None,
    device: Any = None,
    dtype: str = "float64",
    weight_std: float = 0.01,
    bias_value: float = 0.1,
) -> Params:
    """The code's initial weights: ``W_i ~ N(0, 0.01²)`` (seeded host stream, NumPy's not torch's) and ``b_i = 0.1``."""
    xp = get_namespace("numpy") if xp is None else xp
    rng = np.random.default_rng(seed)
    host = []
    for (n_out, n_in), _ in zip(problem.param_shapes()[0::2], problem.param_shapes()[1::2]):
        host += [rng.normal(0.0, weight_std, size=(n_out, n_in)), np.full((n_out, 1), bias_value)]
    return [from_host(h, xp, device=device, dtype=dtype) for h in host]


SOLVER = SolverSpec(
    name="bcd",
    options_class=BCDOptions,
    init_state=init_state,
    step=step,
    diagnostics=diagnostics,
    params=params,
    paper_loss="squared",
)
