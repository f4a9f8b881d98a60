"""Options shared by every gradient baseline.

Each optimizer's options class subclasses :class:`BaselineOptions`, adds its own hyperparameters and
overrides the defaults (``lr``, ``weight_decay``, ``weight_decay_style``) with its reference
implementation's. Every class is a frozen :class:`amref.options.Options` dataclass, validated from its
annotations and declared ranges; an invalid value raises ``ValueError`` naming the option. A subclass that
only changes a default keeps the range declared here. The command line maps ``--lr``, ``--weight-decay`` and
``--batch-size`` onto the fields of the same names and ``--option key=value`` onto any other.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from ..options import Options, nonnegative, number, positive

__all__ = ["BaselineOptions", "DecayStyle", "Schedule", "TrustDecayStyle"]

#: Weight-decay styles every optimizer accepts (see :class:`BaselineOptions`).
DecayStyle = Literal["l2", "decoupled", "fixed", "proximal"]
#: LARS/LAMB's styles: ``"direction"`` adds λθ to the direction inside the layer-wise trust ratio, so it
#: is part of those rules and only they accept it.
TrustDecayStyle = Literal["direction", "l2", "decoupled", "fixed", "proximal"]
Schedule = Literal["constant", "step", "exponential", "inverse_time", "polynomial", "cosine"]

@dataclasses.dataclass(frozen=True)
class BaselineOptions(Options):
    """Options every gradient baseline has: learning rate and schedule, weight decay, clipping, batches.

    Attributes
    ----------
    lr : float
        Base learning rate γ (each optimizer's reference default).
    weight_decay : float
        λ ≥ 0 (0: none).
    weight_decay_style : {"l2", "decoupled", "fixed", "proximal"}
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
    straight_through : bool
        Back-propagate through binary-step layers with the straight-through estimate h′ := 1 (Bengio,
        Léonard & Courville 2013) instead of their true derivative 0 (which trains only the output layer);
        no effect for any other activation.
    """

    lr: float = nonnegative(1e-3)
    weight_decay: float = nonnegative(0.0)
    weight_decay_style: DecayStyle = "l2"
    decay_biases: bool = False
    batch_size: int | None = number(None, low=1)
    reduction: Literal["mean", "sum"] = "mean"
    shuffle_seed: int = nonnegative(0)
    clip_norm: float | None = positive(None)
    schedule: Schedule = "constant"
    decay_rate: float = nonnegative(0.1)
    decay_steps: int = number(100, low=1)
    decay_power: float = positive(1.0)
    warmup_steps: int = nonnegative(0)
    straight_through: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.schedule in ("step", "exponential") and not 0.0 < self.decay_rate <= 1.0:
            raise ValueError(f"decay_rate must lie in (0, 1] for the {self.schedule!r} schedule, "
                             f"got {self.decay_rate!r}")
