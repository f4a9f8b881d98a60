"""The optimizer interface: an ``(init, update)`` pair of pure functions on plain lists of arrays.

This is optax's design without its machinery::

    opt = chain(clip_by_global_norm(1.0), scale_by_adam(0.9, 0.999, 1e-8), scale_by_learning_rate(1e-3))
    state = opt.init(params)
    deltas, state = opt.update(grads, state, params)     # pure: nothing is modified in place
    params = apply_updates(params, deltas)               # params + deltas
    params, state = apply_step(opt, grads, state, params)  # the same two lines, fused where possible

* ``params``, ``grads`` and ``deltas`` are lists of arrays of equal shapes (for the MLP,
  ``[W_1, b_1, …, W_L, b_L]``); a "tree" here is just such a list.
* A state is a NamedTuple of arrays, lists of arrays, Python numbers and nested states, so it can be
  checkpointed (:mod:`amref.checkpoint`) and compared.
* ``update`` takes keyword extras that first-order libraries hide behind closures: the batch loss
  (SOAA), a Hutchinson Hessian-diagonal sample (AdaHessian), Kronecker-factor statistics (AdaFisher).
  Every transformation accepts ``**extras`` and ignores what it does not use, so :func:`chain` can pass
  them to all.
* Step counters are Python ints in the state: bias corrections such as ``1 − β^t`` are then Python
  floats and never force a device synchronisation.

Speed: on NumPy blocks of at least :data:`amref.kernels.JIT_MIN_SIZE` elements, Adam(W), Lion, Adan,
AdaBelief, SGD momentum, RMSprop and Adagrad compute their new state and direction in one Numba pass
(:mod:`amref.kernels.numba_optim`), and :func:`apply_step` applies the learning rate, the decoupled or
proximal decay and ``θ + Δ`` in one more; the results are bit-identical to the array-API expressions.
States stay immutable (the driver keeps the previous state to return when a run diverges; callbacks and
checkpoints may hold any state): updates write new arrays unless the caller *donates* the old state and
parameters (``apply_step(..., donate=True)``), which the training loop does from the second update of an
epoch on.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

from ..backend import Array, namespace

__all__ = [
    "apply_step",
    "apply_updates",
    "as_scalar_array",
    "block_norm",
    "chain",
    "CountState",
    "EmptyState",
    "global_norm",
    "GradientTransformation",
    "identity",
    "resolve_mask",
    "Tree",
    "tree_full_like",
    "tree_map",
    "tree_vdot",
    "tree_zeros_like",
]

Tree = list
"""A list of arrays (parameters, gradients, updates or one state field)."""


class GradientTransformation(NamedTuple):
    """A pair of pure functions.

    Attributes
    ----------
    init : callable
        ``init(params) -> state``.
    update : callable
        ``update(updates, state, params=None, **extras) -> (updates, state)``.
    step : callable or None
        Optional fused form of ``update`` followed by :func:`apply_updates`,
        ``step(grads, state, params, **extras) -> (params, state)``, with the same results (call it
        through :func:`apply_step`).
    """

    init: Callable[[Tree], Any]
    update: Callable[..., tuple[Tree, Any]]
    step: Callable[..., tuple[Tree, Any]] | None = None


class EmptyState(NamedTuple):
    """State of a stateless transformation."""


class CountState(NamedTuple):
    """State of a transformation that only counts its updates."""

    count: int


# ----------------------------------------------------------------------------- tree helpers
def tree_map(fn: Callable[..., Array], tree: Sequence[Any], *rest: Sequence[Any]) -> Tree:
    """``[fn(x, *others) for each position]`` over lists of equal length."""
    for other in rest:
        if len(other) != len(tree):
            raise ValueError(f"tree_map over lists of lengths {len(tree)} and {len(other)}")
    return [fn(*xs) for xs in zip(tree, *rest)]


def tree_zeros_like(tree: Sequence[Array]) -> Tree:
    """Zeros with the shapes, dtypes and devices of ``tree``."""
    return [namespace(x).zeros_like(x) for x in tree]


def tree_full_like(tree: Sequence[Array], value: float) -> Tree:
    """Arrays filled with ``value``, shaped like ``tree``."""
    return [namespace(x).full_like(x, value) for x in tree]


def tree_vdot(a: Sequence[Array], b: Sequence[Array]) -> Array:
    """``Σ_blocks Σ a ∘ b`` as a 0-d array."""
    xp = namespace(*a, *b)
    total = xp.sum(a[0] * b[0])
    for x, y in zip(a[1:], b[1:]):
        total = total + xp.sum(x * y)
    return total


def global_norm(tree: Sequence[Array]) -> Array:
    """``‖tree‖₂`` over all blocks together, as a 0-d array."""
    xp = namespace(*tree)
    return xp.sqrt(tree_vdot(tree, tree))


def block_norm(x: Array) -> Array:
    """Frobenius norm of one block (0-d array)."""
    xp = namespace(x)
    return xp.sqrt(xp.sum(x * x))


def as_scalar_array(value: Any, like: Array) -> Array:
    """``value`` (a Python or NumPy scalar, or a 0-d array) as a 0-d array of ``like``'s namespace and dtype.

    NumPy reductions return NumPy scalars, not 0-d arrays; states keep 0-d arrays so that they
    checkpoint and promote like the parameters on every backend.
    """
    xp = namespace(like)
    return xp.asarray(value, dtype=like.dtype)


def apply_updates(params: Sequence[Array], updates: Sequence[Array]) -> Tree:
    """``params + updates`` (new arrays)."""
    return tree_map(lambda p, u: p + u, params, updates)


def apply_step(opt: GradientTransformation, grads: Sequence[Array], state: Any, params: Sequence[Array], *,
               donate: bool = False, **extras: Any) -> tuple[Tree, Any]:
    """One update: ``(params + deltas, new state)`` for ``deltas, new state = opt.update(grads, state, params)``.

    Uses ``opt.step`` when the optimizer has a fused one (same results, fewer passes over memory).

    Parameters
    ----------
    opt, grads, state, params, **extras
        As for ``opt.update``.
    donate : bool
        False (default): pure like ``update``, nothing passed in is modified. True: the caller gives up
        ``state`` and ``params`` (no one else holds their arrays, nor any array the state shares with
        earlier gradients), and the fused kernels may write the new state and parameters over them, which
        keeps half as many bytes in cache. The training loop donates from the second update of an epoch
        on: the driver still holds the epoch's starting state. Gradients are never written.
    """
    if opt.step is not None:
        return opt.step(grads, state, params, donate=donate, **extras)
    deltas, state = opt.update(grads, state, params, **extras)
    return apply_updates(params, deltas), state


def resolve_mask(mask: Sequence[bool] | None, n: int) -> list[bool]:
    """A per-block boolean list (``None`` means every block)."""
    if mask is None:
        return [True] * n
    mask = [bool(m) for m in mask]
    if len(mask) != n:
        raise ValueError(f"mask has {len(mask)} entries for {n} parameter blocks")
    return mask


# ----------------------------------------------------------------------------- combinators
def identity() -> GradientTransformation:
    """Pass the updates through (plain gradient descent before the learning rate)."""

    def init(params: Tree) -> EmptyState:
        return EmptyState()

    def update(updates: Tree, state: EmptyState, params: Tree | None = None, **extras: Any):
        return list(updates), state

    return GradientTransformation(init, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` in order; the state is the tuple of their states.

    Every transformation receives the same ``params`` and ``extras``.
    """

    def init(params: Tree) -> tuple:
        return tuple(t.init(params) for t in transforms)

    def update(updates: Tree, state: tuple, params: Tree | None = None, **extras: Any):
        if len(state) != len(transforms):
            raise ValueError(f"chain of {len(transforms)} transformations got a state of length {len(state)}")
        new_states = []
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params, **extras)
            new_states.append(s)
        return updates, tuple(new_states)

    return GradientTransformation(init, update)
