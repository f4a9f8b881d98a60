r"""Taylor ADMM — Taylor, Burmeister, Xu, Singh, Patel, Goldstein, "Training Neural Networks Without
Gradients: A Scalable ADMM Approach", ICML 2016 (arXiv 1605.02026).

The paper relaxes the layer constraints ``z_l = W_l a_{l−1}``, ``a_l = h(z_l)`` into quadratic
penalties and keeps a Bregman (Lagrange) multiplier λ **on the output layer only**. With λ fixed the
problem is::

    E(W, a, z; λ) = ℓ(z_L; y) + ⟨z_L, λ⟩ + β‖z_L − W_L a_{L−1}‖²
                    + Σ_{l<L} ( γ‖a_l − h(z_l)‖² + β‖z_l − W_l a_{l−1}‖² )

(the penalties carry no ½, as in the paper). One iteration of Algorithm 1, a Gauss–Seidel forward
sweep in which **every block is minimised exactly and globally**::

    for l = 1 … L−1
        (T1)  W_l ← z_l a_{l−1}^†                                     least squares
        (T2)  a_l ← (β W_{l+1}ᵀW_{l+1} + γI)⁻¹ (β W_{l+1}ᵀ z_{l+1} + γ h(z_l))    linear solve
        (T3)  z_l ← argmin_z γ‖a_l − h(z)‖² + β‖z − W_l a_{l−1}‖²     elementwise
    (T4)  W_L ← z_L a_{L−1}^†
    (T5)  z_L ← argmin_z ℓ(z; y) + ⟨z, λ⟩ + β‖z − W_L a_{L−1}‖²         elementwise for hinge/squared
    (T6)  λ ← λ + β (z_L − W_L a_{L−1})                               not during the warm start

The labels T1–T6 are ours: the paper's PDF body could not be read for this implementation, so its
equation numbers are not quoted (``docs/papers/taylor_admm.md``). The update formulas match the
reimplementation ``r3kall/ADMM-NeuralNetwork`` (``src/algorithms/admm.py``: the
objective, ``W = z·pinv(a)``, the a-step ``(βWᵀW + γI)⁻¹(βWᵀz + γh(z))``, the multiplier step
``λ += β(z_L − W_L a_{L−1})``, ``beta=1, gamma=10``, ``warmstart`` = an iteration without the λ step)
and ``dongzhuoyao/admm_nn`` (warm start without λ updates). In T2 the W_{l+1} and z_{l+1} are the
previous iteration's (the sweep reaches layer l+1 later).

=========  =================  ===========================================================================
paper      code               meaning
=========  =================  ===========================================================================
W_l        ``W[l-1]``         weights ``n_l × n_{l−1}``
b_l        ``b[l-1]``         bias ``n_l × 1``: **zero and never updated** by default (the paper has no
                              biases); ``bias=True`` fits ``[W_l b_l]`` jointly in T1/T4 (an amref option)
z_l        ``z[l-1]``         pre-activation ``n_l × N``; z_L is the output
a_l        ``a[l-1]``         activation ``n_l × N`` for l < L (a_0 = x). Unconstrained: T2 may make it
                              negative; it only has to stay close to h(z_l)
h          ``activation``     the hidden activation, any of :mod:`amref.activations` (the paper states the
                              method for any h; T3 is :func:`~amref.solvers.subproblems.activation_prox`,
                              exact and global for each; ReLU by default)
λ          ``lam``            Bregman multiplier of the output constraint ``n_L × N``
β, γ       ``beta, gamma``    penalties of the linear and activation constraints (one value for all
                              layers, as in the paper's experiments — recalled, see below)
ℓ          ``problem.loss``   output loss, any of :mod:`amref.losses` (T5 only needs its prox): the
                              paper's per-output binary hinge (``"hinge"``), the squared loss, or the
                              softmax cross-entropy the dlADMM comparison uses
m_l        ``m[l-1]``         ``W_l a_{l−1} + b_l``, kept from T3/T5 (a cache, not a variable)
=========  =================  ===========================================================================

**Cost.** T1/T4 form the Gram matrix ``a aᵀ`` (O(n_{l−1}² N)) and solve an n_{l−1} × n_{l−1} system
(O(n_{l−1}³)); T2 factors the n_l × n_l matrix ``βWᵀW + γI`` (O(n_l³)) and solves for N right-hand
sides (O(n_l² N)). This cubic cost in the width is what dlADMM's quadratic approximations avoid.

**Linear algebra.** No explicit inverse is formed. T2 is :func:`~amref.backend.solve_spd` on a symmetric
positive definite matrix (γ > 0; its eigenvalues are at least γ, so a float32 Cholesky solve is accurate
to about cond·1e-7 and NumPy float32 runs stay in float32). T1/T4 are least squares: ``weight_solver="solve"`` (default) solves the
normal equations ``(a aᵀ + εI) Wᵀ = a zᵀ``, i.e. minimises ``β‖z − Wa‖² + βε‖W‖²``; ε = ``ridge`` is
a tiny Tikhonov term whose ε → 0 limit is the paper's minimum-norm solution ``z a^†`` and which keeps
the system non-singular when ``a`` is rank deficient (MNIST pixels that are zero in every image make
rows of x vanish). ``weight_solver="pinv"`` computes ``z · pinv(a)`` literally (an SVD of the
n_{l−1} × N matrix, several times slower). With ε > 0 the ridge term is part of the objective
reported below, so the monotonicity statement stays exact.

**What is monotone.** For a fixed λ every step T1–T5 minimises E exactly in its block, so
``E(x^{k+1}; λ^k) ≤ E(x^k; λ^k)`` in every iteration (x = all primal blocks); during the warm start λ
is fixed (zero), so E — then the plain penalty objective — is non-increasing from iteration to
iteration. T6 changes E by ``⟨z_L, λ^{k+1} − λ^k⟩ = β⟨z_L, r⟩``, which has no sign: with multiplier
updates E is not monotone (and, to our knowledge, the paper proves no convergence).
:func:`diagnostics` reports ``objective`` = E(x^{k+1}; λ^{k+1}) and ``objective_before_multiplier`` =
E(x^{k+1}; λ^k); the tests check ``objective_before_multiplier[k] ≤ objective[k−1]`` for every k.

**Activations.** The paper states the method for any h; T3 is solved exactly and globally for every
activation of :mod:`amref.activations` (sigmoid and tanh by a bounded enumeration), so the monotone
statement above holds for each, the binary step included (its T3 minimiser at the open boundary is
returned as −tiny, within rounding of the infimum).

**The auxiliary read-out leaks the labels.** T5 pulls z_L towards the targets (±1 from the labels at
the start); T2 then writes them into a_{L−1} = (βW_LᵀW_L + γI)⁻¹(βW_Lᵀz_L + γh(z_{L−1})), and T4, an
unregularised least-squares fit ``W_L = z_L a_{L−1}^†``, reads them back. So ``argmax W_L a_{L−1}`` — the
read-out of the *auxiliary* variables, ``aux_accuracy`` in the diagnostics — is right on (nearly) every
training sample from the first iteration on, whatever the weights do, while the forward pass of the
weights starts near chance. Only the forward pass (the driver's ``train_accuracy``/``test_accuracy``)
measures the network. The leak is why the dlADMM paper's 0.855 for this method in its Fig 4 cannot be
pinned down: a forward pass whose layers only approximate least-squares fits of leaked targets degrades
towards a linear least-squares classifier on the pixels (0.86 test on MNIST), and the dlADMM authors
published no code for their baseline.

Initial values (amref's choice; the paper's initialisation was not verified): z_l, a_l from a
forward pass of the initial weights (biases zeroed unless ``bias=True``), z_L = ±1 from the labels
(:func:`~amref.problem.label_targets`, as in every amref AM solver), λ = 0.

Examples
--------
>>> import numpy as np
>>> import amref
>>> from amref.solvers.taylor_admm import TaylorADMMOptions
>>> data = amref.load_dataset("digits").subset(train_size=200, test_size=100)
>>> problem = amref.MLP((64, 16, 10), loss="hinge")
>>> h = amref.minimize(amref.get_solver("taylor-admm"), problem, data, TaylorADMMOptions(), max_iter=5).history
>>> before, after = np.array(h["objective_before_multiplier"]), np.array(h["objective"])
>>> bool(np.all(before[1:] <= after[:-1]))    # with λ fixed, every sweep decreases E
True
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from ..activations import BISECTION_STEPS, Activation, layer_activations
from ..backend import Array, device, namespace, solve_spd
from ..contract import SolverSpec
from ..losses import get as get_loss
from ..options import Options, nonnegative, number, positive
from ..problem import MLP, Params, join_params, split_params
from .subproblems import ZLOptions, activation_prox, loss_prox

__all__ = [
    "SOLVER",
    "diagnostics",
    "init_state",
    "params",
    "penalty_objective",
    "step",
    "TaylorADMMOptions",
    "TaylorADMMState",
    "update_a",
    "update_lambda",
    "update_W",
    "update_z_hidden",
    "update_z_last",
]


@dataclasses.dataclass(frozen=True)
class TaylorADMMOptions(Options):
    """Taylor et al. ADMM options.

    Attributes
    ----------
    beta : float
        β, penalty on ``z_l = W_l a_{l−1}`` (all layers, output included). Default 1: recalled from
        the paper and the default of ``r3kall/ADMM-NeuralNetwork``; not re-read in the PDF.
    gamma : float
        γ, penalty on ``a_l = h(z_l)``. Default 10: recalled, and the same reimplementation's
        default; not re-read in the PDF.
    warm_start_iters : int
        Number of initial iterations without the multiplier step T6 (the paper's warm start; the
        count is not verified: amref's default 10, ``dongzhuoyao/admm_nn`` uses 1).
    weight_solver : {"solve", "pinv"}
        How T1/T4 compute the least-squares weights (see the module docstring).
    ridge : float
        ε ≥ 0 of the regularised normal equations (``"solve"`` only; amref's numerical choice, 1e-6).
        0 gives the plain normal equations (singular when ``a`` is rank deficient).
    bias : bool
        False (the paper): biases are held at zero. True: each layer fits ``[W_l b_l]`` jointly.
    zl : ZLOptions
        Inner solver of T5 when the loss is the cross-entropy (no closed form): exact per-column
        Newton by default, so that T5 is still an exact block minimisation.
    activation_steps : int
        Bisection halvings of T3 for sigmoid and tanh (:func:`amref.activations.smooth_prox`).
    """

    beta: float = positive(1.0)
    gamma: float = positive(10.0)
    warm_start_iters: int = nonnegative(10)
    weight_solver: Literal["solve", "pinv"] = "solve"
    ridge: float = nonnegative(1e-6)
    bias: bool = False
    zl: ZLOptions = ZLOptions(method="newton")
    activation_steps: int = number(BISECTION_STEPS, low=1)

    @classmethod
    def dladmm_paper(cls, **overrides) -> "TaylorADMMOptions":
        """The setting of the dlADMM paper's comparison (Wang et al. KDD 2019, Sec 5.1): "ADMM, ρ = 1".

        The dlADMM paper names a single ρ; amref reads it as β = γ = 1 (every penalty 1). How the
        dlADMM authors mapped ρ onto Taylor's β and γ, and their warm start, are not stated there.
        """
        values = dict(beta=1.0, gamma=1.0)
        values.update(overrides)
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class TaylorADMMState:
    """All variables after an iteration (tuples are indexed 0…L−1 for layers 1…L)."""

    W: tuple
    b: tuple
    z: tuple
    a: tuple
    lam: Array
    m: tuple
    loss: str
    iteration: int = 0
    multiplier_updated: bool = False
    zl_iterations: int = 0
    activation: str = "relu"


# ----------------------------------------------------------------------------- subproblems
def update_W(z: Array, a_prev: Array, options: TaylorADMMOptions) -> tuple[Array, Array, Array]:
    """T1 (l < L) and T4 (l = L): ``W_l = argmin_W β‖z_l − W a_{l−1}‖² (+ βε‖W‖²)``, the paper's ``z_l a_{l−1}^†``.

    ``"solve"``: ``(A Aᵀ + εI) Wᵀ = A zᵀ`` with A = a_{l−1} (or ``[a_{l−1}; 1ᵀ]`` when ``bias``);
    ``"pinv"``: ``W = z · pinv(A)``. Returns ``(W, b, m)`` with ``m = W a_{l−1} + b`` (b = 0 without bias).
    """
    xp = namespace(z, a_prev)
    A = a_prev
    if options.bias:
        A = xp.concat([a_prev, xp.ones((1, a_prev.shape[1]), dtype=a_prev.dtype, device=device(a_prev))], axis=0)
    if options.weight_solver == "pinv":
        Wb = z @ xp.linalg.pinv(A)
    else:
        G = A @ A.T
        if options.ridge > 0:
            G = G + options.ridge * xp.eye(G.shape[0], dtype=G.dtype, device=device(G))
        Wb = xp.linalg.solve(G, A @ z.T).T
    if options.bias:
        W, b = Wb[:, :-1], Wb[:, -1:]
    else:
        W, b = Wb, xp.zeros((Wb.shape[0], 1), dtype=Wb.dtype, device=device(Wb))
    return W, b, W @ a_prev + b


def update_a(W_next: Array, b_next: Array, z_next: Array, z: Array, options: TaylorADMMOptions, *,
             activation: str | Activation = "relu") -> Array:
    """T2: ``a_l = argmin_a β‖z_{l+1} − W_{l+1} a − b_{l+1}‖² + γ‖a − h(z_l)‖²``.

    Solves ``(β W_{l+1}ᵀW_{l+1} + γI) a = β W_{l+1}ᵀ (z_{l+1} − b_{l+1}) + γ h(z_l)`` (SPD, one
    factorisation for all N columns).
    """
    xp = namespace(W_next, b_next, z_next, z)
    beta, gamma = options.beta, options.gamma
    M = beta * (W_next.T @ W_next) + gamma * xp.eye(W_next.shape[1], dtype=W_next.dtype, device=device(W_next))
    h = layer_activations(activation, 1)[0]
    rhs = beta * (W_next.T @ (z_next - b_next)) + gamma * h.value(z)
    return solve_spd(M, rhs, overwrite_b=True)  # rhs is ours; M's eigenvalues are ≥ γ


def update_z_hidden(m: Array, a: Array, options: TaylorADMMOptions, *, activation: str | Activation = "relu") -> Array:
    """T3: ``z_l = argmin_z γ‖a_l − h(z)‖² + β‖z − m_l‖²``, elementwise and global for every activation
    (ReLU: two branches compared; :func:`~amref.solvers.subproblems.activation_prox`)."""
    return activation_prox(activation, m, a, alpha=options.beta, beta=options.gamma, steps=options.activation_steps)


def update_z_last(
    m: Array, lam: Array, y: Array, loss: str, z_prev: Array, options: TaylorADMMOptions
) -> tuple[Array, int]:
    """T5: ``z_L = argmin_z ℓ(z; y) + ⟨z, λ⟩ + β‖z − m_L‖²``.

    Completing the square, ``⟨z, λ⟩ + β‖z − m‖² = β‖z − (m − λ/(2β))‖² + const``, so this is the prox
    of ℓ with weight ρ = 2β at ``m − λ/(2β)`` (:func:`~amref.solvers.subproblems.loss_prox`: closed
    forms for hinge and squared, Newton for cross-entropy). Returns ``(z_L, inner_iterations)``.
    """
    beta = options.beta
    z, info = loss_prox(loss, m - lam / (2.0 * beta), y, 2.0 * beta, z_prev, options.zl)
    return z, info.iterations


def update_lambda(lam: Array, z_last: Array, m_last: Array, options: TaylorADMMOptions) -> Array:
    """T6: the Bregman / multiplier step ``λ ← λ + β (z_L − W_L a_{L−1})``."""
    return lam + options.beta * (z_last - m_last)


# ----------------------------------------------------------------------------- the iteration
def init_state(problem: MLP, data, params: Params, options: TaylorADMMOptions) -> TaylorADMMState:
    """Forward pass of the initial weights (biases zeroed unless ``options.bias``), z_L = ±1, λ = 0."""
    get_loss(problem.loss)  # every loss has the prox T5 needs; this only rejects an unknown name
    xp = namespace(data.x_train)
    W, b = split_params(params)
    if not options.bias:
        b = [xp.zeros_like(bl) for bl in b]
    zs, acts = problem.hidden(join_params(W, b), data.x_train)
    z = tuple(zs[:-1]) + (problem.output_targets(data.y_train),)
    return TaylorADMMState(
        W=tuple(W), b=tuple(b), z=z, a=tuple(acts[1:]), lam=xp.zeros_like(z[-1]), m=tuple(zs), loss=problem.loss,
        activation=problem.activation,
    )


def step(state: TaylorADMMState, data, options: TaylorADMMOptions) -> TaylorADMMState:
    """One iteration of Algorithm 1: the forward sweep T1–T3 per hidden layer, T4, T5, then T6 after the warm start."""
    x, y = data.x_train, data.y_train
    W, b, z, a, m = list(state.W), list(state.b), list(state.z), list(state.a), list(state.m)
    last = len(W) - 1
    h = layer_activations(state.activation, last)
    for i in range(last):
        a_prev = x if i == 0 else a[i - 1]
        W[i], b[i], m[i] = update_W(z[i], a_prev, options)  # T1
        a[i] = update_a(W[i + 1], b[i + 1], z[i + 1], z[i], options, activation=h[i])  # T2 (old W_{l+1}, z_{l+1})
        z[i] = update_z_hidden(m[i], a[i], options, activation=h[i])  # T3
    W[last], b[last], m[last] = update_W(z[last], x if last == 0 else a[last - 1], options)  # T4
    z[last], k = update_z_last(m[last], state.lam, y, state.loss, z[last], options)  # T5
    lam, updated = state.lam, state.iteration >= options.warm_start_iters
    if updated:
        lam = update_lambda(lam, z[last], m[last], options)  # T6
    return dataclasses.replace(
        state, W=tuple(W), b=tuple(b), z=tuple(z), a=tuple(a), m=tuple(m), lam=lam,
        iteration=state.iteration + 1, multiplier_updated=updated, zl_iterations=k,
    )


def penalty_objective(state: TaylorADMMState, y: Array, options: TaylorADMMOptions) -> float:
    """E(W, a, z; λ) of the module docstring at the state's λ (plus ``βε Σ‖[W_l b_l]‖²`` when ε > 0)."""
    xp = namespace(y, state.lam)
    beta, gamma = options.beta, options.gamma
    r = state.z[-1] - state.m[-1]
    total = float(get_loss(state.loss).value(state.z[-1], y))
    total += float(xp.sum(state.z[-1] * state.lam)) + beta * float(xp.sum(r * r))
    hs = layer_activations(state.activation, len(state.a))
    for zl, ml, al, h in zip(state.z[:-1], state.m[:-1], state.a, hs):
        total += gamma * float(xp.sum((al - h.value(zl)) ** 2)) + beta * float(xp.sum((zl - ml) ** 2))
    if options.weight_solver == "solve" and options.ridge > 0:
        sq = sum(float(xp.sum(Wl * Wl)) + float(xp.sum(bl * bl)) for Wl, bl in zip(state.W, state.b))
        total += beta * options.ridge * sq
    return total


def diagnostics(state: TaylorADMMState, data, options: TaylorADMMOptions) -> dict:
    """``objective`` = E(x; λ) after the iteration, ``objective_before_multiplier`` = E(x; λ before T6),
    ``residual`` = ‖z_L − W_L a_{L−1} − b_L‖², ``hidden_residual`` = Σ_{l<L} ‖z_l − m_l‖² + ‖a_l − h(z_l)‖²,
    ``warm_start`` (1 while T6 is skipped), the T5 inner iterations and ``aux_accuracy``, the training
    accuracy of ``argmax W_L a_{L−1} + b_L`` read from the auxiliary a_{L−1} (it sees the labels through
    T2/T4; module docstring)."""
    xp = namespace(state.lam)
    r = state.z[-1] - state.m[-1]
    objective = penalty_objective(state, data.y_train, options)
    before = objective
    if state.multiplier_updated:
        # λ^{k+1} − λ^k = β r, so E(x; λ^k) = E(x; λ^{k+1}) − β⟨z_L, r⟩
        before = objective - options.beta * float(xp.sum(state.z[-1] * r))
    hidden = sum(
        float(xp.sum((zl - ml) ** 2)) + float(xp.sum((al - h.value(zl)) ** 2))
        for zl, ml, al, h in zip(state.z[:-1], state.m[:-1], state.a, layer_activations(state.activation, len(state.a)))
    )
    return {
        "objective": objective,
        "residual": float(xp.sum(r * r)),
        "objective_before_multiplier": before,
        "hidden_residual": hidden,
        "warm_start": 0.0 if state.multiplier_updated else 1.0,
        "zl_iterations": state.zl_iterations,
        "aux_accuracy": float(xp.mean(xp.astype(xp.argmax(state.m[-1], axis=0) == xp.argmax(data.y_train, axis=0),
                                                state.m[-1].dtype))),
    }


def params(state: TaylorADMMState) -> Params:
    """Current weights ``[W_1, b_1, …, W_L, b_L]`` (biases are zero unless ``bias=True``)."""
    return join_params(state.W, state.b)


SOLVER = SolverSpec(
    name="taylor-admm",
    options_class=TaylorADMMOptions,
    init_state=init_state,
    step=step,
    diagnostics=diagnostics,
    params=params,
    paper_loss="hinge",
)
