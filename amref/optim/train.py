r"""The training loop of the gradient baselines, as a :class:`~amref.contract.SolverSpec`.

One driver iteration is one **epoch**, so ``amref train --solver adam --iters 200`` and the AM solvers
count alike, and :func:`amref.minimize` gives the baselines the same result, history, callback,
divergence handling, checkpoints and resume::

    for each epoch
        shuffle the N training columns with the state's seeded generator (one gather per epoch;
                not for full batch, the papers' setting)
        for each batch (x_B, y_B) of ``batch_size`` consecutive shuffled columns
            ℓ, g  = loss and gradient of the batch (:func:`amref.backprop.forward_backward`)
            extras = what the rule needs besides g (batch loss, Hutchinson sample, Fisher factors)
            Δ, s  = optimizer.update(g, s, θ, **extras);   θ ← θ + Δ     (one fused apply_step)
            b     = batch-size controller(b)            (AdAdaGrad only)

The state holds the parameters, the optimizer's state, the generator's state and counters, so a
checkpoint taken after any epoch resumes to exactly the iterates of an uninterrupted run.

History columns (beside the driver's): ``objective`` is the training objective the method minimises,
expressed like the AM solvers' (the loss **summed** over the training set, plus the L2 penalty of
coupled weight decay in the same units); ``residual`` is 0 (no constraints); ``lr`` the learning rate of
the epoch's last update; ``batch_size``; ``steps`` and ``samples`` (updates made and samples seen so
far, for comparisons at equal cost); ``grad_norm`` (of the last batch gradient); ``epoch_loss`` (mean
per-sample loss of the epoch's batches, each taken before its update, as training loops usually log).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np

from .. import backprop
from ..backend import device, from_host, namespace
from ..contract import SolverSpec
from ..problem import MLP, Params
from .base import GradientTransformation, apply_step, global_norm
from .transforms import make_schedule, masks

__all__ = [
    "Baseline",
    "BaselineState",
    "bias_layout",
    "diagnostics",
    "ExtraContext",
    "init_state",
    "objective",
    "params",
    "step",
]


class ExtraContext(NamedTuple):
    """What an extra-input function sees before an update.

    Attributes
    ----------
    problem : MLP
    params : list
        θ before the update.
    tape : backprop.Tape
        The batch's forward-backward pass.
    rng : numpy.random.Generator
        The run's host generator (Hutchinson probes).
    step : int
        Number of updates already made.
    options : object
        The baseline's options.
    """

    problem: MLP
    params: list
    tape: backprop.Tape
    rng: np.random.Generator
    step: int
    options: Any


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A registered gradient baseline.

    Attributes
    ----------
    name : str
        Registry and command-line name.
    options_class : type
        Its options (a :class:`~amref.optim.options.BaselineOptions` subclass).
    build : callable
        ``build(options, is_bias) -> GradientTransformation``.
    extras : mapping
        Keyword → ``fn(ExtraContext)`` computing an extra input of ``update`` (``None`` to skip it).
    batch_controller : callable or None
        ``fn(tape, batch_size, options, n_train) -> new batch size`` (AdAdaGrad), called after every
        ``options.test_interval``-th update.
    """

    name: str
    options_class: type
    build: Callable[..., GradientTransformation]
    extras: Mapping[str, Callable[[ExtraContext], Any]] = dataclasses.field(default_factory=dict)
    batch_controller: Callable[..., int] | None = None

    def solver(self) -> SolverSpec:
        """The :class:`~amref.contract.SolverSpec` that trains an MLP with this optimizer."""
        return SolverSpec(
            name=self.name,
            options_class=self.options_class,
            init_state=functools.partial(init_state, baseline=self),
            step=functools.partial(step, baseline=self),
            diagnostics=diagnostics,
            params=params,
            constrained=False,
        )


@dataclasses.dataclass(frozen=True)
class BaselineState:
    """Everything a baseline run carries from one epoch to the next."""

    problem: MLP
    params: tuple
    opt_state: Any
    rng: dict
    batch_size: int
    epoch: int = 0
    steps: int = 0
    samples: int = 0
    epoch_loss: float = math.nan
    grad_norm: float = math.nan


def bias_layout(problem: MLP) -> list[bool]:
    """``[False, True, …]``: which of ``[W_1, b_1, …, W_L, b_L]`` are biases (for the decay masks)."""
    return [i % 2 == 1 for i in range(2 * problem.n_layers)]


