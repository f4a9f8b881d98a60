r"""Output losses, written once for every solver and baseline.

All losses are **sums over samples** (columns), as in every paper and code amref follows, so the
papers' penalty values ρ, ν mean the same thing here.

=================  ======================================================================
symbol             meaning
=================  ======================================================================
``z``              output-layer pre-activations, ``C × N`` (columns are samples)
``y``              one-hot labels, ``C × N``
R(z; y)            summed softmax cross-entropy ``Σ_j −⟨y_j, log softmax(z_j)⟩``
∇R                 ``softmax(z) − y``; its Lipschitz constant is ≤ 1/2 per column
                   (the column Hessian ``diag(p) − p pᵀ`` has spectral norm ≤ 1/2)
squared            ``½‖z − y‖²`` (Zeng et al. 2019's experiments); gradient ``z − y``
hinge              per-output binary hinge of Taylor et al. 2016: ``max(1 − z, 0)`` where
                   y = 1, ``max(z, 0)`` where y = 0, summed over outputs and samples
=================  ======================================================================

:func:`get` is the single dispatch point from a loss name (``MLP.loss``) to its value and
gradient; every solver and baseline goes through it.

Softmax and cross-entropy use the log-sum-exp shift, so they neither overflow nor need the clamps of
the reference codes (``exp(88.6)``, ``+1e-10``).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from .backend import Array, namespace

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


@dataclasses.dataclass(frozen=True)
class Loss:
    """An output loss: its name, summed value ``R(z; y)`` (0-d array) and (sub)gradient ``∂R/∂z``.

    ``lipschitz`` is the Lipschitz constant of the gradient (None for the non-smooth hinge).
    """

    name: str
    value: Callable[[Array, Array], Array]
    grad: Callable[[Array, Array], Array]
    lipschitz: float | None


LOSSES: dict[str, Loss] = {
    "cross_entropy": Loss("cross_entropy", cross_entropy, cross_entropy_grad, CROSS_ENTROPY_LIPSCHITZ),
    "squared": Loss("squared", squared_loss, squared_loss_grad, 1.0),
    "hinge": Loss("hinge", hinge_loss, hinge_loss_grad, None),
}


def get(name: str) -> Loss:
    """The :class:`Loss` called ``name`` (``"cross_entropy"``, ``"squared"`` or ``"hinge"``).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}") from None
