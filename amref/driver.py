"""One loop for every solver and baseline: :func:`minimize`.

A solver is a :class:`~amref.contract.SolverSpec` (a name, an options class and a few pure functions).
The loop is all this module does::

    state ← init_state(problem, data, params, options)            (or the state of a checkpoint)
    for n = 1, 2, …, max_iter
        state ← step(state, data, options)
        row   ← diagnostics(state)  (+ forward-pass loss and accuracy every ``eval_every`` iterations)
        stop with DIVERGED if the objective, residual or loss is not finite (the previous state is kept)
        state ← end_iteration(state, row, options)                (schedules)
        record the row; checkpoint every ``checkpoint_every`` iterations
        stop with CONVERGED when the residual ≤ tol (a relative objective change ≤ tol without constraints)
        callback(IterationInfo)  — raise StopIteration to stop

Checkpoint bookkeeping lives in :class:`amref.checkpoint.RunCheckpoint`; a state lost with a worker
(:class:`~amref.contract.StateLost`) ends the run with status ``STATE_LOST``, and
:func:`amref.parallel.minimize_with_restores` resumes such runs from their last checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from typing import Any, Callable

from . import checkpoint as ckpt
from .backend import device, dtype_name, namespace, synchronize
from .contract import IterationInfo, SolverSpec, StateLost
from .data.dataset import Dataset
from .problem import MLP, Params
from .progress import ProgressTable
from .result import History, Result, Status

__all__ = ["minimize"]


def minimize(solver: SolverSpec, problem: MLP, data: Dataset, options: Any = None, *, max_iter: int = 100,
             params: Params | None = None, seed: int = 0, init_scheme: str = "paper",
             callback: Callable[[IterationInfo], None] | None = None, checkpoint: str | os.PathLike | None = None,
             checkpoint_every: int = 0, resume: str | os.PathLike | None = None, eval_every: int = 1,
             tol: float | None = None, verbose: bool = False) -> Result:
    """Run ``solver`` on ``problem`` and ``data`` for at most ``max_iter`` iterations.

    Parameters
    ----------
    solver
        A :class:`~amref.contract.SolverSpec` (see :func:`amref.get_solver`).
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
        ``info.params`` is computed only when read.
    checkpoint, checkpoint_every
        Path of a checkpoint file written atomically every ``checkpoint_every`` iterations (0: only
        at the end) and whenever the run ends or fails (not when its state is lost).
    resume
        A checkpoint to continue from. Its options are used; passing different ``options`` raises. It
        must come from the same solver, widths and data (name, sizes, dtype and content hash) and hold
        a consistent run (finite state, ``nit`` rows of history); else
        :class:`~amref.checkpoint.CheckpointError` says what differs.
    eval_every
        Evaluate the forward-pass loss and accuracy on the training and test sets every
        ``eval_every`` iterations and at the end (the other rows hold NaN there). A solver whose
        schedule reads the training loss (``SolverSpec.needs_train_loss``) is evaluated every iteration.
    tol
        Stop with status ``CONVERGED`` once the residual is ≤ ``tol``; for a solver without
        constraints (``SolverSpec.constrained`` false: the gradient baselines) once the relative
        objective change |f_n − f_{n−1}| / max(|f_n|, |f_{n−1}|, 1) is ≤ ``tol``. None: never.
    verbose
        Print the iteration table ``amref train`` prints (:class:`amref.progress.ProgressTable`).

    Returns
    -------
    Result
    """
    _check_counts(max_iter=max_iter, checkpoint_every=checkpoint_every, eval_every=eval_every, tol=tol)
    problem.check_data(data.x_train, data.y_train, what="train")
    t_setup = time.perf_counter()
    identity = None if checkpoint is None and resume is None else ckpt.dataset_identity(data)
    options, state, nit, history = _start(solver, problem, data, options, params, seed, init_scheme, resume,
                                          identity, max_iter)
    saver = _saver(solver, problem, options, checkpoint, checkpoint_every, identity)
    table = _table(solver, problem, data, max_iter) if verbose else None
    evaluate_all = solver.needs_train_loss is not None and solver.needs_train_loss(options)
    setup_seconds = time.perf_counter() - t_setup
    status, message, diverged_row = Status.COMPLETED, f"completed {max_iter} iterations", None
    t_solve = time.perf_counter()
    try:
        while nit < max_iter:
            evaluate = evaluate_all or (nit + 1) % eval_every == 0 or nit + 1 == max_iter
            new_state, row = _iterate(solver, problem, data, options, state, nit, evaluate)
            if not all(math.isfinite(row.get(k, 0.0)) for k in ("objective", "residual", "train_loss")):
                status, diverged_row = Status.DIVERGED, row
                message = f"diverged at iteration {nit + 1} (non-finite objective, residual or loss); " \
                          f"the state after iteration {nit} is returned"
                break
            if solver.end_iteration is not None:
                new_state = solver.end_iteration(new_state, row, options)
            history.append(row)
            state, nit = new_state, nit + 1
            saver.periodic(state, history, nit)
            stop = _after_iteration(IterationInfo(nit, row, state, solver.params), (table, callback), solver,
                                    history, tol)
            if stop is not None:
                status, message = stop
                break
    except KeyboardInterrupt:
        status, message = Status.INTERRUPTED, f"interrupted; the state after iteration {nit} is returned"
    except StateLost as exc:
        status, message = Status.STATE_LOST, f"{exc} (last checkpoint: {saver.describe()})"
    except BaseException:
        saver.save(state, history, nit)
        raise
    finally:
        if table is not None:
            table.close()
    if status is not Status.STATE_LOST:
        saver.save(state, history, nit)
        _evaluate_last(solver, problem, data, state, history)
    if diverged_row is not None:
        history.append(diverged_row)  # visible in the result, never in a checkpoint
    return _result(solver, options, status, message, state, nit, history, saver,
                   {"setup": setup_seconds, "solve": time.perf_counter() - t_solve})


def _result(solver: SolverSpec, options: Any, status: Status, message: str, state: Any, nit: int,
            history: History, saver: ckpt.RunCheckpoint, timings: dict) -> Result:
    """The :class:`Result` of a run that ended with ``status`` (no state and no weights when it was lost)."""
    lost = status is Status.STATE_LOST
    return Result(solver=solver.name, status=status, message=message, nit=nit,
                  params=[] if lost else solver.params(state), state=None if lost else state, history=history,
                  options=dataclasses.asdict(options), timings=timings,
                  checkpoint=None if saver.last_nit is None else {"path": saver.path, "nit": saver.last_nit})


def _check_counts(*, tol: Any, **counts: Any) -> None:
    """``max_iter``, ``checkpoint_every`` and ``eval_every``: integers (≥ 0; ``eval_every`` ≥ 1); ``tol``:
    None or a number ≥ 0."""
    for name, value in counts.items():
        low = 1 if name == "eval_every" else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if tol is not None and (isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0):
        raise ValueError(f"tol must be a non-negative number or None, got {tol!r}")


def _saver(solver: SolverSpec, problem: MLP, options: Any, checkpoint: str | os.PathLike | None, every: int,
           identity: dict | None) -> ckpt.RunCheckpoint:
    """The run's checkpoint bookkeeping: where and how often, and what the file records besides the state."""
    return ckpt.RunCheckpoint(None if checkpoint is None else os.fspath(checkpoint), every, solver.name,
                              problem.widths, options, solver.export_state, dataset=identity,
                              network=ckpt.network_identity(problem))


