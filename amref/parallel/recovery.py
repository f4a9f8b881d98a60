"""Runs that survive lost workers: :func:`minimize_with_restores`, an outer loop around
:func:`amref.minimize`.

A solver whose state lives on other machines (the dask runner) raises
:class:`~amref.contract.StateLost` when a worker holding part of it dies; :func:`amref.minimize` then
ends with status ``STATE_LOST`` and says which checkpoint it wrote last. This loop resumes from that
checkpoint (or from the checkpoint the run itself resumed, or from the initial state when there is
none), at most ``max_restores`` times. The iterates are those of an uninterrupted run: iterations
after the checkpoint are recomputed, and the callback sees them again.
"""

from __future__ import annotations

import os
from typing import Any

from ..contract import SolverSpec
from ..data.dataset import Dataset
from ..driver import minimize
from ..problem import MLP
from ..result import Result, Status

__all__ = ["minimize_with_restores"]


def minimize_with_restores(solver: SolverSpec, problem: MLP, data: Dataset, options: Any = None, *,
                           max_restores: int = 3, resume: str | os.PathLike | None = None,
                           **kwargs: Any) -> Result:
    """:func:`amref.minimize`, restarted from the last checkpoint when the solver's state is lost.

    Parameters
    ----------
    solver, problem, data, options, resume, kwargs
        As for :func:`amref.minimize` (``checkpoint=`` and ``checkpoint_every=`` decide where a lost
        state is restored from).
    max_restores : int
        How often a lost state is restored before the run ends with status ``STATE_LOST`` (the last
        checkpoint stays resumable with ``resume=``).

    Returns
    -------
    Result
        Its message lists each restore (``"…; restored iteration 4"``).
    """
    if isinstance(max_restores, bool) or not isinstance(max_restores, int) or max_restores < 0:
        raise ValueError(f"max_restores must be a non-negative integer, got {max_restores!r}")
    restores: list[str] = []
    point = None if resume is None else os.fspath(resume)  # where a lost state is restored from
    label = "the initial state" if point is None else f"{point}"
    while True:
        result = minimize(solver, problem, data, None if point else options, resume=point, **kwargs)
        if result.checkpoint is not None:
            point, label = result.checkpoint["path"], f"iteration {result.checkpoint['nit']}"
        if result.status is not Status.STATE_LOST:
            break
        if len(restores) >= max_restores:
            result.message += f"; not restored (max_restores={max_restores})"
            break
        restores.append(f"{result.message}; restored {label}")
    if restores:
        result.message += " (" + "; ".join(restores) + ")"
    return result
