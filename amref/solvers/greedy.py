r"""Greedy layer-wise training: train a shallow network, then grow it and train again (pdADMM Sec III,
pdADMM-G Sec 4.4 / 5.4).

The papers train "a shallow network with the first few layers, then add layers step by step". The
released codes do it in fixed stages:

* pdADMM: a 5-layer net, then the 10-layer net (layers 1–4 kept, the trained output layer discarded).
* pdADMM-G: 2 layers (200 iterations) → 5 layers (10) → 10 layers (200).

On growing, the trained hidden layers are kept, the new hidden layers start as the identity
(``W = eye(n_l, n_{l−1})``, b = 0, so the forward pass through them is unchanged for ReLU inputs), and the
new output layer is drawn at random (``"random"``, the codes' intermediate stages) or set to the
rectangular identity ``eye(C, n)`` with b = 0 (``"identity"``, the codes' final 10-layer stage).

Two hand-overs (``Stage.handover``):

* ``"state"`` — the codes' protocol and the default of :func:`paper_stages`: the kept layers keep their
  auxiliary variables (pdADMM: p, z, q) from the previous stage's final state, the new layers start from
  a forward pass of the last kept output, the duals at 0 (the solver's ``SolverSpec.carry_state``; only
  solvers that declare it, pdADMM and its -G variants).
* ``"weights"`` — the default of :class:`Stage` and :func:`default_stages`, for any solver (the ADMM
  solvers and the gradient baselines alike): every stage starts its solver from a fresh state built from
  the carried weights (``minimize(..., params=...)``: auxiliary variables by a forward pass, duals 0).

The two are not close for pdADMM-G on Cora. In the code's protocol the shallow stages run with weight
decay μ ≫ ν (the 5-layer stage: μ = 1, ν = 1e-5, θ₀ = 20, so every W-step multiplies W by about
1 − μ/θ₀ = 0.95), and the auxiliary variables end far from the forward pass of the weights (21–47 % in
layers 1–4). Rebuilding p, z, q from the weights throws away what the shallow stage learned and some seeds
collapse; carrying them over reproduces Table III (``validation/RESULTS.md``).

Usage::

    from amref.solvers.greedy import train_greedy, paper_stages
    result = train_greedy(get_solver("pdadmm-g"), MLP((d, *[100] * 9, C)), data, options,
                          stages=paper_stages("pdadmm-g", 10, iterations=200))

``train_greedy(solver, problem, data, options, max_iter=n)`` without ``stages`` uses the pdADMM-G schedule
of depths 2 → 5 → L (those below L), ``max_iter`` iterations each.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Literal, Sequence

from ..backend import device, dtype_name, namespace
from ..contract import IterationInfo, SolverSpec
from ..driver import minimize
from ..problem import MLP, Params
from ..result import History, Result, Status

__all__ = ["default_stages", "grow_params", "paper_stages", "Stage", "stage_problem", "train_greedy"]


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of greedy training.

    Attributes
    ----------
    depth : int
        Number of weight layers L_s of this stage's network (its widths are the first L_s − 1 hidden
        widths of the full network, then the classes). The last stage must have the full depth.
    iterations : int
        Iterations of this stage.
    options : object or None
        Solver options for this stage (None: the options given to :func:`train_greedy`).
    output_init : {"random", "identity"}
        How the output layer starts (the first stage always starts at random).
    handover : {"weights", "state"}
        How this stage continues the previous one (ignored for the first stage): a fresh state from the
        grown weights, or the kept layers' auxiliary variables carried over (module docstring).
    """

    depth: int
    iterations: int
    options: Any = None
    output_init: Literal["random", "identity"] = "random"
    handover: Literal["weights", "state"] = "weights"

    def __post_init__(self) -> None:
        for name in ("depth", "iterations"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name == "depth" else 0):
                raise ValueError(f"stage {name} must be a {'positive' if name == 'depth' else 'non-negative'} "
                                 f"integer, got {v!r}")
        if self.output_init not in ("random", "identity"):
            raise ValueError(f"output_init must be 'random' or 'identity', got {self.output_init!r}")
        if self.handover not in ("weights", "state"):
            raise ValueError(f"handover must be 'weights' or 'state', got {self.handover!r}")


