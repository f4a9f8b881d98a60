r"""Output losses, written once for every solver and baseline.

All losses are **sums over samples** (columns), as in every paper and code amref follows, so the
papers' penalty values ρ, ν mean the same thing here (spec ``README.md``).

=================  ======================================================================
symbol             meaning
=================  ======================================================================
``z``              output-layer pre-activations, ``C × N`` (columns are samples)
``y``              one-hot labels, ``C × N``
R(z; y)            summed softmax cross-entropy ``Σ_j −⟨y_j, log softmax(z_j)⟩``
∇R                 ``softmax(z) − y``; its Lipschitz constant is ≤ 1/2 per column
                   (the column Hessian ``diag(p) − p pᵀ`` has spectral norm ≤ 1/2)
=================  ======================================================================

Softmax and cross-entropy use the log-sum-exp shift, so they neither overflow nor need the clamps of
the reference codes (``exp(88.6)``, ``+1e-10``; ``reference-code.md`` §5 item 4).
"""

from __future__ import annotations

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
