r"""Backpropagation for the MLP by hand: gradients, an exact Hessian-vector product, per-sample statistics.

No autodiff: every derivative below is written out. Layout as everywhere in amref (features × samples,
columns are samples, parameters ``[W_1, b_1, …, W_L, b_L]``).

Forward and backward pass (one batch ``x`` of B columns)::

    a_0 = x
    z_l = W_l a_{l−1} + b_l 1ᵀ             l = 1 … L
    a_l = h_l(z_l)                          l < L   (h_l: the layer's activation, ReLU by default)
    ℓ   = s · Σ_j R(z_{L,j}; y_j)           s = 1 ("sum") or 1/B ("mean")

    δ_L = s · ∂R/∂z_L                       (softmax(z_L) − y for the cross-entropy, z_L − y squared)
    δ_l = h_l′(z_l) ∘ (W_{l+1}ᵀ δ_{l+1})   l = L−1 … 1   (h′ computed from a_l; see below for the step)
    ∂ℓ/∂W_l = δ_l a_{l−1}ᵀ,   ∂ℓ/∂b_l = δ_l 1

Exact Hessian-vector product, Pearlmutter's R-operator (forward-over-reverse), for a direction
``v = [V_1, v_1, …, V_L, v_L]`` (``R(·)`` is the directional derivative along v)::

    R(a_0) = 0
    R(z_l) = W_l R(a_{l−1}) + V_l a_{l−1} + v_l 1ᵀ,     R(a_l) = h′(z_l) ∘ R(z_l)
    R(δ_L) = s · ∇²R(z_L) R(z_L)                      (column-wise (diag p − p pᵀ) r for the cross-entropy,
                                                       R(z_L) squared, 0 hinge)
    R(δ_l) = h′(z_l) ∘ (W_{l+1}ᵀ R(δ_{l+1}) + V_{l+1}ᵀ δ_{l+1}) + h″(z_l) ∘ R(z_l) ∘ (W_{l+1}ᵀ δ_{l+1})
                                                      (h″ = 0 a.e. for the piecewise-linear units)
    (Hv)_{W_l} = R(δ_l) a_{l−1}ᵀ + δ_l R(a_{l−1})ᵀ,     (Hv)_{b_l} = R(δ_l) 1

Every activation's h′ and h″ are functions of its output a = h(z) (:class:`amref.activations.Activation`),
so the tape keeps a_l only. The binary step has h′ = 0: its hidden layers get no gradient at all;
``straight_through=True`` replaces h′ by the straight-through estimate 1 (Bengio et al. 2013) for the step
(and changes nothing for any other unit), and the Hessian-vector product is then that of the surrogate.

Per-sample statistics without per-sample gradients (AdAdaGrad's batch-size tests): sample i's loss gradient for
layer l is ``G_i = d_i a_iᵀ`` (d_i = column i of the per-sample δ, i.e. δ_l / s), so

    ‖G_i‖² = ‖d_i‖² ‖a_i‖²,   Σ_i G_i ∘ G_i = (d ∘ d)(a ∘ a)ᵀ,   ⟨G_i, V⟩ = d_iᵀ V a_i,

and the bias gradient of sample i is d_i. AdAdaGrad's batch-size tests and AdaFisher's Kronecker
factors are built from these.

The output loss enters through :func:`output_loss` and :func:`output_loss_hvp` only, which take the
value, gradient and Hessian-vector product from ``problem.loss``'s :class:`~amref.losses.Loss` record:
every loss there works here (for the hinge, δ_L is a subgradient and ∇²R = 0, its a.e. Hessian).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from . import losses
from .activations import Activation, layer_activations
from .backend import Array, namespace
from .problem import MLP, Params

__all__ = [
    "REDUCTIONS",
    "check_supported",
    "fisher_factors",
    "forward_backward",
    "hessian_vector_product",
    "loss_and_grad",
    "outer_sum",
    "output_loss",
    "output_loss_hvp",
    "per_sample_coordinate_sq",
    "per_sample_deltas",
    "per_sample_dots",
    "per_sample_sq_norms",
    "Tape",
]

REDUCTIONS = ("sum", "mean")


# ----------------------------------------------------------------------------- the output loss (one place)
def output_loss(loss: str | losses.Loss, z: Array, y: Array) -> tuple[Array, Array]:
    """``(R, ∂R/∂z)`` of the summed output loss ``loss`` (``problem.loss`` or its record), R as a 0-d array."""
    return losses.get(loss).value_and_grad(z, y)


def output_loss_hvp(loss: str | losses.Loss, z: Array, y: Array, r: Array) -> Array:
    """``∇²R(z) r`` for the summed output loss (:attr:`amref.losses.Loss.hvp`; zeros for the hinge)."""
    return losses.get(loss).hvp(z, y, r)


def check_supported(problem: MLP) -> None:
    """Raise ``ValueError`` unless backprop has derivatives for ``problem.loss`` and ``problem.activation``.

    Every loss of :mod:`amref.losses` has them (its record's gradient and Hessian-vector product), and
    every activation of :mod:`amref.activations` (h′ and h″ from its output).
    """
    losses.get(problem.loss)
    problem.activations  # noqa: B018  (raises for an invalid spec)


def _hidden_derivative(act: Activation, a: Array, straight_through: bool = False) -> Array:
    """h′(z_l) from a_l = h(z_l) (ReLU: 1 where a_l > 0, relu′(0) = 0); with ``straight_through`` the
    surrogate derivative (1 for the step, h′ for every other unit)."""
    if act.name == "relu":
        xp = namespace(a)
        return xp.astype(a > 0, a.dtype)
    return (act.surrogate_from_output if straight_through else act.derivative_from_output)(a)


def outer_sum(d: Array, a: Array) -> Array:
    """``d aᵀ`` = Σ_b d_b a_bᵀ over the B columns (the weight-gradient product).

    When d has fewer rows than a (the output layer) it is computed as ``(a dᵀ)ᵀ``: OpenBLAS splits a
    product with very few rows badly across threads (10×10000 · 10000×1000 took 0.25–0.48 s on 2
    busy cores, against 0.01–0.02 s the other way round). Same numbers, a transposed view.
    """
    return d @ a.T if d.shape[0] >= a.shape[0] else (a @ d.T).T


def _scale(reduction: str, batch: int) -> float:
    if reduction == "sum":
        return 1.0
    if reduction == "mean":
        return 1.0 / batch
    raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")


# ----------------------------------------------------------------------------- forward and backward
class Tape(NamedTuple):
    """What one forward-backward pass leaves behind (everything later passes reuse).

    Attributes
    ----------
    activations : list
        ``[a_0 = x, a_1, …, a_{L−1}]`` (each ``n_l × B``).
    logits : array
        z_L, ``C × B``.
    y : array
        The batch labels.
    deltas : list
        ``[δ_1, …, δ_L]``: ∂ℓ/∂z_l of the reduced loss ℓ (``n_l × B``).
    loss : array
        ℓ, the reduced batch loss (0-d).
    grads : list
        ``[∂ℓ/∂W_1, ∂ℓ/∂b_1, …]`` in the parameters' layout.
    scale : float
        s = 1 (``"sum"``) or 1/B (``"mean"``); δ / s is the per-sample δ.
    loss_name, activation : str
        The problem's loss and hidden activation spec (for the passes that reuse the tape).
    straight_through : bool
        Whether the step's derivative was replaced by the straight-through estimate.
    """

    activations: list
    logits: Array
    y: Array
    deltas: list
    loss: Array
    grads: list
    scale: float
    loss_name: str
    activation: str
    straight_through: bool = False

    @property
    def batch_size(self) -> int:
        """B, the number of columns."""
        return int(self.logits.shape[1])


def forward_backward(problem: MLP, params: Params, x: Array, y: Array, reduction: str = "sum", *,
                     straight_through: bool = False) -> Tape:
    """Loss and gradient of ``problem`` on the batch ``(x, y)``, keeping the intermediate values.

    Parameters
    ----------
    problem
        The network (its ``loss`` and ``activation`` choose the derivatives).
    params
        ``[W_1, b_1, …, W_L, b_L]``.
    x, y
        Batch, ``n_0 × B`` and ``C × B``.
    reduction
        ``"sum"`` (amref's convention: the loss summed over the batch) or ``"mean"``.
    straight_through
        Use the straight-through estimate h′ := 1 for binary-step layers (module docstring).

    Returns
    -------
    Tape
    """
    xp = namespace(x, y, *params)
    s = _scale(reduction, int(x.shape[1]))
    hs = layer_activations(problem.activation, len(params) // 2 - 1)
    L = len(params) // 2
    acts = [x]
    z = x
    for l in range(L):
        z = params[2 * l] @ acts[-1]
        z += params[2 * l + 1]  # in place on the fresh product: one pass over n_l × B fewer
        if l < L - 1:
            acts.append(hs[l].value(z))
    value, d_out = output_loss(problem.loss, z, y)
    delta = d_out if s == 1.0 else s * d_out
    deltas = [delta]
    grads: list = [None] * (2 * L)
    for l in range(L - 1, -1, -1):
        grads[2 * l] = outer_sum(delta, acts[l])
        grads[2 * l + 1] = xp.sum(delta, axis=1, keepdims=True)
        if l > 0:
            delta = params[2 * l].T @ delta
            delta *= _hidden_derivative(hs[l - 1], acts[l], straight_through)  # in place on the fresh product
            deltas.append(delta)
    deltas.reverse()
    loss = value if s == 1.0 else s * value
    return Tape(acts, z, y, deltas, loss, grads, s, problem.loss, problem.activation, straight_through)


def loss_and_grad(problem: MLP, params: Params, x: Array, y: Array, reduction: str = "sum", *,
                  straight_through: bool = False) -> tuple[Array, list]:
    """``(ℓ, ∇ℓ)``: the reduced loss (0-d array) and its gradient ``[∂ℓ/∂W_1, ∂ℓ/∂b_1, …]``."""
    tape = forward_backward(problem, params, x, y, reduction, straight_through=straight_through)
    return tape.loss, tape.grads


# ----------------------------------------------------------------------------- Hessian-vector product
def hessian_vector_product(
    problem: MLP,
    params: Params,
    x: Array,
    y: Array,
    v: Sequence[Array],
    reduction: str = "sum",
    *,
    tape: Tape | None = None,
    straight_through: bool = False,
) -> list:
    """Exact ``∇²ℓ(θ) v`` by the R-operator (module docstring); one extra forward and backward pass.

    Parameters
    ----------
    problem, params, x, y, reduction
        As for :func:`forward_backward`.
    v
        Direction in the parameters' layout.
    tape
        The :func:`forward_backward` result for the same ``params`` and batch, to skip the forward pass.
    straight_through
        As for :func:`forward_backward` (ignored when ``tape`` is given: the tape's setting holds).

    Returns
    -------
    list
        ``Hv`` in the parameters' layout.
    """
    if tape is None:
        tape = forward_backward(problem, params, x, y, reduction, straight_through=straight_through)
    xp = namespace(tape.logits, *params, *v)
    L = len(params) // 2
    acts, deltas = tape.activations, tape.deltas
    hs = layer_activations(tape.activation, L - 1)
    masks = [_hidden_derivative(h, a, tape.straight_through) for h, a in zip(hs, acts[1:])]  # h′(z_l), l < L
    curv = [None if tape.straight_through or h.second_from_output is None else h.second_from_output(a)
            for h, a in zip(hs, acts[1:])]  # h″(z_l), None where it is 0 a.e.
    r_zs: list = []

    # forward R-pass: R(a_0) = 0
    r_acts: list = [None]  # R(a_0) = 0 is never materialised
    r_z = None
    for l in range(L):
        V, v_b = v[2 * l], v[2 * l + 1]
        r_z = V @ acts[l] + v_b
        if l > 0:
            r_z = r_z + params[2 * l] @ r_acts[l]
        r_zs.append(r_z)
        if l < L - 1:
            r_acts.append(masks[l] * r_z)

    # backward R-pass
    r_delta = tape.scale * output_loss_hvp(tape.loss_name, tape.logits, tape.y, r_z)
    out: list = [None] * (2 * L)
    for l in range(L - 1, -1, -1):
        hv_W = outer_sum(r_delta, acts[l])
        if l > 0:
            hv_W = hv_W + outer_sum(deltas[l], r_acts[l])
        out[2 * l] = hv_W
        out[2 * l + 1] = xp.sum(r_delta, axis=1, keepdims=True)
        if l > 0:
            r_e = params[2 * l].T @ r_delta + v[2 * l].T @ deltas[l]
            r_delta = masks[l - 1] * r_e
            if curv[l - 1] is not None:
                r_delta = r_delta + curv[l - 1] * r_zs[l - 1] * (params[2 * l].T @ deltas[l])
    return out


# ----------------------------------------------------------------------------- per-sample statistics
def per_sample_deltas(tape: Tape) -> list:
    """``[d_1, …, d_L]``: the δ of each sample's own loss (``δ_l / s``), ``n_l × B``."""
    return tape.deltas if tape.scale == 1.0 else [d / tape.scale for d in tape.deltas]


def per_sample_sq_norms(tape: Tape) -> Array:
    """``‖∇f_i‖²`` over all parameters for every sample i, shape ``(1, B)``.

    Layer l contributes ``‖d_i‖² (‖a_{i}‖² + 1)`` (weight and bias).
    """
    xp = namespace(tape.logits)
    total = None
    for a, d in zip(tape.activations, per_sample_deltas(tape)):
        term = xp.sum(d * d, axis=0, keepdims=True) * (xp.sum(a * a, axis=0, keepdims=True) + 1.0)
        total = term if total is None else total + term
    return total


def per_sample_dots(tape: Tape, v: Sequence[Array]) -> Array:
    """``⟨∇f_i, v⟩`` for every sample i, shape ``(1, B)`` (one product ``V_l a`` per layer)."""
    xp = namespace(tape.logits, *v)
    total = None
    for l, (a, d) in enumerate(zip(tape.activations, per_sample_deltas(tape))):
        term = xp.sum(d * (v[2 * l] @ a + v[2 * l + 1]), axis=0, keepdims=True)
        total = term if total is None else total + term
    return total


def per_sample_coordinate_sq(tape: Tape) -> list:
    """``Σ_i ∇f_i ∘ ∇f_i`` in the parameters' layout: ``(d∘d)(a∘a)ᵀ`` for W_l, ``(d∘d) 1`` for b_l."""
    xp = namespace(tape.logits)
    out = []
    for a, d in zip(tape.activations, per_sample_deltas(tape)):
        dd = d * d
        out += [dd @ (a * a).T, xp.sum(dd, axis=1, keepdims=True)]
    return out


def fisher_factors(tape: Tape) -> list:
    """AdaFisher's diagonal Kronecker factors per layer, ``[(S_1, H_1), …, (S_L, H_L)]``.

    ``H_l = (1/B) Σ_b ā_b ∘ ā_b`` with ``ā = [a_{l−1}; 1]`` (shape ``1 × (n_{l−1}+1)``; the last entry
    belongs to the bias) and ``S_l = (1/B) Σ_b s_b ∘ s_b`` (shape ``n_l × 1``) with s the output
    gradients of the **mean** batch loss (``d / B``), as a framework's backward hook delivers them.
    """
    xp = namespace(tape.logits)
    B = tape.batch_size
    out = []
    for a, d in zip(tape.activations, per_sample_deltas(tape)):
        h = xp.mean(a * a, axis=1)
        H = xp.reshape(xp.concat([h, xp.ones((1,), dtype=h.dtype, device=_device(h))]), (1, -1))
        s = d / B
        S = xp.mean(s * s, axis=1, keepdims=True)
        out.append((S, H))
    return out


def _device(x: Array):
    from .backend import device

    return device(x)
