"""Activations. Hidden layers use ReLU in every paper amref follows; the name is the only option.

The elementwise z-subproblems that involve the activation (the "ReLU prox") live with the other
closed forms in :mod:`amref.solvers.subproblems`.
"""

from __future__ import annotations

from .backend import Array, namespace

__all__ = ["ACTIVATIONS", "activation", "relu"]

ACTIVATIONS = ("relu",)


def relu(x: Array) -> Array:
    """max(x, 0), elementwise."""
    xp = namespace(x)
    return xp.maximum(x, 0.0)


def activation(name: str):
    """The activation function called ``name`` (only ``"relu"``)."""
    if name != "relu":
        raise ValueError(f"unknown activation {name!r}; amref implements {ACTIVATIONS}")
    return relu