def _after_iteration(info: IterationInfo, calls: tuple, solver: SolverSpec, history: History,
                     tol: float | None) -> tuple[Status, str] | None:
    """Call the table and the callback with ``info``; the status and message that end the run here, if any."""
    try:
        for call in calls:
            if call is not None:
                call(info)
    except StopIteration:
        return Status.STOPPED_BY_CALLBACK, f"stopped by the callback after iteration {info.iteration}"
    if tol is not None and _converged(solver, history, tol):
        return Status.CONVERGED, f"converged at iteration {info.iteration} (tol={tol:g})"
    return None


def _start(solver: SolverSpec, problem: MLP, data: Dataset, options: Any, params: Params | None, seed: int,
           init_scheme: str, resume: str | os.PathLike | None,
           identity: dict | None = None, max_iter: int | None = None) -> tuple[Any, Any, int, History]:
    """``(options, state, nit, history)``: a fresh initial state, or the one in ``resume`` (which must not
    have done more than ``max_iter`` iterations)."""
    xp, where = namespace(data.x_train), device(data.x_train)
    if resume is not None:
        saved_options, state, nit, history = ckpt.restore_run(resume, solver=solver.name, widths=problem.widths,
                                                               xp=xp, device=where, dataset=identity,
                                                               network=ckpt.network_identity(problem))
        if max_iter is not None and nit > max_iter:
            raise ValueError(f"{resume}: the checkpoint has done {nit} iterations, more than max_iter={max_iter}")
        if options is not None and options != saved_options:
            raise ValueError(f"{resume}: options differ from the checkpoint's; resume with options=None")
        if solver.import_state is not None:
            state = solver.import_state(state, problem, data, saved_options)
        return saved_options, state, nit, History(history)
    options = solver.options_class() if options is None else options
    if not isinstance(options, solver.options_class):
        raise TypeError(f"{solver.name} expects {solver.options_class.__name__}, got {type(options).__name__}")
    if params is None:
        params = problem.init_params(seed, xp=xp, device=where, dtype=dtype_name(data.x_train), scheme=init_scheme)
    else:
        problem.check_params(params)
        namespace(data.x_train, *params)  # raises on mixed namespaces: no silent transfers
    return options, solver.init_state(problem, data, list(params), options), 0, History()