def init_state(problem: MLP, data, params: Params, options: Any, *, baseline: Baseline) -> BaselineState:
    """Optimizer state from ``init(params)``, the shuffling generator from ``options.shuffle_seed``."""
    backprop.check_supported(problem)
    optimizer = baseline.build(options, bias_layout(problem))
    n = data.n_train
    return BaselineState(
        problem=problem,
        params=tuple(params),
        opt_state=optimizer.init(list(params)),
        rng=np.random.default_rng(options.shuffle_seed).bit_generator.state,
        batch_size=n if options.batch_size is None else min(int(options.batch_size), n),
    )


def step(state: BaselineState, data, options: Any, *, baseline: Baseline) -> BaselineState:
    """One epoch (module docstring); returns a new state."""
    problem = state.problem
    x, y = data.x_train, data.y_train
    xp = namespace(x)
    n = data.n_train
    optimizer = baseline.build(options, bias_layout(problem))
    rng = np.random.default_rng()
    rng.bit_generator.state = state.rng
    params, opt_state = list(state.params), state.opt_state
    batch, steps, samples = state.batch_size, state.steps, state.samples
    if batch < n:  # shuffle once per epoch (one gather), then take batches as column slices
        order = from_host(rng.permutation(n), xp, device=device(x))
        x, y = xp.take(x, order, axis=1), xp.take(y, order, axis=1)
    seen_loss = 0.0
    pos = 0
    tape = None
    while pos < n:
        stop = min(pos + batch, n)
        xb, yb = x[:, pos:stop], y[:, pos:stop]  # views; the whole set for full batch
        size = stop - pos
        pos = stop
        tape = backprop.forward_backward(problem, params, xb, yb, options.reduction,
                                         straight_through=options.straight_through)
        ctx = ExtraContext(problem, params, tape, rng, steps, options)
        extras = {key: fn(ctx) for key, fn in baseline.extras.items()}
        # from the second update on, params and opt_state are this loop's own: donate them (apply_step)
        params, opt_state = apply_step(optimizer, tape.grads, opt_state, params, donate=steps > state.steps,
                                       **extras)
        steps += 1
        samples += size
        seen_loss = seen_loss + tape.loss / tape.scale  # summed per-sample losses of this batch
        if baseline.batch_controller is not None and steps % options.test_interval == 0:
            batch = baseline.batch_controller(tape, batch, options, n)
    return dataclasses.replace(
        state,
        params=tuple(params),
        opt_state=opt_state,
        rng=rng.bit_generator.state,
        batch_size=batch,
        epoch=state.epoch + 1,
        steps=steps,
        samples=samples,
        epoch_loss=float(seen_loss) / n,
        grad_norm=float(global_norm(tape.grads)),
    )


def objective(state: BaselineState, data, options: Any) -> float:
    """Summed training loss at the state's weights, plus the coupled-L2 penalty in the same units.

    With coupled decay each update follows the gradient of ``ℓ_B + (λ/2)‖θ‖²`` (masked blocks); over
    the training set that is ``Σ_i f_i + c (λ/2)‖θ‖²`` with c = N for ``"mean"`` and N/B for ``"sum"``.
    """
    problem, p = state.problem, list(state.params)
    value = problem.loss_value(p, data.x_train, data.y_train)
    if options.weight_decay > 0 and options.weight_decay_style == "l2":
        xp = namespace(*p)
        decayed = masks(options, bias_layout(problem)).decay
        sq = sum(float(xp.sum(w * w)) for w, keep in zip(p, decayed) if keep)
        n = data.n_train
        c = n if options.reduction == "mean" else n / state.batch_size
        value += c * 0.5 * options.weight_decay * sq
    return value


def diagnostics(state: BaselineState, data, options: Any) -> dict:
    """The history row: ``objective``, ``residual`` (0), ``lr``, ``batch_size``, ``steps``, ``samples``,
    ``grad_norm``, ``epoch_loss`` (module docstring)."""
    return {
        "objective": objective(state, data, options),
        "residual": 0.0,
        "lr": float(make_schedule(options)(max(state.steps - 1, 0))),
        "batch_size": state.batch_size,
        "steps": state.steps,
        "samples": state.samples,
        "grad_norm": state.grad_norm,
        "epoch_loss": state.epoch_loss,
    }


def params(state: BaselineState) -> Params:
    """Current weights ``[W_1, b_1, …, W_L, b_L]``."""
    return list(state.params)
