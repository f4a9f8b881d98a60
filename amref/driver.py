"""One loop for every solver and baseline: iterations, history, callback, divergence, checkpoints.

A solver is a :class:`SolverSpec`: a name, a frozen options dataclass and five pure functions.
The driver owns everything that is not the algorithm itself:

* it builds (or restores) the state and runs ``step`` for the requested number of iterations;
* after each step it records the solver's ``diagnostics`` (objective, residual, …) and the plain
  forward-pass loss and accuracy on the training and test sets in a :class:`~amref.result.History`;
* it calls ``end_iteration`` (schedules that react to the training loss, e.g. dlADMM's released-code
  ρ rule), then the user's ``callback``; a callback that raises :class:`StopIteration` ends the run;
* a non-finite objective, residual or loss ends the run with status ``DIVERGED`` and returns the
  **last finite** state (states are immutable values, so the previous one is still at hand);
* it writes atomic checkpoints of the full state (every ``checkpoint_every`` iterations and when the
  run ends or fails), from which ``resume=`` continues with exactly the iterates an uninterrupted run
  would have produced;
* when a step raises :class:`StateLost` (part of the state lived on a machine that went away, e.g. a
  dask worker of :mod:`amref.parallel`), it restores the last checkpoint written or resumed in this run
  (or the initial state) and continues, at most ``max_restores`` times; after that the run ends with
  status ``STATE_LOST`` and the last checkpoint stays resumable.

A state that does not live in this process (worker-resident blocks) declares ``export_state`` /
``import_state``: the driver checkpoints ``export_state(state)`` and rebuilds a restored state with
``import_state``; for every other solver the state itself is checkpointed.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from typing import Any, Callable

from . import checkpoint as ckpt
from .backend import dtype_name, namespace, synchronize
from .contract import IterationInfo, SolverSpec, StateLost
from .data.dataset import Dataset
from .problem import MLP, Params
from .result import History, Result, Status

__all__ = ["minimize"]


def minimize(
    solver: SolverSpec,
    problem: MLP,
    data: Dataset,
    options: Any = None,
    *,
    max_iter: int = 100,
    params: Params | None = None,
    seed: int = 0,
    init_scheme: str = "paper",
    callback: Callable[[IterationInfo], None] | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 0,
    resume: str | os.PathLike | None = None,
    max_restores: int = 3,
) -> Result:
    """Run ``solver`` on ``problem`` and ``data`` for ``max_iter`` iterations.

    Parameters
    ----------
    solver
        A :class:`SolverSpec` (see :func:`amref.solvers.get_solver` for names).
    problem
        The network (:class:`~amref.problem.MLP`).
    data
        Training/test data; its namespace, device and dtype decide where and in what precision
        everything runs.
    options
        The solver's options dataclass (default: its paper defaults).
    max_iter
        Total number of iterations (counting those done before a resume).
    params
        Initial weights; default ``problem.init_params(seed, scheme=init_scheme)`` in the data's
        namespace and dtype.
    seed, init_scheme
        Passed to :meth:`MLP.init_params` when ``params`` is not given.
    callback
        ``callback(info)`` after every iteration; raise :class:`StopIteration` to stop.
    checkpoint
        Path of a checkpoint file written atomically every ``checkpoint_every`` iterations (0: only
        at the end) and whenever the run ends or fails.
    checkpoint_every
        See ``checkpoint``.
    resume
        A checkpoint to continue from. Its options are used; passing different ``options`` raises.
    max_restores
        How often a lost state (:class:`StateLost`) is restored from the last checkpoint of this run
        (or the initial state) before the run ends with status ``STATE_LOST``. Iterations after that
        checkpoint are recomputed (the same iterates) and the callback sees them again.

    Returns
    -------
    Result
    """
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer, got {max_iter!r}")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise ValueError(f"checkpoint_every must be a non-negative integer, got {checkpoint_every!r}")
    if isinstance(max_restores, bool) or not isinstance(max_restores, int) or max_restores < 0:
        raise ValueError(f"max_restores must be a non-negative integer, got {max_restores!r}")
    xp = namespace(data.x_train)
    dtype = dtype_name(data.x_train)
    problem.check_data(data.x_train, data.y_train, what="train")
    t_setup = time.perf_counter()

    def load(path: str | os.PathLike) -> tuple[Any, Any, int, History]:
        """(options, state, nit, history) of a checkpoint, checked against this run."""
        saved = ckpt.load(path, xp, device=_device(data))
        if saved.get("solver") != solver.name:
            raise ValueError(f"{path}: checkpoint of solver {saved.get('solver')!r}, not {solver.name!r}")
        if tuple(saved.get("widths", ())) != problem.widths:
            raise ValueError(f"{path}: checkpoint for widths {saved.get('widths')}, not {problem.widths}")
        state = saved["state"]
        if solver.import_state is not None:
            state = solver.import_state(state, problem, data, saved["options"])
        n = int(saved["nit"])
        restored = History({key: list(values) for key, values in saved["history"].items()})
        restored.truncate(n)
        return saved["options"], state, n, restored

    history = History()
    if resume is not None:
        saved_options, state, nit, history = load(resume)
        if options is not None and options != saved_options:
            raise ValueError(f"{resume}: options differ from the checkpoint's; resume with options=None")
        options = saved_options
    else:
        options = solver.options_class() if options is None else options
        if not isinstance(options, solver.options_class):
            raise TypeError(f"{solver.name} expects {solver.options_class.__name__}, got {type(options).__name__}")
        if params is None:
            params = problem.init_params(seed, xp=xp, device=_device(data), dtype=dtype, scheme=init_scheme)
        else:
            problem.check_params(params)
            namespace(data.x_train, *params)  # raises on mixed namespaces: no silent transfers
        state = solver.init_state(problem, data, list(params), options)
        nit = 0
    # where a lost state is restored from: (checkpoint, its iteration), or None for the initial state
    restore_point = None if resume is None else (resume, nit)
    setup_seconds = time.perf_counter() - t_setup

    def save(current_state: Any, n: int) -> None:
        nonlocal restore_point
        if checkpoint is not None:
            saved_state = current_state if solver.export_state is None else solver.export_state(current_state)
            ckpt.save(checkpoint, {"solver": solver.name, "widths": list(problem.widths), "options": options,
                                   "state": saved_state, "history": dict(history), "nit": n})
            restore_point = (checkpoint, n)

    def restore() -> tuple[Any, int, History]:
        if restore_point is None:
            return solver.init_state(problem, data, list(params), options), 0, History()
        _, restored_state, n, restored_history = load(restore_point[0])
        return restored_state, n, restored_history

    status, message = Status.COMPLETED, f"completed {max_iter} iterations"
    lost: StateLost | None = None  # set when an iteration found its state gone
    restores: list[str] = []
    t_solve = time.perf_counter()
    try:
        while nit < max_iter or lost is not None:
            try:
                if lost is not None:
                    if len(restores) >= max_restores:
                        where = "none" if restore_point is None else "{} (iteration {})".format(*restore_point)
                        status = Status.STATE_LOST
                        message = f"{lost}; not restored (max_restores={max_restores}); checkpoint: {where}"
                        break
                    restores.append(f"{lost}; restored iteration {restore_point[1] if restore_point else 0}")
                    lost = None
                    state, nit, history = restore()
                t0 = time.perf_counter()
                new_state = solver.step(state, data, options)
                synchronize(xp)
                seconds = time.perf_counter() - t0
                row = {"iteration": nit + 1}
                row.update(solver.diagnostics(new_state, data, options))
                row.update(_evaluate(problem, solver.params(new_state), data))
                row["seconds"] = seconds
                if not all(math.isfinite(row[k]) for k in ("objective", "residual", "train_loss")):
                    history.append(row)
                    status = Status.DIVERGED
                    message = (f"diverged at iteration {nit + 1} (non-finite objective, residual or loss); "
                               f"the state after iteration {nit} is returned")
                    break
                if solver.end_iteration is not None:
                    new_state = solver.end_iteration(new_state, row, options)
                history.append(row)
                state, nit = new_state, nit + 1
                if checkpoint_every and nit % checkpoint_every == 0:
                    save(state, nit)
                if callback is not None:
                    try:
                        callback(IterationInfo(nit, row, state, solver.params))
                    except StopIteration:
                        status, message = Status.STOPPED_BY_CALLBACK, f"stopped by the callback after iteration {nit}"
                        break
            except StateLost as exc:
                lost = exc
    except KeyboardInterrupt:
        history.truncate(nit)
        status, message = Status.INTERRUPTED, f"interrupted; the state after iteration {nit} is returned"
    except BaseException:
        history.truncate(nit)
        save(state, nit)
        raise
    if status is Status.DIVERGED:
        # keep the diverged row visible in the returned history, but checkpoint only the finite ones
        diverged_history = History({k: list(v) for k, v in history.items()})
        history.truncate(nit)
        save(state, nit)
        history = diverged_history
    elif status is Status.STATE_LOST:
        # the state is gone: keep the last checkpoint as it is and return no state
        history.truncate(nit)
    else:
        save(state, nit)
    if restores:
        message += " (" + "; ".join(restores) + ")"
    solve_seconds = time.perf_counter() - t_solve
    gone = status is Status.STATE_LOST
    return Result(
        solver=solver.name,
        status=status,
        message=message,
        nit=nit,
        params=[] if gone else solver.params(state),
        state=None if gone else state,
        history=history,
        options=dataclasses.asdict(options),
        timings={"setup": setup_seconds, "solve": solve_seconds},
    )


def _device(data: Dataset) -> Any:
    from .backend import device

    return device(data.x_train)


def _evaluate(problem: MLP, params: Params, data: Dataset) -> dict[str, float]:
    train_loss, train_acc = problem.evaluate(params, data.x_train, data.y_train)
    row = {"train_loss": train_loss, "train_accuracy": train_acc}
    if data.x_test is not None:
        test_loss, test_acc = problem.evaluate(params, data.x_test, data.y_test)
    else:
        test_loss = test_acc = math.nan
    row.update(test_loss=test_loss, test_accuracy=test_acc)
    return row
