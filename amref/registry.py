"""The one registry: every solver name (the alternating-minimization solvers and the gradient
baselines) and its :class:`~amref.contract.SolverSpec`.

A solver registers with one line: its spec goes into :data:`AM_SOLVERS` (an AM solver module's
``SOLVER``) or, for a gradient baseline, into its module's ``BASELINES`` tuple, which
:data:`amref.optim.BASELINES` collects. :func:`get_solver`, :func:`solver_names`,
:func:`am_solver_names` and :func:`baseline_names` all read :data:`SOLVERS`.

This module sits above :mod:`amref.solvers` and :mod:`amref.optim` (it imports both) and below the
command line; a solver module never imports it.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from . import optim
from .contract import SolverSpec
from .solvers import bcd, dladmm, mac, mdlam, pdadmm, pdadmm_g, taylor_admm

__all__ = ["AM_SOLVERS", "BASELINES", "SOLVERS", "am_solver_names", "baseline_names", "get_solver",
           "solver_names"]

#: The alternating-minimization solvers, in the order ``amref list`` shows them.
AM_SOLVERS: tuple[SolverSpec, ...] = (
    dladmm.SOLVER,
    taylor_admm.SOLVER,
    bcd.SOLVER,
    mac.SOLVER,
    mdlam.SOLVER,
    pdadmm.SOLVER,
    pdadmm_g.SOLVER_G,
    pdadmm_g.SOLVER_Q,
    # a new AM solver: import its module above and add its SOLVER here
)

#: The gradient baselines (one spec per :class:`~amref.optim.train.Baseline` of :data:`amref.optim.BASELINES`).
BASELINES: tuple[SolverSpec, ...] = tuple(baseline.solver() for baseline in optim.BASELINES)


def _by_name(specs: Iterable[SolverSpec]) -> dict[str, SolverSpec]:
    """``{spec.name: spec}``, refusing a name registered twice."""
    out: dict[str, SolverSpec] = {}
    for spec in specs:
        if spec.name in out:
            raise ValueError(f"solver name {spec.name!r} is registered twice")
        out[spec.name] = spec
    return out


#: Every solver by name: the AM solvers, then the gradient baselines.
SOLVERS: Mapping[str, SolverSpec] = _by_name(AM_SOLVERS + BASELINES)


def am_solver_names() -> list[str]:
    """Names of the alternating-minimization solvers."""
    return [spec.name for spec in AM_SOLVERS]


def baseline_names() -> list[str]:
    """Names of the gradient baselines (the ``--solver`` values)."""
    return [spec.name for spec in BASELINES]


def solver_names() -> list[str]:
    """Every name :func:`get_solver` accepts: the AM solvers, then the gradient baselines."""
    return list(SOLVERS)


def get_solver(name: str) -> SolverSpec:
    """The :class:`~amref.contract.SolverSpec` called ``name`` (an AM solver or a gradient baseline).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    try:
        return SOLVERS[name]
    except KeyError:
        raise ValueError(f"unknown solver {name!r}; choose from {', '.join(am_solver_names())} "
                         f"or the gradient baselines {', '.join(baseline_names())}") from None