def default_stages(depth: int, iterations: int, depths: Sequence[int] = (2, 5)) -> list[Stage]:
    """Stages of the given ``depths`` below ``depth``, then ``depth`` itself; ``iterations`` each; the final
    stage's output layer starts at the identity (as the codes' last stage)."""
    shallow = sorted({d for d in depths if 1 <= d < depth})
    stages = [Stage(d, iterations) for d in shallow]
    stages.append(Stage(depth, iterations, output_init="identity" if shallow else "random"))
    return stages


def paper_stages(solver: str, depth: int = 10, iterations: int = 200,
                 handover: Literal["weights", "state"] = "state") -> list[Stage]:
    """The released codes' stage schedules.

    ``"pdadmm-g"``/``"pdadmm-g-q"``: depths 2 → 5 → ``depth`` with ``iterations``, 10 (-G) or
    ``iterations`` (-G-Q), ``iterations``; ``"pdadmm"``: 5 → ``depth``, ``iterations`` each (the code
    used 50, the paper 100 epochs). ``handover``: the codes carry the kept layers' state (``"state"``).
    """
    if solver in ("pdadmm-g", "pdadmm-g-q"):
        middle = 10 if solver == "pdadmm-g" else iterations
        out = [Stage(2, iterations), Stage(5, middle, handover=handover),
               Stage(depth, iterations, output_init="identity", handover=handover)]
    elif solver == "pdadmm":
        out = [Stage(5, iterations), Stage(depth, iterations, output_init="identity", handover=handover)]
    else:
        raise ValueError(f"no paper stage schedule for {solver!r}")
    return [s for s in out if s.depth < depth] + [out[-1]]


def stage_problem(problem: MLP, depth: int) -> MLP:
    """The ``depth``-layer network on the same inputs and classes: widths ``(n_0, n_1, …, n_{depth−1}, C)``
    (a per-layer activation spec keeps the first ``depth − 1`` names)."""
    if not 1 <= depth <= problem.n_layers:
        raise ValueError(f"stage depth must lie in [1, {problem.n_layers}], got {depth}")
    names = problem.activation.split(",")
    activation = problem.activation if len(names) == 1 else ",".join(names[: max(depth - 1, 1)])
    return dataclasses.replace(problem, widths=problem.widths[:depth] + (problem.n_classes,), activation=activation)


def grow_params(
    params: Params,
    small: MLP,
    big: MLP,
    *,
    output_init: Literal["random", "identity"] = "random",
    seed: int = 0,
    init_scheme: str = "paper",
) -> Params:
    """Weights of ``big`` from those of the shallower ``small``: hidden layers 1…L_s − 1 kept, new hidden
    layers ``eye(n_l, n_{l−1})`` with b = 0, output layer random (``big.init_params(seed)``'s) or
    ``eye(C, n_{L−1})`` with b = 0."""
    if big.widths[: small.n_layers] != small.widths[: small.n_layers] or big.n_layers < small.n_layers:
        raise ValueError(f"cannot grow widths {small.widths} into {big.widths}")
    xp = namespace(*params)
    dev, dt = device(params[0]), dtype_name(params[0])
    kept = list(params[: 2 * (small.n_layers - 1)])
    new = []
    for layer in range(small.n_layers, big.n_layers):  # 1-based hidden layers L_s … L−1
        n_out, n_in = big.widths[layer], big.widths[layer - 1]
        new += [xp.eye(n_out, n_in, dtype=getattr(xp, dt), device=dev),
                xp.zeros((n_out, 1), dtype=getattr(xp, dt), device=dev)]
    if output_init == "identity":
        C, n = big.widths[-1], big.widths[-2]
        out = [xp.eye(C, n, dtype=getattr(xp, dt), device=dev), xp.zeros((C, 1), dtype=getattr(xp, dt), device=dev)]
    elif output_init == "random":
        out = big.init_params(seed, xp=xp, device=dev, dtype=dt, scheme=init_scheme)[-2:]
    else:
        raise ValueError(f"output_init must be 'random' or 'identity', got {output_init!r}")
    return kept + new + out


