"""Options shared by every gradient baseline, and the validators their subclasses use.

Each optimizer's options class subclasses :class:`BaselineOptions`, adds its own hyperparameters and
overrides the defaults (``lr``, ``weight_decay``, ``weight_decay_style``) with its reference
implementation's. Every class is a frozen dataclass validated in ``__post_init__``; an invalid value
raises ``ValueError`` naming the option. The command line maps ``--lr``, ``--weight-decay`` and
``--batch-size`` onto the fields of the same names and ``--option key=value`` onto any other.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

#: Weight-decay styles (``docs/optimizers/index.md``). ``"direction"`` is LARS/LAMB's: λθ joins the direction
#: inside the layer-wise trust ratio, so it is part of those rules and only they accept it.
DECAY_STYLES = ("l2", "decoupled", "fixed", "proximal", "direction")
SCHEDULES = ("constant", "step", "exponential", "inverse_time", "polynomial", "cosine")


def check_number(name: str, value, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a finite real number in the given range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")


def check_beta(name: str, value) -> None:
    """An averaging coefficient β ∈ [0, 1)."""
    check_number(name, value, low=0.0, high=1.0, high_open=True)


def check_int(name: str, value, *, low: int = 0) -> None:
    """An integer ``>= low`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def check_choice(name: str, value, choices: tuple) -> None:
    """One of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class BaselineOptions:
    """Options every gradient baseline has: learning rate and schedule, weight decay, clipping, batches.

    Attributes
    ----------
    lr : float
        Base learning rate γ (each optimizer's reference default).
    weight_decay : float
        λ ≥ 0 (0: none).
    weight_decay_style : {"l2", "decoupled", "fixed", "proximal", "direction"}
        ``"l2"``: g ← g + λθ before the rule (coupled; torch's ``weight_decay`` for SGD/Adam…).
        ``"decoupled"``: θ ← θ − γ_t λ θ beside the rule (AdamW; uses the *scheduled* rate).
        ``"fixed"``: θ ← θ − λθ. ``"proximal"``: θ ← (θ − step)/(1 + γ_t λ) (Adan's default).
        ``"direction"``: λθ added to the preconditioned direction inside the trust ratio (LARS, LAMB only).
    decay_biases : bool
        Decay the bias blocks too (default: weights only, the usual mask).
    batch_size : int or None
        Mini-batch size; ``None`` (or ≥ the training-set size) is full batch, the papers' setting.
    reduction : {"mean", "sum"}
        Loss the gradient is taken of: the batch mean (the reference implementations' setting, which
        their default hyperparameters assume) or the batch sum (amref's convention for the AM
        solvers; the papers' GD learning rates such as dlADMM's 1e-6 only make sense for it).
    shuffle_seed : int
        Seed of the host generator that shuffles mini-batches (and draws AdaHessian's probes).
    clip_norm : float or None
        Clip the batch gradient to this global norm before the rule (None: off).
    schedule : {"constant", "step", "exponential", "inverse_time", "polynomial", "cosine"}
        Learning-rate schedule over the update count k = 0, 1, … (updates, not epochs; equal for
        full batch). See :func:`amref.optim.transforms.make_schedule`.
    decay_rate : float
        Factor of ``"step"`` (γ·rate^⌊k/steps⌋) and ``"exponential"`` (γ·rate^(k/steps)); κ of
        ``"inverse_time"`` (γ/(1 + κk), torch Adagrad's ``lr_decay``).
    decay_steps : int
        Period of ``"step"`` / time scale of ``"exponential"`` / horizon of ``"polynomial"`` and ``"cosine"``.
    decay_power : float
        Power of ``"polynomial"`` (1: linear decay to 0 at ``decay_steps``).
    warmup_steps : int
        Linear warm-up over the first updates, γ·(k+1)/warmup, before the schedule starts.
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    weight_decay_style: str = "l2"
    decay_biases: bool = False
    batch_size: int | None = None
    reduction: str = "mean"
    shuffle_seed: int = 0
    clip_norm: float | None = None
    schedule: str = "constant"
    decay_rate: float = 0.1
    decay_steps: int = 100
    decay_power: float = 1.0
    warmup_steps: int = 0

    #: Decay styles this optimizer accepts (LARS/LAMB add ``"direction"``).
    DECAY_STYLES: ClassVar[tuple[str, ...]] = ("l2", "decoupled", "fixed", "proximal")

    def __post_init__(self) -> None:
        check_number("lr", self.lr, low=0.0)
        check_number("weight_decay", self.weight_decay, low=0.0)
        check_choice("weight_decay_style", self.weight_decay_style, self.DECAY_STYLES)
        if not isinstance(self.decay_biases, bool):
            raise ValueError(f"decay_biases must be a bool, got {self.decay_biases!r}")
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, low=1)
        check_choice("reduction", self.reduction, ("mean", "sum"))
        check_int("shuffle_seed", self.shuffle_seed, low=0)
        if self.clip_norm is not None:
            check_number("clip_norm", self.clip_norm, low=0.0, low_open=True)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_number("decay_rate", self.decay_rate, low=0.0)
        check_int("decay_steps", self.decay_steps, low=1)
        check_number("decay_power", self.decay_power, low=0.0, low_open=True)
        check_int("warmup_steps", self.warmup_steps, low=0)
        if self.schedule in ("step", "exponential") and not 0.0 < self.decay_rate <= 1.0:
            raise ValueError(f"decay_rate must lie in (0, 1] for the {self.schedule!r} schedule, "
                             f"got {self.decay_rate!r}")
