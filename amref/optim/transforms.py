r"""Add-ons every optimizer shares, written once: learning-rate schedules, weight decay, clipping.

An optimizer is assembled by :func:`compose` as ::

    chain( clip_by_global_norm(c)                    if clip_norm
           add_l2_decay(λ, mask)                     if style "l2":        g ← g + λθ
           <the optimizer's own rule>                                       u = rule(g)
           scale_by_learning_rate(γ_t)                                      Δ = −γ_t u
           add_decoupled_decay(λ, γ_t, mask)         if style "decoupled": Δ ← Δ − γ_t λθ
           add_decoupled_decay(λ, None, mask)        if style "fixed":     Δ ← Δ − λθ
           proximal_decay(λ, γ_t, mask) )            if style "proximal":  Δ ← (Δ − γ_t λθ)/(1 + γ_t λ)

so that θ + Δ is, for the proximal style, ``(θ − γ_t u)/(1 + γ_t λ)``. The optimizer also has a fused
``step`` (:func:`~amref.optim.base.apply_step`): the same chain up to the rule, then the learning rate,
the decay and θ + Δ in one pass per block (a Numba kernel where one applies), bit-identical. The decay
masks select the blocks that are decayed (by default the weights, not the biases). Only the optimizer's
own rule lives in its module; these add-ons never appear there.

A **schedule** is a function ``γ(k)`` of the number k = 0, 1, … of updates already made (optax's
convention), so the first update uses γ(0). With a constant schedule every form below is the same.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Sequence

from ..backend import namespace
from ..kernels import optim_kernel
from .base import (CountState, EmptyState, GradientTransformation, Tree, chain, global_norm,
                   resolve_mask)

__all__ = [
    "add_decoupled_decay",
    "add_l2_decay",
    "as_schedule",
    "clip_by_global_norm",
    "compose",
    "constant_schedule",
    "cosine_schedule",
    "exponential_schedule",
    "inverse_time_schedule",
    "make_schedule",
    "Masks",
    "masks",
    "polynomial_schedule",
    "proximal_decay",
    "scale_by_learning_rate",
    "Schedule",
    "step_schedule",
    "warmup_schedule",
]

Schedule = Callable[[int], float]


# ----------------------------------------------------------------------------- schedules
def constant_schedule(lr: float) -> Schedule:
    """γ(k) = γ."""
    return lambda k: lr


def step_schedule(lr: float, every: int, factor: float) -> Schedule:
    """γ(k) = γ · factor^⌊k / every⌋ (e.g. ×0.1 every 100 updates)."""
    return lambda k: lr * factor ** (k // every)


def exponential_schedule(lr: float, steps: int, rate: float) -> Schedule:
    """γ(k) = γ · rate^(k / steps)."""
    return lambda k: lr * rate ** (k / steps)


def inverse_time_schedule(lr: float, kappa: float) -> Schedule:
    """γ(k) = γ / (1 + κ k) (torch Adagrad's ``lr_decay``: γ/(1 + (t − 1)κ) with t = k + 1)."""
    return lambda k: lr / (1.0 + kappa * k)


def polynomial_schedule(lr: float, steps: int, power: float = 1.0) -> Schedule:
    """γ(k) = γ (1 − min(k, T)/T)^p (p = 1: linear decay to 0 at T; LARS/LAMB use p = 2)."""
    return lambda k: lr * (1.0 - min(k, steps) / steps) ** power


def cosine_schedule(lr: float, steps: int) -> Schedule:
    """γ(k) = γ · ½ (1 + cos(π min(k, T)/T))."""
    return lambda k: lr * 0.5 * (1.0 + math.cos(math.pi * min(k, steps) / steps))


def warmup_schedule(lr: float, warmup: int, after: Schedule) -> Schedule:
    """γ(k) = γ (k + 1)/warmup for k < warmup, then ``after(k − warmup)``."""
    if warmup == 0:
        return after
    return lambda k: lr * (k + 1) / warmup if k < warmup else after(k - warmup)


def make_schedule(options: Any) -> Schedule:
    """The schedule described by a :class:`~amref.optim.options.BaselineOptions`."""
    lr, name = float(options.lr), options.schedule
    if name == "constant":
        base = constant_schedule(lr)
    elif name == "step":
        base = step_schedule(lr, options.decay_steps, options.decay_rate)
    elif name == "exponential":
        base = exponential_schedule(lr, options.decay_steps, options.decay_rate)
    elif name == "inverse_time":
        base = inverse_time_schedule(lr, options.decay_rate)
    elif name == "polynomial":
        base = polynomial_schedule(lr, options.decay_steps, options.decay_power)
    elif name == "cosine":
        base = cosine_schedule(lr, options.decay_steps)
    else:
        raise ValueError(f"unknown schedule {name!r}")
    return warmup_schedule(lr, options.warmup_steps, base)


def as_schedule(lr: float | Schedule) -> Schedule:
    """A schedule from a number or a schedule."""
    return lr if callable(lr) else constant_schedule(float(lr))


# ----------------------------------------------------------------------------- the learning rate
def scale_by_learning_rate(lr: float | Schedule) -> GradientTransformation:
    """Δ = −γ_k u, k counting this transformation's updates."""
    schedule = as_schedule(lr)

    def init(params: Tree) -> CountState:
        return CountState(count=0)

    def update(updates: Tree, state: CountState, params: Tree | None = None, **extras: Any):
        step = -float(schedule(state.count))
        return [step * u for u in updates], CountState(count=state.count + 1)

    return GradientTransformation(init, update)


# ----------------------------------------------------------------------------- weight decay
def add_l2_decay(weight_decay: float, mask: Sequence[bool] | None = None) -> GradientTransformation:
    """Coupled (L2) decay, before the rule: g ← g + λθ on the masked blocks."""

    def init(params: Tree) -> CountState:
        return CountState(count=0)

    def update(updates: Tree, state: CountState, params: Tree | None = None, **extras: Any):
        m = resolve_mask(mask, len(updates))
        out = [g + weight_decay * p if keep else g for g, p, keep in zip(updates, _need(params), m)]
        return out, CountState(count=state.count + 1)

    return GradientTransformation(init, update)


def add_decoupled_decay(
    weight_decay: float, lr: float | Schedule | None, mask: Sequence[bool] | None = None
) -> GradientTransformation:
    """Decoupled decay, after the learning rate: Δ ← Δ − γ_k λ θ (AdamW), or Δ ← Δ − λθ when ``lr`` is None."""
    schedule = None if lr is None else as_schedule(lr)

    def init(params: Tree) -> CountState:
        return CountState(count=0)

    def update(updates: Tree, state: CountState, params: Tree | None = None, **extras: Any):
        c = weight_decay if schedule is None else float(schedule(state.count)) * weight_decay
        m = resolve_mask(mask, len(updates))
        out = [_decoupled(d, p, c) if keep else d for d, p, keep in zip(updates, _need(params), m)]
        return out, CountState(count=state.count + 1)

    return GradientTransformation(init, update)


def proximal_decay(weight_decay: float, lr: float | Schedule,
                   mask: Sequence[bool] | None = None) -> GradientTransformation:
    """Proximal decay (Adan), after the learning rate: θ⁺ = (θ + Δ)/(1 + γ_k λ), i.e. Δ ← (Δ − γ_k λθ)/(1 + γ_k λ).

    This is the exact proximal step of (λ/2)‖θ‖² after the step Δ.
    """
    schedule = as_schedule(lr)

    def init(params: Tree) -> CountState:
        return CountState(count=0)

    def update(updates: Tree, state: CountState, params: Tree | None = None, **extras: Any):
        c = float(schedule(state.count)) * weight_decay
        m = resolve_mask(mask, len(updates))
        out = [_proximal(d, p, c) if keep else d for d, p, keep in zip(updates, _need(params), m)]
        return out, CountState(count=state.count + 1)

    return GradientTransformation(init, update)


def _decoupled(d, p, c: float):
    """Δ − cθ for one block (decoupled and fixed decay)."""
    return d - c * p


def _proximal(d, p, c: float):
    """(Δ − cθ)/(1 + c) for one block (proximal decay)."""
    return (d - c * p) / (1.0 + c)


def _need(params: Tree | None) -> Tree:
    if params is None:
        raise ValueError("weight decay needs the parameters: call update(grads, state, params)")
    return params


# ----------------------------------------------------------------------------- clipping
def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """g ← g · min(1, c/‖g‖) with the norm over all blocks (optax's form; no ε)."""

    def init(params: Tree) -> EmptyState:
        return EmptyState()

    def update(updates: Tree, state: EmptyState, params: Tree | None = None, **extras: Any):
        xp = namespace(*updates)
        norm = global_norm(updates)
        factor = max_norm / xp.maximum(norm, max_norm)  # 1 when ‖g‖ ≤ c
        return [factor * g for g in updates], state

    return GradientTransformation(init, update)


# ----------------------------------------------------------------------------- assembly
class Masks(NamedTuple):
    """Which blocks get weight decay and which get layer-wise adaptation (LARS/LAMB trust ratios)."""

    decay: list[bool] | None
    adapt: list[bool] | None


def masks(options: Any, is_bias: Sequence[bool] | None) -> Masks:
    """Masks from the options' ``decay_biases`` (and ``trust_biases`` where present) and a bias layout."""
    if is_bias is None:
        return Masks(None, None)
    decay = [True] * len(is_bias) if options.decay_biases else [not b for b in is_bias]
    adapt_biases = getattr(options, "trust_biases", True)
    adapt = [True] * len(is_bias) if adapt_biases else [not b for b in is_bias]
    return Masks(decay, adapt)


def compose(rule: GradientTransformation, options: Any,
            is_bias: Sequence[bool] | None = None) -> GradientTransformation:
    """The full optimizer: clipping, the decay style, ``rule``, the learning rate (module docstring).

    Parameters
    ----------
    rule
        The optimizer's own transformation (direction u, before the learning rate).
    options
        A :class:`~amref.optim.options.BaselineOptions`.
    is_bias
        Per block, whether it is a bias (for the decay mask); ``None``: no block is.
    """
    schedule = make_schedule(options)
    decay_mask = masks(options, is_bias).decay
    lam, style = float(options.weight_decay), options.weight_decay_style
    parts = []
    if options.clip_norm is not None:
        parts.append(clip_by_global_norm(float(options.clip_norm)))
    if lam > 0 and style == "l2":
        parts.append(add_l2_decay(lam, decay_mask))
    parts.append(rule)
    head = len(parts)
    parts.append(scale_by_learning_rate(schedule))
    if lam > 0 and style == "decoupled":
        parts.append(add_decoupled_decay(lam, schedule, decay_mask))
    elif lam > 0 and style == "fixed":
        parts.append(add_decoupled_decay(lam, None, decay_mask))
    elif lam > 0 and style == "proximal":
        parts.append(proximal_decay(lam, schedule, decay_mask))
    else:
        style = None  # no decay after the rule
    reference = chain(*parts)

    def step(grads: Tree, state: tuple, params: Tree, *, donate: bool = False, **extras: Any):
        """``chain(*parts)`` then ``θ + Δ``, with everything after the rule in one pass per block; with
        ``donate`` the rule's new state and θ⁺ may be written over the old arrays."""
        if len(state) != len(parts):
            raise ValueError(f"chain of {len(parts)} transformations got a state of length {len(state)}")
        updates, new_states = grads, []
        for t, s in zip(parts[:head], state):
            own = {"donate": True} if donate and t is rule else {}  # only the rule writes over its state
            updates, s = t.update(updates, s, params, **extras, **own)
            new_states.append(s)
        lr_count = state[head].count
        new_states.append(CountState(count=lr_count + 1))
        c = 0.0
        if style is not None:
            decay_count = state[head + 1].count
            c = lam if style == "fixed" else float(schedule(decay_count)) * lam
            new_states.append(CountState(count=decay_count + 1))
        mode = {None: 0, "decoupled": 1, "fixed": 1, "proximal": 2}[style]
        keep = resolve_mask(decay_mask, len(updates))
        step_size = -float(schedule(lr_count))
        new_params = [_apply_direction(p, u, step_size, c, mode if k else 0, donate)
                      for p, u, k in zip(params, updates, keep)]
        return new_params, tuple(new_states)

    return GradientTransformation(reference.init, reference.update, step)


def _apply_direction(p, u, step: float, c: float, mode: int, donate: bool = False):
    """θ + Δ for one block, Δ = step·u then (mode 1) Δ − cθ or (mode 2) (Δ − cθ)/(1 + c): the tail of
    :func:`compose`'s chain and :func:`~amref.optim.base.apply_updates`."""
    kernel = optim_kernel("apply_direction", p, u)
    if kernel is not None:  # the lines below in one pass
        return kernel(p, u, step, c, mode, donate=donate)
    d = step * u
    if mode == 1:
        d = _decoupled(d, p, c)
    elif mode == 2:
        d = _proximal(d, p, c)
    return p + d