def _carried_init(solver: SolverSpec, previous: Any, problem: MLP, data, params: Params, options: Any) -> Any:
    """``init_state`` of a stage handed over by state: ``solver.carry_state`` on the serial form of the previous
    stage's state (``export_state``/``import_state`` when a runner keeps the state elsewhere)."""
    if solver.export_state is not None:
        previous = solver.export_state(previous)
    state = solver.carry_state(previous, problem, data, params, options)
    return state if solver.import_state is None else solver.import_state(state, problem, data, options)


def train_greedy(
    solver: SolverSpec,
    problem: MLP,
    data,
    options: Any = None,
    *,
    stages: Sequence[Stage] | None = None,
    max_iter: int = 100,
    params: Params | None = None,
    seed: int = 0,
    init_scheme: str = "paper",
    callback: Callable[[IterationInfo], None] | None = None,
    eval_every: int = 1,
) -> Result:
    """Train ``problem`` layer-wise with ``solver``: each stage a :func:`amref.driver.minimize` run.

    Parameters
    ----------
    solver, problem, data, options
        As for :func:`~amref.driver.minimize`; ``problem`` is the full (final) network.
    stages
        The schedule (default :func:`default_stages` ``(problem.n_layers, max_iter)``: depths 2 → 5 → L).
    max_iter
        Iterations per stage when ``stages`` is None.
    params
        Initial weights of the **first** stage's network (default: its ``init_params(seed)``).
    seed, init_scheme
        Initial weights of the first stage and of random output layers.
    callback
        Called after every iteration of every stage (``info.params`` are that stage's weights).
    eval_every
        Forward-pass evaluation period of every stage (see :func:`~amref.driver.minimize`).

    Returns
    -------
    Result
        The last stage's result, with the history of all stages (a ``stage`` column, iterations
        numbered across stages), ``nit`` the total number of iterations, summed timings, and
        ``options["greedy_stages"]`` describing the schedule. A stage that does not complete normally
        ends the training there.
    """
    stages = list(stages) if stages is not None else default_stages(problem.n_layers, max_iter)
    if not stages:
        raise ValueError("greedy training needs at least one stage")
    if stages[-1].depth != problem.n_layers:
        raise ValueError(f"the last stage must train the full network ({problem.n_layers} layers), "
                         f"got depth {stages[-1].depth}")
    if any(b.depth <= a.depth for a, b in zip(stages, stages[1:])):
        raise ValueError("stage depths must increase")
    if solver.carry_state is None and any(s.handover == "state" for s in stages[1:]):
        raise ValueError(f"{solver.name} cannot hand over its state between stages (no carry_state); "
                         "use handover='weights'")
    history = History()
    timings = {"setup": 0.0, "solve": 0.0}
    offset = 0
    result: Result | None = None
    current: MLP | None = None
    for k, stage in enumerate(stages):
        net = stage_problem(problem, stage.depth)
        if k == 0:
            start = params
        else:
            start = grow_params(result.params, current, net, output_init=stage.output_init,
                                seed=seed, init_scheme=init_scheme)
        run = solver
        if k > 0 and stage.handover == "state":
            run = dataclasses.replace(solver, init_state=functools.partial(_carried_init, solver, result.state))
        result = minimize(run, net, data, stage.options if stage.options is not None else options,
                          max_iter=stage.iterations, params=start, seed=seed, init_scheme=init_scheme,
                          callback=callback, eval_every=eval_every)
        current = net
        n = len(result.history)
        for i in range(n):
            row = {key: values[i] for key, values in result.history.items()}
            row["iteration"] = offset + i + 1
            row["stage"] = k + 1
            row["depth"] = stage.depth
            history.append(row)
        offset += result.nit
        for key, value in result.timings.items():
            timings[key] = timings.get(key, 0.0) + value
        if result.status not in (Status.COMPLETED, Status.CONVERGED):
            break
    assert result is not None
    described = [{"depth": s.depth, "iterations": s.iterations, "output_init": s.output_init,
                  "handover": s.handover,
                  "options": None if s.options is None else dataclasses.asdict(s.options)} for s in stages]
    return dataclasses.replace(
        result,
        history=history,
        nit=offset,
        timings=timings,
        options={**result.options, "greedy_stages": described},
        message=f"greedy stage {k + 1}/{len(stages)} (depth {stages[k].depth}): {result.message}",
    )