def _iterate(solver: SolverSpec, problem: MLP, data: Dataset, options: Any, state: Any, nit: int,
             evaluate: bool) -> tuple[Any, dict]:
    """One step and its history row (``seconds`` is the step alone, synchronised)."""
    t0 = time.perf_counter()
    new_state = solver.step(state, data, options)
    synchronize(namespace(data.x_train))
    seconds = time.perf_counter() - t0
    row = {"iteration": nit + 1, **solver.diagnostics(new_state, data, options)}
    if evaluate:
        row.update(_evaluate(problem, solver.params(new_state), data))
    row["seconds"] = seconds
    return new_state, row


def _evaluate(problem: MLP, params: Params, data: Dataset) -> dict[str, float]:
    """Forward-pass loss and accuracy on the training and test sets (NaN without a test set); for
    regression the accuracy columns are NaN and ``train_r2``, ``train_mse``, ``test_r2``, ``test_mse`` hold
    the scores (:meth:`~amref.problem.MLP.scores`)."""
    train = problem.scores(params, data.x_train, data.y_train)
    test = problem.scores(params, data.x_test, data.y_test) if data.x_test is not None else \
        dict.fromkeys(train, math.nan)
    row = {}
    for split, s in (("train", train), ("test", test)):
        row[f"{split}_loss"] = s["loss"]
        row[f"{split}_accuracy"] = s.get("accuracy", math.nan)
        if problem.task == "regression":
            row.update({f"{split}_r2": s["r2"], f"{split}_mse": s["mse"]})
    return {k: row[k] for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")} | row


def _evaluate_last(solver: SolverSpec, problem: MLP, data: Dataset, state: Any, history: History) -> None:
    """Fill the last row's loss and accuracy when the run ended on an iteration that was not evaluated."""
    if len(history) and math.isnan(history.get("train_loss", [math.nan])[-1]):
        history.set_last(_evaluate(problem, solver.params(state), data))


def _converged(solver: SolverSpec, history: History, tol: float) -> bool:
    """Residual ≤ tol; without constraints, relative objective change ≤ tol (needs two rows)."""
    if solver.constrained:
        return history.last("residual") <= tol
    f = history.get("objective", [])
    if len(f) < 2:
        return False
    return abs(f[-1] - f[-2]) <= tol * max(abs(f[-1]), abs(f[-2]), 1.0)


def _table(solver: SolverSpec, problem: MLP, data: Dataset, max_iter: int) -> ProgressTable:
    """The iteration table ``verbose=True`` prints, with a banner saying what runs on what."""
    banner = (f"amref: {solver.name} on {data.name} ({data.n_train} train samples), widths "
              f"{'-'.join(map(str, problem.widths))}, {dtype_name(data.x_train)}")
    return ProgressTable(max_iter, banner=banner, regression=getattr(data, "task", "") == "regression")
