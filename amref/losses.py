r"""Output losses, written once for every solver and baseline.

All losses are **sums over samples** (columns), as in every paper and code amref follows, so the
papers' penalty values ρ, ν mean the same thing here.

=================  ======================================================================
symbol             meaning
=================  ======================================================================
``z``              output-layer pre-activations, ``C × N`` (columns are samples)
``y``              one-hot labels, ``C × N``
R(z; y)            the summed output loss; one of the three below
cross_entropy      ``Σ_j −⟨y_j, log softmax(z_j)⟩``; gradient ``softmax(z) − y``; column Hessian
                   ``diag(p) − p pᵀ`` (p = softmax z_j), spectral norm ≤ 1/2, so ∇R is 1/2-Lipschitz
squared            ``½‖z − y‖²`` (Zeng et al. 2019's experiments); gradient ``z − y``, Hessian I
hinge              per-output binary hinge of Taylor et al. 2016: ``max(1 − z, 0)`` where
                   y = 1, ``max(z, 0)`` where y = 0, summed over outputs and samples; ``grad``
                   is a subgradient; piecewise linear, so its Hessian is 0 almost everywhere
∇²R v              ``Loss.hvp(z, y, v)``: Hessian-vector product of the summed loss w.r.t. z
prox_ρ(c)          ``argmin_z R(z; y) + ρ/2‖z − c‖²``; ``Loss.prox(c, y, ρ)`` where a closed form
                   exists (squared, hinge); the cross-entropy's has none and is computed by the
                   bounded inner solvers of :mod:`amref.solvers.subproblems` (``loss_prox``)
H                  ``Loss.lipschitz``: Lipschitz constant of ∇R (1/2, 1; None for the hinge)
=================  ======================================================================

:func:`get` is the single dispatch point from a loss name (``MLP.loss``) to its :class:`Loss` record;
every solver and baseline goes through it, and a new loss is one more record in :data:`LOSSES`.

Softmax and cross-entropy use the log-sum-exp shift, so they neither overflow nor need the clamps of
the reference codes (``exp(88.6)``, ``+1e-10``).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from .backend import Array, namespace

__all__ = [
    "CROSS_ENTROPY",
    "CROSS_ENTROPY_LIPSCHITZ",
    "HINGE",
    "SQUARED",
    "cross_entropy_hvp",
    "cross_entropy_value_and_grad",
    "hinge_loss_hvp",
    "hinge_loss_prox",
    "squared_loss_hvp",
    "squared_loss_prox",
    "LOSSES",
    "accuracy",
    "cross_entropy",
    "cross_entropy_and_grad",
    "cross_entropy_columns",
    "cross_entropy_grad",
    "get",
    "hinge_loss",
    "hinge_loss_grad",
    "log_softmax",
    "Loss",
    "softmax",
    "squared_loss",
    "squared_loss_grad",
]

#: Lipschitz constant of ∇R for the summed softmax cross-entropy (per column, hence overall): H = 1/2.
CROSS_ENTROPY_LIPSCHITZ = 0.5


def log_softmax(z: Array) -> Array:
    """Column-wise log-softmax of ``z`` (``C × N``) with the log-sum-exp shift."""
    xp = namespace(z)
    shifted = z - xp.max(z, axis=0, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=0, keepdims=True))


def softmax(z: Array) -> Array:
    """Column-wise softmax of ``z`` (``C × N``); never overflows."""
    xp = namespace(z)
    e = xp.exp(z - xp.max(z, axis=0, keepdims=True))
    return e / xp.sum(e, axis=0, keepdims=True)


def cross_entropy(z: Array, y: Array) -> Array:
    """Summed softmax cross-entropy R(z; y) = Σ_j −⟨y_j, log softmax(z_j)⟩ as a 0-d array."""
    xp = namespace(z, y)
    return -xp.sum(y * log_softmax(z))


def cross_entropy_columns(z: Array, y: Array) -> Array:
    """Per-sample cross-entropy, shape ``(1, N)``."""
    xp = namespace(z, y)
    return -xp.sum(y * log_softmax(z), axis=0, keepdims=True)


def cross_entropy_grad(z: Array, y: Array) -> Array:
    """Gradient of the summed cross-entropy: ``softmax(z) − y``."""
    return softmax(z) - y


def accuracy(z: Array, y: Array) -> float:
    """Fraction of columns whose argmax of ``z`` matches the argmax of one-hot ``y``."""
    xp = namespace(z, y)
    hits = xp.argmax(z, axis=0) == xp.argmax(y, axis=0)
    return float(xp.mean(xp.astype(hits, z.dtype)))


def cross_entropy_and_grad(z: Array, y: Array) -> tuple[Array, Array]:
    """``(softmax(z) − y, R(z; y))`` from one exponential pass (the FISTA inner loop's hot spot)."""
    xp = namespace(z, y)
    shifted = z - xp.max(z, axis=0, keepdims=True)
    e = xp.exp(shifted)
    total = xp.sum(e, axis=0, keepdims=True)
    value = xp.sum(y * (xp.log(total) - shifted))
    return e / total - y, value


def cross_entropy_value_and_grad(z: Array, y: Array) -> tuple[Array, Array]:
    """``(R(z; y), softmax(z) − y)`` from one exponential pass (:func:`cross_entropy_and_grad` reordered)."""
    grad, value = cross_entropy_and_grad(z, y)
    return value, grad


def cross_entropy_hvp(z: Array, y: Array, v: Array) -> Array:
    """``∇²R(z) v`` of the summed cross-entropy, column by column: ``p ∘ v − p (pᵀ v)`` with p = softmax(z_j).

    The column Hessian is ``diag p − p pᵀ`` (it does not depend on y).
    """
    xp = namespace(z, v)
    p = softmax(z)
    pv = p * v
    return pv - p * xp.sum(pv, axis=0, keepdims=True)


# ----------------------------------------------------------------------------- other output losses
def squared_loss(z: Array, y: Array) -> Array:
    """Summed squared loss ``½‖z − y‖²`` (Frobenius) as a 0-d array."""
    xp = namespace(z, y)
    return 0.5 * xp.sum((z - y) ** 2)


def squared_loss_grad(z: Array, y: Array) -> Array:
    """Gradient of the summed squared loss: ``z − y``."""
    return z - y


def hinge_loss(z: Array, y: Array) -> Array:
    """Summed per-output binary hinge (Taylor et al. 2016): ``max(1 − z, 0)`` where y = 1, ``max(z, 0)`` where y = 0."""
    xp = namespace(z, y)
    return xp.sum(y * xp.maximum(1.0 - z, 0.0) + (1.0 - y) * xp.maximum(z, 0.0))


def hinge_loss_grad(z: Array, y: Array) -> Array:
    """A subgradient of :func:`hinge_loss`: −1 where y = 1 and z < 1, +1 where y = 0 and z > 0, else 0."""
    xp = namespace(z, y)
    return xp.astype(z > 0.0, z.dtype) * (1.0 - y) - xp.astype(z < 1.0, z.dtype) * y


def squared_loss_hvp(z: Array, y: Array, v: Array) -> Array:
    """``∇²R v`` of the summed squared loss: the Hessian is the identity, so a copy of ``v``."""
    return namespace(v).asarray(v, copy=True)


def squared_loss_prox(c: Array, y: Array, rho: float) -> Array:
    """``argmin_z ½‖z − y‖² + ρ/2‖z − c‖² = (y + ρc)/(1 + ρ)``."""
    return (y + rho * c) / (1.0 + rho)


def hinge_loss_hvp(z: Array, y: Array, v: Array) -> Array:
    """``∇²R v`` of the hinge: zeros. The loss is piecewise linear, so its Hessian is 0 wherever it exists
    (everywhere except on the kinks z = 1 (y = 1) and z = 0 (y = 0), a set of measure zero)."""
    return namespace(v).zeros_like(v)


def hinge_loss_prox(c: Array, y: Array, rho: float) -> Array:
    """``argmin_z R(z; y) + ρ/2‖z − c‖²`` for the hinge, elementwise (a convex piecewise quadratic).

    Where y = 1: ``max(c, min(c + 1/ρ, 1))``; where y = 0: ``min(c, max(c − 1/ρ, 0))`` (the kink is the
    answer when neither smooth piece's stationary point lies on its own side).
    """
    xp = namespace(c, y)
    pos = xp.maximum(c, xp.minimum(c + 1.0 / rho, 1.0))
    neg = xp.minimum(c, xp.maximum(c - 1.0 / rho, 0.0))
    return xp.where(y > 0.5, pos, neg)


@dataclasses.dataclass(frozen=True)
class Loss:
    """An output loss R(z; y) summed over samples: everything a solver or baseline needs of it.

    Attributes
    ----------
    name : str
        The name :func:`get` knows it by (``MLP.loss``).
    value : callable
        ``value(z, y)``: R as a 0-d array.
    grad : callable
        ``grad(z, y)``: ∂R/∂z (a subgradient for the hinge).
    hvp : callable
        ``hvp(z, y, v)``: the Hessian-vector product ``∇²R(z) v`` (zeros for the hinge: its a.e. Hessian).
    prox : callable or None
        ``prox(c, y, rho)``: ``argmin_z R(z; y) + ρ/2‖z − c‖²`` in closed form; None when there is none
        (the cross-entropy: :func:`amref.solvers.subproblems.loss_prox` runs a bounded inner solver).
    lipschitz : float or None
        H, the Lipschitz constant of ∇R; None when ∇R is not continuous (the hinge).
    fused : callable or None
        ``fused(z, y) -> (value, grad)`` from one pass, when cheaper than the two calls.
    """

    name: str
    value: Callable[[Array, Array], Array]
    grad: Callable[[Array, Array], Array]
    hvp: Callable[[Array, Array, Array], Array]
    prox: Callable[[Array, Array, float], Array] | None
    lipschitz: float | None
    fused: Callable[[Array, Array], tuple[Array, Array]] | None = None

    @property
    def smooth(self) -> bool:
        """Whether ∇R is Lipschitz (what the convergence results of dlADMM assume)."""
        return self.lipschitz is not None

    def value_and_grad(self, z: Array, y: Array) -> tuple[Array, Array]:
        """``(R(z; y), ∂R/∂z)``, from one pass where the loss has one."""
        if self.fused is not None:
            return self.fused(z, y)
        return self.value(z, y), self.grad(z, y)


CROSS_ENTROPY = Loss("cross_entropy", cross_entropy, cross_entropy_grad, cross_entropy_hvp, None,
                     CROSS_ENTROPY_LIPSCHITZ, fused=cross_entropy_value_and_grad)
SQUARED = Loss("squared", squared_loss, squared_loss_grad, squared_loss_hvp, squared_loss_prox, 1.0)
HINGE = Loss("hinge", hinge_loss, hinge_loss_grad, hinge_loss_hvp, hinge_loss_prox, None)

#: Every output loss by name (the table :func:`get` reads).
LOSSES: dict[str, Loss] = {loss.name: loss for loss in (CROSS_ENTROPY, SQUARED, HINGE)}


def get(name: str | Loss) -> Loss:
    """The :class:`Loss` called ``name`` (``"cross_entropy"``, ``"squared"`` or ``"hinge"``); a record is
    returned as it is, so functions can take either.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}") from None
